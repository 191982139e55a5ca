//! Configuration: a TOML file plus environment variables, all optional.
//!
//! The file is the one named by `CLOUDBUTTON_CONFIG`, else
//! `./cloudbutton.toml`, else `cloudbutton/config.toml` in the user's
//! configuration directory (`~/.config` on Linux). Environment variables
//! override the file:
//!
//! | variable | key | example |
//! |---|---|---|
//! | `CLOUDBUTTON_BACKEND` | `executor.backend` | `local` |
//! | `CLOUDBUTTON_WORKERS` | `executor.workers` | `8` |
//! | `CLOUDBUTTON_RETRIES` | `executor.retries` | `2` |
//! | `CLOUDBUTTON_RETRY_BACKOFF` | `executor.retry_backoff` | `250ms` |
//! | `CLOUDBUTTON_TIMEOUT` | `executor.timeout` | `10m` |
//! | `CLOUDBUTTON_PROGRESS` | `executor.progress` | `auto`, `always`, `never` |
//! | `CLOUDBUTTON_CHUNK_SIZE` | `partition.chunk_size` | `64MiB` |
//! | `CLOUDBUTTON_REDIS_URL` | `cluster.redis_url` | `redis://:secret@10.0.0.5:6379` |
//! | `CLOUDBUTTON_STORAGE` | `cluster.storage` | `s3://bucket/cloudbutton/` |
//! | `CLOUDBUTTON_NAMESPACE` | `cluster.namespace` | `cloudbutton` |
//! | `CLOUDBUTTON_JOB_TTL` | `cluster.job_ttl` | `24h` |
//! | `CLOUDBUTTON_INLINE_LIMIT` | `cluster.inline_limit` | `1MiB` |
//!
//! S3 credentials come from `[storage.s3]` or the usual `AWS_*` variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use cloudbutton_storage::StorageOptions;
use serde::Deserialize;

use crate::progress::ProgressMode;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// An environment variable has a value that does not parse.
    #[error("invalid value {value:?} for {variable}: {reason}")]
    Env {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
}

/// Which machines run the tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Threads in this process.
    #[default]
    Local,
    /// Workers taking tasks from a Redis queue (see [`ClusterConfig`]).
    Redis,
}

/// The `[executor]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Which machines run the tasks.
    pub backend: BackendKind,
    /// Worker threads of the local backend; by default one per core.
    pub workers: Option<usize>,
    /// How many times a failed task is tried again.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each later one.
    #[serde(with = "humantime_duration")]
    pub retry_backoff: Duration,
    /// The longest a task may run; none by default.
    #[serde(with = "humantime_option")]
    pub timeout: Option<Duration>,
    /// When to draw a progress bar.
    pub progress: ProgressMode,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            backend: BackendKind::Local,
            workers: None,
            retries: 0,
            retry_backoff: Duration::from_millis(100),
            timeout: None,
            progress: ProgressMode::Auto,
        }
    }
}

/// The `[partition]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionConfig {
    /// The default chunk size for storage inputs.
    pub chunk_size: ByteSize,
}

impl Default for PartitionConfig {
    fn default() -> Self {
        Self {
            chunk_size: ByteSize::mib(64),
        }
    }
}

/// The `[cluster]` table: how drivers and workers of the `redis` backend
/// meet.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The Redis server: `redis://[user:password@]host:port[/db]`, or
    /// `rediss://` for TLS.
    pub redis_url: Option<String>,
    /// The storage that drivers and workers share (a prefix, such as
    /// `s3://bucket/cloudbutton/` or a directory every host mounts): drivers
    /// publish their program there, and workers leave large results.
    pub storage: Option<String>,
    /// Prefix of the Redis keys; drivers and workers must agree on it.
    pub namespace: String,
    /// How long a job's keys outlive its last activity in Redis.
    #[serde(with = "humantime_duration")]
    pub job_ttl: Duration,
    /// Outputs larger than this go through the shared storage rather than
    /// Redis.
    pub inline_limit: ByteSize,
    /// Whether the driver publishes its own executable, so that workers run
    /// the functions it defines. Without it, workers run the functions built
    /// into them.
    pub publish_program: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            storage: None,
            namespace: "cloudbutton".to_owned(),
            job_ttl: Duration::from_secs(24 * 60 * 60),
            inline_limit: ByteSize::mib(1),
            publish_program: true,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How tasks run.
    pub executor: ExecutorConfig,
    /// How storage inputs are split.
    pub partition: PartitionConfig,
    /// Where the workers of the `redis` backend are.
    pub cluster: ClusterConfig,
    /// Credentials and endpoints of remote stores.
    pub storage: StorageOptions,
}

