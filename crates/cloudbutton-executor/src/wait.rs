//! Waiting for tasks: all of them, any of them, or a fraction.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::job_state::JobControl;
use crate::progress::{Progress, ProgressMode};

/// When a wait returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// Once every task has finished.
    All,
    /// Once at least one task has finished.
    Any,
    /// Once at least this fraction (0.0 to 1.0) of the tasks has finished.
    Fraction(f64),
}

impl Wait {
    /// How many of `total` tasks must finish.
    fn needed(self, total: usize) -> usize {
        match self {
            Self::All => total,
            Self::Any => total.min(1),
            Self::Fraction(fraction) => {
                ((fraction.clamp(0.0, 1.0) * total as f64).ceil() as usize).min(total)
            }
        }
    }
}

/// How often a waiting driver redraws its progress bar.
const TICK: Duration = Duration::from_millis(100);

/// Blocks until the policy is met or the timeout passes; returns the
/// positions in `tasks` of the finished ones, in order.
pub(crate) fn wait_for(
    tasks: &[(&dyn JobControl, usize)],
    policy: Wait,
    timeout: Option<Duration>,
    progress: ProgressMode,
) -> Vec<usize> {
    let needed = policy.needed(tasks.len());
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut bar = Progress::new(progress, tasks.len());
    let mut pending: VecDeque<usize> = (0..tasks.len()).collect();
    let mut done = 0;
    let Some(&(first, _)) = tasks.first() else {
        return Vec::new();
    };
    let notifier = first.notifier();

    loop {
        // Read the epoch before looking, so that no finish goes unseen.
        let epoch = notifier.epoch();
        let is_finished = |position: usize| {
            let (job, index) = tasks[position];
            job.state(index).is_finished()
        };
        if policy == Wait::All {
            // Only the first unfinished task matters; the scan is linear overall.
            let unfinished = pending
                .iter()
                .position(|&position| !is_finished(position))
                .unwrap_or(pending.len());
            pending.drain(..unfinished);
            done += unfinished;
        } else {
            pending.retain(|&position| {
                let finished = is_finished(position);
                done += usize::from(finished);
                !finished
            });
        }
        bar.update(done);
        if done >= needed {
            break;
        }
        let mut limit = TICK;
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            limit = limit.min(left);
        }
        notifier.wait_past(epoch, limit);
    }

    let mut finished: Vec<usize> = (0..tasks.len()).collect();
    finished.retain(|position| pending.binary_search(position).is_err());
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_need_the_right_number_of_tasks() {
        assert_eq!(Wait::All.needed(10), 10);
        assert_eq!(Wait::Any.needed(10), 1);
        assert_eq!(Wait::Any.needed(0), 0);
        assert_eq!(Wait::Fraction(0.5).needed(10), 5);
        assert_eq!(Wait::Fraction(0.55).needed(10), 6);
        assert_eq!(Wait::Fraction(2.0).needed(10), 10);
        assert_eq!(Wait::Fraction(0.0).needed(10), 0);
    }
}
