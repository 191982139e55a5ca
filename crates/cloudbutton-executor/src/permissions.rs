//! What this process runs on behalf of others: the commands and host
//! directories that command and WebAssembly functions may use.
//!
//! A driver running its own jobs on its own machine may run anything: the
//! default. A worker serves jobs of other people's drivers, so it sets
//! narrower permissions once, when it starts, from its configuration.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

static PERMISSIONS: OnceLock<Permissions> = OnceLock::new();

/// Set by a worker in the environment of a program it starts, to the
/// permissions the worker grants, so that the program grants no more.
pub(crate) const PERMISSIONS_VAR: &str = "CLOUDBUTTON_PERMISSIONS";

/// The permissions as they cross to a program a worker starts.
#[derive(Serialize, Deserialize)]
struct Granted {
    holder: String,
    commands: Option<Vec<String>>,
    directories: Option<Vec<PathBuf>>,
}

/// Which commands and host directories functions may use.
#[derive(Clone, Debug)]
pub struct Permissions {
    commands: Vec<String>,
    command_set: Option<GlobSet>,
    directories: Option<Vec<PathBuf>>,
    holder: String,
}

impl Permissions {
    /// Anything: the permissions of a driver on its own machine.
    pub fn unrestricted() -> Self {
        Self {
            commands: Vec::new(),
            command_set: None,
            directories: None,
            holder: "this program".to_owned(),
        }
    }

    /// Only the commands that match one of the glob `patterns` (matched
    /// against the whole command line, `*` matching spaces too), and only
    /// the host `directories` given (and what is below them). `holder`
    /// names who grants them in errors, such as `worker host-1234`.
    pub fn only(
        holder: impl Into<String>,
        patterns: &[String],
        directories: Vec<PathBuf>,
    ) -> Result<Self, globset::Error> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            set.add(Glob::new(pattern)?);
        }
        Ok(Self {
            commands: patterns.to_vec(),
            command_set: Some(set.build()?),
            directories: Some(directories),
            holder: holder.into(),
        })
    }

    /// Whether `command` may run; the error says who refused it and how to
    /// allow it.
    pub fn check_command(&self, command: &str) -> Result<(), String> {
        match &self.command_set {
            None => Ok(()),
            Some(set) if set.is_match(command) => Ok(()),
            Some(_) if self.commands.is_empty() => Err(format!(
                "{} runs no commands; allow this one with --allow-command '{command}'",
                self.holder
            )),
            Some(_) => Err(format!(
                "{} does not allow the command `{command}` (it allows {}); allow it with \
                 --allow-command",
                self.holder,
                self.commands
                    .iter()
                    .map(|pattern| format!("`{pattern}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Whether a function may be granted the host directory `path`.
    pub fn check_directory(&self, path: &Path) -> Result<(), String> {
        let Some(directories) = &self.directories else {
            return Ok(());
        };
        let path = path
            .canonicalize()
            .map_err(|error| format!("cannot grant {}: {error}", path.display()))?;
        if directories
            .iter()
            .filter_map(|allowed| allowed.canonicalize().ok())
            .any(|allowed| path.starts_with(allowed))
        {
            Ok(())
        } else {
            Err(format!(
                "{} does not grant the directory {}; allow it with --allow-dir",
                self.holder,
                path.display()
            ))
        }
    }

    /// The permissions as the value of [`PERMISSIONS_VAR`].
    pub(crate) fn to_env(&self) -> String {
        let granted = Granted {
            holder: self.holder.clone(),
            commands: self.command_set.as_ref().map(|_| self.commands.clone()),
            directories: self.directories.clone(),
        };
        serde_json::to_string(&granted).expect("permissions serialize")
    }

    /// Reads what [`to_env`](Self::to_env) wrote.
    pub(crate) fn from_env(value: &str) -> Result<Self, String> {
        let granted: Granted = serde_json::from_str(value)
            .map_err(|error| format!("{PERMISSIONS_VAR} is malformed: {error}"))?;
        match granted.commands {
            None if granted.directories.is_none() => Ok(Self {
                holder: granted.holder,
                ..Self::unrestricted()
            }),
            commands => Self::only(
                granted.holder,
                &commands.unwrap_or_default(),
                granted.directories.unwrap_or_default(),
            )
            .map_err(|error| format!("{PERMISSIONS_VAR}: {error}")),
        }
    }
}

/// Sets this process's permissions; only the first call counts, and it
/// must come before the first task runs. Returns whether it was the first.
pub fn set_permissions(permissions: Permissions) -> bool {
    PERMISSIONS.set(permissions).is_ok()
}

/// This process's permissions: unrestricted unless a worker set them.
pub fn permissions() -> &'static Permissions {
    PERMISSIONS.get_or_init(Permissions::unrestricted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrestricted_allows_everything() {
        let all = Permissions::unrestricted();
        assert!(all.check_command("rm -rf /tmp/x").is_ok());
        assert!(all.check_directory(Path::new("/")).is_ok());
    }

    #[test]
    fn only_matching_commands_and_directories_below_the_granted_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inner")).unwrap();
        let some = Permissions::only(
            "worker w1",
            &["grep *".to_owned(), "wc -l".to_owned()],
            vec![dir.path().to_owned()],
        )
        .unwrap();
        assert!(some.check_command("grep -c ERROR").is_ok());
        assert!(some.check_command("wc -l").is_ok());
        let refused = some.check_command("wc -c").unwrap_err();
        assert!(
            refused.contains("worker w1") && refused.contains("`wc -c`"),
            "{refused}"
        );
        assert!(some.check_directory(&dir.path().join("inner")).is_ok());
        let outside = some.check_directory(Path::new("/etc")).unwrap_err();
        assert!(outside.contains("/etc"), "{outside}");
        // `..` cannot climb out of a granted directory.
        assert!(
            some.check_directory(&dir.path().join("inner/../.."))
                .is_err()
        );
    }

    #[test]
    fn permissions_cross_to_a_started_program_unchanged() {
        let some =
            Permissions::only("worker w3", &["wc *".to_owned()], vec!["/tmp".into()]).unwrap();
        let copy = Permissions::from_env(&some.to_env()).unwrap();
        assert!(copy.check_command("wc -l").is_ok());
        assert!(copy.check_command("cat").unwrap_err().contains("worker w3"));
        assert!(copy.check_directory(Path::new("/etc")).is_err());
        let all = Permissions::from_env(&Permissions::unrestricted().to_env()).unwrap();
        assert!(all.check_command("cat").is_ok());
        assert!(Permissions::from_env("{").is_err());
    }

    #[test]
    fn no_patterns_means_no_commands() {
        let none = Permissions::only("worker w2", &[], Vec::new()).unwrap();
        let refused = none.check_command("cat").unwrap_err();
        assert!(refused.contains("runs no commands"), "{refused}");
    }
}