impl Config {
    /// Loads the file that applies (if any) and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut config = match config_file() {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Reads one TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error| error.to_string().trim_end().to_owned())
    }

    /// Overrides settings with environment variables, read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T>(
            variable: &'static str,
            value: String,
            parse: impl FnOnce(&str) -> Result<T, String>,
        ) -> Result<T, ConfigError> {
            parse(value.trim()).map_err(|reason| ConfigError::Env {
                variable,
                value,
                reason,
            })
        }
        let executor = &mut self.executor;
        if let Some(value) = var("CLOUDBUTTON_BACKEND") {
            executor.backend = parse("CLOUDBUTTON_BACKEND", value, |text| match text {
                "local" => Ok(BackendKind::Local),
                "redis" => Ok(BackendKind::Redis),
                _ => Err("expected `local` or `redis`".into()),
            })?;
        }
        if let Some(value) = var("CLOUDBUTTON_WORKERS") {
            let workers = parse("CLOUDBUTTON_WORKERS", value, |text| match text.parse() {
                Ok(0) | Err(_) => Err("expected a whole number of at least 1".to_owned()),
                Ok(n) => Ok(n),
            })?;
            executor.workers = Some(workers);
        }
        if let Some(value) = var("CLOUDBUTTON_RETRIES") {
            executor.retries = parse("CLOUDBUTTON_RETRIES", value, |text| {
                text.parse()
                    .map_err(|_| "expected a whole number".to_owned())
            })?;
        }
        if let Some(value) = var("CLOUDBUTTON_RETRY_BACKOFF") {
            executor.retry_backoff = parse("CLOUDBUTTON_RETRY_BACKOFF", value, parse_duration)?;
        }
        if let Some(value) = var("CLOUDBUTTON_TIMEOUT") {
            executor.timeout = Some(parse("CLOUDBUTTON_TIMEOUT", value, parse_duration)?);
        }
        if let Some(value) = var("CLOUDBUTTON_PROGRESS") {
            executor.progress = parse("CLOUDBUTTON_PROGRESS", value, |text| match text {
                "auto" => Ok(ProgressMode::Auto),
                "always" => Ok(ProgressMode::Always),
                "never" => Ok(ProgressMode::Never),
                _ => Err("expected `auto`, `always` or `never`".into()),
            })?;
        }
        if let Some(value) = var("CLOUDBUTTON_CHUNK_SIZE") {
            self.partition.chunk_size = parse("CLOUDBUTTON_CHUNK_SIZE", value, parse_size)?;
        }
        let cluster = &mut self.cluster;
        if let Some(value) = var("CLOUDBUTTON_REDIS_URL") {
            cluster.redis_url = Some(value.trim().to_owned());
        }
        if let Some(value) = var("CLOUDBUTTON_STORAGE") {
            cluster.storage = Some(value.trim().to_owned());
        }
        if let Some(value) = var("CLOUDBUTTON_NAMESPACE") {
            cluster.namespace = value.trim().to_owned();
        }
        if let Some(value) = var("CLOUDBUTTON_JOB_TTL") {
            cluster.job_ttl = parse("CLOUDBUTTON_JOB_TTL", value, parse_duration)?;
        }
        if let Some(value) = var("CLOUDBUTTON_INLINE_LIMIT") {
            cluster.inline_limit = parse("CLOUDBUTTON_INLINE_LIMIT", value, parse_size)?;
        }
        Ok(())
    }
}

/// Parses a size with an optional unit: `1024`, `4KiB`, `16MiB`, `1GB`.
pub fn parse_size(text: &str) -> Result<ByteSize, String> {
    let size: ByteSize = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write it like 4KiB, 16MiB or 1GB"))?;
    if size.as_u64() == 0 {
        return Err("a size must be at least 1 byte".into());
    }
    Ok(size)
}

