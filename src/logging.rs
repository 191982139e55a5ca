//! Logging for command-line programs: quiet by default, louder with `-v`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends `tracing` events to standard error. With no `-v`, only warnings
/// and errors; `-v` adds CloudButton's info and debug events, `-vv` its
/// traces. `RUST_LOG`, when set, overrides all of this. Logs are coloured
/// on a terminal unless `NO_COLOR` is set.
pub fn init(verbosity: u8) {
    start(match verbosity {
        0 => "warn",
        1 => {
            "warn,cloudbutton=debug,cloudbutton_executor=debug,cloudbutton_storage=debug,cloudbutton_cluster=debug"
        }
        _ => {
            "info,cloudbutton=trace,cloudbutton_executor=trace,cloudbutton_storage=trace,cloudbutton_cluster=trace"
        }
    });
}

/// Like [`init`], for a long-running service such as a worker: without
/// `-v`, it also tells when it is ready, when programs start and stop, and
/// when connections are lost and made again.
pub fn init_service(verbosity: u8) {
    match verbosity {
        0 => start("warn,cloudbutton_executor=info,cloudbutton_cluster=info"),
        _ => init(verbosity),
    }
}

fn start(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal, and never when NO_COLOR is set.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A second call (as in tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}
