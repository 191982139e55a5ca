//! Range boundaries between reducers, chosen from a sample of the input.
//!
//! A record is ordered by its sort key and then by its position in the
//! input: the map task that reads it and its byte offset in its object.
//! Positions are all different, so this order is total, and it is the
//! order of the output: records with equal keys keep their input order.
//!
//! Boundaries are points of that order, not bare keys. So a key that
//! covers several reducers' shares of the data (a skewed, heavy key) is cut
//! between them by position, instead of landing on one reducer whole: with
//! every key equal, the reducers still get equal shares.
//!
//! Reducer `r` receives the records above boundary `r - 1` and up to
//! boundary `r` ([`reducer_of`]). Each sample stands for a number of input
//! bytes (its weight), and the boundaries are the weighted quantiles of the
//! sample ([`choose`]).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// Where a record lies in the input: its map task, then its byte offset in
/// its object. Map tasks are numbered in input order, so positions order
/// records as the input does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The map task (chunk) that reads the record.
    pub task: u32,
    /// The record's first byte in its object.
    pub offset: u64,
}

/// A point of the sort order: a normalized sort key and a position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// The normalized sort key, compared with `memcmp`.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// The position that breaks ties between equal keys.
    pub position: Position,
}

impl Boundary {
    /// How a record with this key and position compares with the boundary.
    pub fn cmp_record(&self, key: &[u8], position: Position) -> Ordering {
        key.cmp(&self.key)
            .then_with(|| position.cmp(&self.position))
    }
}

impl Ord for Boundary {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| self.position.cmp(&other.position))
    }
}

impl PartialOrd for Boundary {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One sampled record: its point of the order, and how many input bytes it
/// stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The record's key and position.
    pub point: Boundary,
    /// The input bytes the sample represents.
    pub weight: u64,
}

/// The `reducers - 1` boundaries that cut the sampled weight into equal
/// shares: boundary `j` is the first sample at which the weight so far
/// reaches `j / reducers` of the total. With fewer samples than reducers,
/// some boundaries repeat, and the reducers between them get nothing.
/// Without samples there are no boundaries: every record goes to reducer
/// 0.
pub fn choose(mut samples: Vec<Sample>, reducers: usize) -> Vec<Boundary> {
    if samples.is_empty() || reducers <= 1 {
        return Vec::new();
    }
    samples.sort_unstable_by(|a, b| a.point.cmp(&b.point));
    let total: u128 = samples
        .iter()
        .map(|sample| u128::from(sample.weight.max(1)))
        .sum();

    let mut boundaries = Vec::with_capacity(reducers - 1);
    let mut so_far: u128 = 0;
    let mut share = 1;
    for sample in samples {
        so_far += u128::from(sample.weight.max(1));
        // One sample may close several shares: the boundaries repeat.
        while share < reducers && so_far * reducers as u128 >= total * share as u128 {
            boundaries.push(sample.point.clone());
            share += 1;
        }
        if share == reducers {
            break;
        }
    }
    boundaries
}