/// Parses a duration such as `500ms`, `30s` or `10m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|error| format!("`{text}` is not a duration like 500ms, 30s or 10m: {error}"))
}

/// The configuration file that applies, if any.
fn config_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CLOUDBUTTON_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let local = PathBuf::from("cloudbutton.toml");
    if local.is_file() {
        return Some(local);
    }
    let user = dirs::config_dir()?.join("cloudbutton").join("config.toml");
    user.is_file().then_some(user)
}

mod humantime_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

mod humantime_option {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn no_configuration_means_local_defaults() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.executor.backend, BackendKind::Local);
        assert_eq!(config.executor.retries, 0);
        assert_eq!(config.executor.timeout, None);
        assert_eq!(config.partition.chunk_size, ByteSize::mib(64));
    }

    #[test]
    fn a_file_sets_every_table() {
        let config = Config::from_toml(
            r#"
            [executor]
            workers = 3
            retries = 2
            retry_backoff = "250ms"
            timeout = "90s"
            progress = "never"
            [partition]
            chunk_size = "16MiB"
            [cluster]
            redis_url = "redis://127.0.0.1:6379"
            storage = "s3://bucket/cb/"
            job_ttl = "1h"
            inline_limit = "64KiB"
            "#,
        )
        .unwrap();
        assert_eq!(config.executor.workers, Some(3));
        assert_eq!(config.executor.retries, 2);
        assert_eq!(config.executor.retry_backoff, Duration::from_millis(250));
        assert_eq!(config.executor.timeout, Some(Duration::from_secs(90)));
        assert_eq!(config.executor.progress, ProgressMode::Never);
        assert_eq!(config.partition.chunk_size, ByteSize::mib(16));
        assert_eq!(
            config.cluster.redis_url.as_deref(),
            Some("redis://127.0.0.1:6379")
        );
        assert_eq!(config.cluster.storage.as_deref(), Some("s3://bucket/cb/"));
        assert_eq!(config.cluster.job_ttl, Duration::from_secs(3600));
        assert_eq!(config.cluster.inline_limit, ByteSize::kib(64));
        assert_eq!(config.cluster.namespace, "cloudbutton");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_say_where() {
        let error = Config::from_toml("[executor]\nworkerz = 3\n").unwrap_err();
        assert!(error.contains("workerz"), "{error}");
        let error = Config::from_toml("[executor]\ntimeout = \"soon\"\n").unwrap_err();
        assert!(error.contains("soon"), "{error}");
    }

    #[test]
    fn environment_variables_override_the_file() {
        let env: HashMap<&str, &str> = [
            ("CLOUDBUTTON_WORKERS", "5"),
            ("CLOUDBUTTON_TIMEOUT", "2s"),
            ("CLOUDBUTTON_CHUNK_SIZE", "4KiB"),
            ("CLOUDBUTTON_BACKEND", "redis"),
            ("CLOUDBUTTON_REDIS_URL", "redis://h:1"),
            ("CLOUDBUTTON_STORAGE", "/shared/cb/"),
        ]
        .into();
        let mut config = Config::from_toml("[executor]\nworkers = 1\n").unwrap();
        config
            .apply_env(|name| env.get(name).map(|value| value.to_string()))
            .unwrap();
        assert_eq!(config.executor.workers, Some(5));
        assert_eq!(config.executor.timeout, Some(Duration::from_secs(2)));
        assert_eq!(config.partition.chunk_size, ByteSize::kib(4));
        assert_eq!(config.executor.backend, BackendKind::Redis);
        assert_eq!(config.cluster.redis_url.as_deref(), Some("redis://h:1"));
        assert_eq!(config.cluster.storage.as_deref(), Some("/shared/cb/"));
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let mut config = Config::default();
        let error = config
            .apply_env(|name| (name == "CLOUDBUTTON_WORKERS").then(|| "0".to_owned()))
            .unwrap_err();
        assert!(error.to_string().contains("CLOUDBUTTON_WORKERS"), "{error}");
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("4KiB").unwrap().as_u64(), 4096);
        assert_eq!(parse_size("16MiB").unwrap().as_u64(), 16 << 20);
        assert_eq!(parse_size("1000").unwrap().as_u64(), 1000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").unwrap_err().contains("lots"));
    }
}
