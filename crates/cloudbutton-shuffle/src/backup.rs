//! When to start a backup copy of a straggling task: the rule alone, pure,
//! so that it is tested without running anything. The sort driver applies
//! it to running tasks.
//!
//! A stage's tasks do about the same work, so one that runs much longer
//! than the others has most likely hit a slow machine or a slow read; a
//! second copy elsewhere often finishes first. Copies write the same
//! objects whole, so whichever finishes first wins and the other cannot
//! spoil its output.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When a stage starts backup copies of its stragglers: once `after` of
/// its tasks have finished, for each task that has run longer than
/// `slowdown` times the median run time of the finished ones, and longer
/// than `min_runtime`. A task gets one backup at most.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// Start no backups at all when false.
    pub enabled: bool,
    /// The fraction of the stage's tasks that must have finished first.
    pub after: f64,
    /// How many times the median run time a straggler has run.
    pub slowdown: f64,
    /// No task younger than this is a straggler, whatever the median.
    pub min_runtime: Duration,
}

impl Default for BackupPolicy {
    /// After 90 % of the tasks, for tasks running over twice the median
    /// and over one second.
    fn default() -> Self {
        Self {
            enabled: true,
            after: 0.9,
            slowdown: 2.0,
            min_runtime: Duration::from_secs(1),
        }
    }
}

impl BackupPolicy {
    /// No backups.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The tasks to back up now, of a stage of `tasks` tasks: `finished`
    /// holds the run times of the finished ones, `running` the index and
    /// run time so far of each unfinished task that has no backup yet.
    pub fn stragglers(
        &self,
        tasks: usize,
        finished: &[Duration],
        running: &[(usize, Duration)],
    ) -> Vec<usize> {
        if !self.enabled || finished.is_empty() {
            return Vec::new();
        }
        let needed = (self.after.clamp(0.0, 1.0) * tasks as f64).ceil() as usize;
        if finished.len() < needed.max(1) {
            return Vec::new();
        }
        let limit = median(finished)
            .mul_f64(self.slowdown.max(1.0))
            .max(self.min_runtime);
        running
            .iter()
            .filter(|(_, elapsed)| *elapsed > limit)
            .map(|&(index, _)| index)
            .collect()
    }
}

/// The median of some durations (the upper one of an even count).
fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn policy() -> BackupPolicy {
        BackupPolicy {
            min_runtime: ms(0),
            ..BackupPolicy::default()
        }
    }

    #[test]
    fn a_straggler_is_backed_up_once_most_tasks_are_done() {
        let finished = vec![ms(100); 9];
        assert_eq!(policy().stragglers(10, &finished, &[(4, ms(250))]), [4]);
        // Not yet twice the median.
        assert!(
            policy()
                .stragglers(10, &finished, &[(4, ms(190))])
                .is_empty()
        );
        // Not yet 90 % done.
        assert!(
            policy()
                .stragglers(10, &finished[..8], &[(4, ms(900)), (5, ms(900))])
                .is_empty()
        );
    }

    #[test]
    fn the_median_ignores_a_few_slow_finishers() {
        let mut finished = vec![ms(10); 8];
        finished.push(ms(500));
        assert_eq!(policy().stragglers(10, &finished, &[(0, ms(30))]), [0]);
    }

    #[test]
    fn young_tasks_and_disabled_policies_start_no_backups() {
        let finished = vec![ms(1); 9];
        let policy = BackupPolicy::default();
        assert!(policy.stragglers(10, &finished, &[(3, ms(500))]).is_empty());
        assert_eq!(policy.stragglers(10, &finished, &[(3, ms(1500))]), [3]);
        let off = BackupPolicy::disabled();
        assert!(off.stragglers(10, &finished, &[(3, ms(5000))]).is_empty());
    }

    #[test]
    fn a_one_task_stage_has_no_median_until_it_is_done() {
        assert!(policy().stragglers(1, &[], &[(0, ms(10_000))]).is_empty());
    }
}