/// The reducer of a record: the number of boundaries below it.
pub fn reducer_of(boundaries: &[Boundary], key: &[u8], position: Position) -> usize {
    boundaries.partition_point(|boundary| boundary.cmp_record(key, position) == Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// A record of a synthetic input: key, position, size.
    struct Record {
        key: Vec<u8>,
        position: Position,
        size: u64,
    }

    /// `tasks` map tasks of `per_task` records each, with keys from `key`.
    fn input(tasks: u32, per_task: u64, mut key: impl FnMut() -> Vec<u8>) -> Vec<Record> {
        let mut records = Vec::new();
        for task in 0..tasks {
            for index in 0..per_task {
                records.push(Record {
                    key: key(),
                    position: Position {
                        task,
                        offset: u64::from(task) * per_task * 100 + index * 100,
                    },
                    size: 100,
                });
            }
        }
        records
    }

    /// Every `step`-th record of each task, weighted with the bytes it stands for.
    fn sample(records: &[Record], step: usize) -> Vec<Sample> {
        records
            .iter()
            .step_by(step)
            .map(|record| Sample {
                point: Boundary {
                    key: record.key.clone(),
                    position: record.position,
                },
                weight: record.size * step as u64,
            })
            .collect()
    }

    /// Bytes per reducer.
    fn loads(records: &[Record], boundaries: &[Boundary], reducers: usize) -> Vec<u64> {
        let mut loads = vec![0; reducers];
        for record in records {
            loads[reducer_of(boundaries, &record.key, record.position)] += record.size;
        }
        loads
    }

    fn assert_balanced(loads: &[u64], slack: f64) {
        let total: u64 = loads.iter().sum();
        let share = total as f64 / loads.len() as f64;
        for (reducer, &load) in loads.iter().enumerate() {
            assert!(
                load as f64 <= share * slack,
                "reducer {reducer} has {load} bytes, a share is {share}: {loads:?}"
            );
        }
    }

    #[test]
    fn all_keys_equal_are_spread_evenly_by_position() {
        let records = input(8, 10_000, || b"same".to_vec());
        let boundaries = choose(sample(&records, 97), 8);
        assert_eq!(boundaries.len(), 7);
        let loads = loads(&records, &boundaries, 8);
        assert_balanced(&loads, 1.05);
        assert!(loads.iter().all(|&load| load > 0), "{loads:?}");
    }

    #[test]
    fn zipf_skewed_keys_give_no_reducer_more_than_twice_its_share() {
        // Zipf with exponent 1.1 over 10,000 keys: the first key alone is
        // about a tenth of the data, more than one reducer's share of 16.
        let mut rng = SmallRng::seed_from_u64(7);
        let weights: Vec<f64> = (1..=10_000)
            .map(|rank| 1.0 / f64::powf(rank as f64, 1.1))
            .collect();
        let total: f64 = weights.iter().sum();
        let cumulative: Vec<f64> = weights
            .iter()
            .scan(0.0, |sum, weight| {
                *sum += weight / total;
                Some(*sum)
            })
            .collect();
        let records = input(16, 20_000, || {
            let draw: f64 = rng.random();
            let rank = cumulative.partition_point(|&c| c < draw);
            format!("key{rank:05}").into_bytes()
        });
        let heaviest = records
            .iter()
            .filter(|record| record.key == b"key00000")
            .count();
        assert!(
            heaviest * 16 > records.len(),
            "the first key is not heavy enough"
        );

        let mut samples = sample(&records, 1);
        // A random sample of 1 in 100.
        samples.retain(|_| rng.random_ratio(1, 100));
        for sample in &mut samples {
            sample.weight = 100 * 100;
        }
        let boundaries = choose(samples, 16);
        let loads = loads(&records, &boundaries, 16);
        assert_balanced(&loads, 2.0);
        // The heavy key is cut among several reducers.
        let holders: std::collections::HashSet<usize> = records
            .iter()
            .filter(|record| record.key == b"key00000")
            .map(|record| reducer_of(&boundaries, &record.key, record.position))
            .collect();
        assert!(holders.len() > 1, "{holders:?}");
    }

    #[test]
    fn distinct_keys_split_evenly_whatever_the_input_order() {
        let mut next = 0u64;
        let records = input(4, 5_000, || {
            next += 1;
            (next.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .to_be_bytes()
                .to_vec()
        });
        let boundaries = choose(sample(&records, 10), 5);
        assert_balanced(&loads(&records, &boundaries, 5), 1.2);
    }

    #[test]
    fn one_reducer_or_no_samples_needs_no_boundaries() {
        let records = input(1, 10, || b"k".to_vec());
        assert!(choose(sample(&records, 1), 1).is_empty());
        assert!(choose(Vec::new(), 4).is_empty());
        assert_eq!(reducer_of(&[], b"k", Position { task: 0, offset: 0 }), 0);
    }

    #[test]
    fn fewer_samples_than_reducers_repeat_boundaries() {
        let records = input(1, 2, || b"k".to_vec());
        let boundaries = choose(sample(&records, 1), 5);
        assert_eq!(boundaries.len(), 4);
        assert!(boundaries.windows(2).all(|pair| pair[0] <= pair[1]));
        let loads = loads(&records, &boundaries, 5);
        assert_eq!(loads.iter().sum::<u64>(), 200);
    }

    proptest::proptest! {
        #[test]
        fn reducers_follow_the_sort_order_whatever_the_sample(
            keys in proptest::collection::vec(0u8..4, 1..200),
            step in 1usize..20,
            reducers in 1usize..12,
        ) {
            let mut keys = keys.into_iter();
            let records = input(2, 100, || vec![keys.next().unwrap_or(9)]);
            let boundaries = choose(sample(&records, step), reducers);
            proptest::prop_assert!(boundaries.len() < reducers.max(1));
            let mut order: Vec<&Record> = records.iter().collect();
            order.sort_by(|a, b| a.key.cmp(&b.key).then(a.position.cmp(&b.position)));
            let assigned: Vec<usize> = order
                .iter()
                .map(|record| reducer_of(&boundaries, &record.key, record.position))
                .collect();
            // Every record has one reducer, and reducers take the order in turn.
            proptest::prop_assert!(assigned.iter().all(|&reducer| reducer < reducers));
            proptest::prop_assert!(assigned.windows(2).all(|pair| pair[0] <= pair[1]));
        }
    }

    #[test]
    fn a_record_at_a_boundary_goes_below_it_and_ties_order_by_position() {
        let at = |task, offset| Position { task, offset };
        let boundaries = vec![Boundary {
            key: b"m".to_vec(),
            position: at(2, 500),
        }];
        assert_eq!(reducer_of(&boundaries, b"a", at(9, 0)), 0);
        assert_eq!(reducer_of(&boundaries, b"m", at(2, 500)), 0);
        assert_eq!(reducer_of(&boundaries, b"m", at(2, 400)), 0);
        assert_eq!(reducer_of(&boundaries, b"m", at(1, 900)), 0);
        assert_eq!(reducer_of(&boundaries, b"m", at(2, 600)), 1);
        assert_eq!(reducer_of(&boundaries, b"m", at(3, 0)), 1);
        assert_eq!(reducer_of(&boundaries, b"z", at(0, 0)), 1);
    }
}
