//! The progress bar shown while a driver waits on a long job.

use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Deserialize;

/// When to draw a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgressMode {
    /// When standard error is a terminal.
    #[default]
    Auto,
    /// Always, even when standard error is not a terminal.
    Always,
    /// Never.
    Never,
}

impl ProgressMode {
    fn enabled(self) -> bool {
        match self {
            Self::Auto => std::io::stderr().is_terminal(),
            Self::Always => true,
            Self::Never => false,
        }
    }
}

/// Jobs shorter than this get no bar at all.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A bar that appears once a wait has lasted [`SHOW_AFTER`].
pub(crate) struct Progress {
    enabled: bool,
    since: Instant,
    total: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode, total: usize) -> Self {
        Self {
            enabled: mode.enabled(),
            since: Instant::now(),
            total,
            bar: None,
        }
    }

    /// Shows `done` tasks out of the total.
    pub(crate) fn update(&mut self, done: usize) {
        if !self.enabled {
            return;
        }
        let elapsed = self.since.elapsed();
        if self.bar.is_none() && elapsed >= SHOW_AFTER {
            let bar = ProgressBar::with_draw_target(
                Some(self.total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            )
            .with_elapsed(elapsed);
            // The rate comes from the same state as the count, so every frame
            // agrees with itself.
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} tasks ({rate_and_eta})",
            )
            .expect("valid template")
            .with_key(
                "rate_and_eta",
                |state: &ProgressState, out: &mut dyn fmt::Write| {
                    let total = state.len().unwrap_or(0) as usize;
                    let _ =
                        out.write_str(&rate_and_eta(state.pos() as usize, total, state.elapsed()));
                },
            )
            .progress_chars("=> ");
            bar.set_style(style);
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }
}

/// The average rate since the wait began, and the time left at that rate.
/// Tasks finish unevenly (a bar appears with many already done), so an
/// average over the whole wait is steadier than a recent-window estimate.
fn rate_and_eta(done: usize, total: usize, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    if done == 0 {
        return "starting".to_owned();
    }
    if done >= total {
        return format!("{rate:.1} tasks/s");
    }
    let left = Duration::from_secs_f64((total - done) as f64 / rate);
    let left = humantime::format_duration(Duration::from_secs(left.as_secs().max(1)));
    format!("{rate:.1} tasks/s, about {left} left")
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_an_average_and_the_time_left_follows_from_it() {
        let message = rate_and_eta(50, 200, Duration::from_secs(10));
        assert_eq!(message, "5.0 tasks/s, about 30s left");
        assert_eq!(rate_and_eta(0, 10, Duration::from_secs(2)), "starting");
        let finishing = rate_and_eta(10, 10, Duration::from_secs(2));
        assert_eq!(finishing, "5.0 tasks/s");
    }
}
