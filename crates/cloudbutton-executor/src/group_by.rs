//! Group-by with many reducers: map tasks emit `(key, value)` pairs, and
//! each of R reducers receives every value of the keys that hash to it, so
//! that every key is reduced on exactly one reducer.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ExecutorError, FailureKind, InputDescription};
use crate::executor::FunctionExecutor;
use crate::function::Function;
use crate::input::TaskInputs;
use crate::job::Job;
use crate::job_state::JobControl;

/// The values of one reducer's keys: each key once, with its values in the
/// order of the map tasks, then in the order each task emitted them.
pub type Groups<K, V> = Vec<(K, Vec<V>)>;

/// What one map task emits.
type Pairs<K, V> = Vec<(K, V)>;

impl FunctionExecutor {
    /// Maps, then reduces by key with `reducers` reducers. The map function
    /// emits `(key, value)` pairs; a key goes to reducer
    /// `hash(key) % reducers`, with a hash that is the same in every
    /// process and every run, and that reducer receives all its values.
    /// The job's results are the reducers' outputs, in reducer order.
    ///
    /// The pairs are grouped in the driver once every map task is done; a
    /// failed map task fails every reducer.
    ///
    /// ```
    /// use cloudbutton_executor::{FnResult, Function, FunctionExecutor, Groups, TaskContext};
    ///
    /// fn words(line: String, _: &TaskContext) -> FnResult<Vec<(String, u64)>> {
    ///     Ok(line.split_whitespace().map(|word| (word.to_owned(), 1)).collect())
    /// }
    /// fn count(groups: Groups<String, u64>, _: &TaskContext) -> FnResult<Vec<(String, u64)>> {
    ///     Ok(groups.into_iter().map(|(word, ones)| (word, ones.iter().sum())).collect())
    /// }
    /// static WORDS: Function<String, Vec<(String, u64)>> = Function::new("doc::by_key::words", words);
    /// static COUNT: Function<Groups<String, u64>, Vec<(String, u64)>> =
    ///     Function::new("doc::by_key::count", count);
    /// cloudbutton_executor::register!(WORDS);
    /// cloudbutton_executor::register!(COUNT);
    ///
    /// let executor = FunctionExecutor::new()?;
    /// let lines = vec!["a b a".to_owned(), "b c".to_owned()];
    /// let job = executor.map_reduce_by_key(&WORDS, lines, &COUNT, 3)?;
    /// let mut counts: Vec<(String, u64)> = job.get_result()?.into_iter().flatten().collect();
    /// counts.sort();
    /// assert_eq!(counts, [("a".into(), 2), ("b".into(), 2), ("c".into(), 1)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_reduce_by_key<I, K, V, R>(
        &self,
        map: &Function<I, Vec<(K, V)>>,
        inputs: impl TaskInputs<I>,
        reduce: &Function<Groups<K, V>, R>,
        reducers: usize,
    ) -> Result<Job<R>, ExecutorError>
    where
        I: Clone + Serialize + DeserializeOwned + Send + 'static,
        K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + 'static,
        V: Clone + Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        if reducers == 0 {
            return Err(ExecutorError::NoReducers);
        }
        let tasks = inputs.into_tasks(&self.input_settings())?;
        let maps = tasks.len();
        let reduce_inputs = (0..reducers)
            .map(|reducer| {
                let description = InputDescription::Group {
                    name: format!("the keys of reducer {reducer} of {reducers}"),
                    inputs: maps,
                };
                (None, description)
            })
            .collect();
        let reduce_job = self.job(*reduce, reduce_inputs);
        let map_inputs = tasks
            .into_iter()
            .map(|(input, description)| (Some(input), description));
        let map_job = self.job(*map, map_inputs.collect());

        // Once the last map task is done, group every pair and release the
        // reducers. Results are taken as each task finishes, so that a map
        // output is held once.
        let remaining = AtomicUsize::new(maps);
        let outputs: Mutex<Vec<Option<Pairs<K, V>>>> =
            Mutex::new((0..maps).map(|_| None).collect());
        let weak_maps = Arc::downgrade(&map_job);
        let reduce_handle = reduce_job.clone();
        map_job.on_finish(Box::new(move |index| {
            let Some(map_job) = weak_maps.upgrade() else {
                return;
            };
            let taken = map_job.take_result(index);
            let failed = match taken {
                Some(Ok(pairs)) => {
                    outputs.lock().unwrap()[index] = Some(pairs);
                    None
                }
                _ => Some(index),
            };
            if let Some(task) = failed {
                for reducer in 0..reducers {
                    reduce_handle.fail_waiting(reducer, FailureKind::Upstream { task });
                }
            }
            if remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            let outputs = std::mem::take(&mut *outputs.lock().unwrap());
            if outputs.iter().any(Option::is_none) {
                return;
            }
            let groups = group(outputs.into_iter().flatten().flatten(), reducers);
            for (reducer, groups) in groups.into_iter().enumerate() {
                reduce_handle.release(reducer, groups);
            }
        }));

        if maps == 0 {
            for reducer in 0..reducers {
                reduce_job.release(reducer, Vec::new());
            }
        }
        map_job.start();
        let upstream: Arc<dyn JobControl> = map_job;
        Ok(Job::new(
            reduce_job,
            Some(upstream),
            self.config().executor.progress,
        ))
    }
}

/// The pairs split among `reducers` by key, each key's values together, in
/// the order the pairs come.
fn group<K: Hash + Eq + Clone, V>(
    pairs: impl Iterator<Item = (K, V)>,
    reducers: usize,
) -> Vec<Groups<K, V>> {
    // A fixed hash, the same in every process: which reducer a key goes to
    // must not change between runs.
    let hasher = rustc_hash::FxBuildHasher;
    let mut groups: Vec<Groups<K, V>> = (0..reducers).map(|_| Vec::new()).collect();
    let mut position: HashMap<K, (usize, usize), rustc_hash::FxBuildHasher> = HashMap::default();
    for (key, value) in pairs {
        match position.get(&key) {
            Some(&(reducer, at)) => groups[reducer][at].1.push(value),
            None => {
                let reducer = (hasher.hash_one(&key) % reducers as u64) as usize;
                let at = groups[reducer].len();
                // The key is kept twice: in its group and in the index.
                position.insert(key.clone(), (reducer, at));
                groups[reducer].push((key, vec![value]));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_goes_to_one_reducer_with_all_its_values_in_order() {
        let pairs = (0..1000u32).map(|n| (n % 37, n));
        let groups = group(pairs, 4);
        assert_eq!(groups.len(), 4);
        let mut seen = std::collections::HashSet::new();
        for (reducer, groups) in groups.iter().enumerate() {
            for (key, values) in groups {
                assert!(seen.insert(*key), "key {key} on two reducers");
                assert_eq!(
                    (rustc_hash::FxBuildHasher.hash_one(key) % 4) as usize,
                    reducer
                );
                let expected: Vec<u32> = (0..1000).filter(|n| n % 37 == *key).collect();
                assert_eq!(values, &expected);
            }
        }
        assert_eq!(seen.len(), 37);
    }

    #[test]
    fn one_reducer_gets_every_key_in_first_seen_order() {
        let groups = group([("b", 1), ("a", 2), ("b", 3)].into_iter(), 1);
        assert_eq!(groups, [vec![("b", vec![1, 3]), ("a", vec![2])]]);
    }
}
