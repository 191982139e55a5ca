//! The progress bar shown while a driver waits on a long job.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
        if self.bar.is_none() && self.since.elapsed() >= SHOW_AFTER {
            let bar = ProgressBar::with_draw_target(
                Some(self.total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} tasks ({per_sec}, eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
