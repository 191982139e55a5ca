//! Parsing what a user writes (`data/`, `s3://bucket/logs/*.gz`) into a store and a
//! selection of objects in it.
//!
//! Parsing is pure except for local paths, which are made absolute against the
//! current directory and checked for being a directory.

use std::fmt;
use std::path::{Component, Path as FsPath, PathBuf};
use std::str::FromStr;

use globset::{GlobBuilder, GlobMatcher};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::StorageError;

/// URL of the store that holds every local file.
pub(crate) const LOCAL_STORE_URL: &str = "file:///";

/// Characters that make a path a glob pattern.
const GLOB_META: &[char] = &['*', '?', '[', '{'];

/// A parsed user location: which store, and which objects in it.
///
/// Accepted forms:
///
/// - `s3://bucket/key`, `s3://bucket/prefix/`, `s3://bucket/logs/*.gz`;
/// - `memory://name/key`: an in-memory store shared by the whole process under
///   `name`, for tests and examples;
/// - `file:///absolute/path`, and plain paths, absolute or relative to the
///   current directory. A `file://` URL is taken literally, without percent
///   decoding, so the URL of an object ([`crate::ObjectInfo::url`]) can be
///   pasted back as a location.
///
/// A location ending in `/`, or a local path that names an existing directory,
/// selects every object below it ([`Selector::Prefix`]). One containing any of
/// `*?[{` is a [`Selector::Glob`]. Anything else names exactly one object
/// ([`Selector::Object`]): `data/a` never selects `data/ab` beside it.
///
/// ```
/// use cloudbutton_storage::{Location, Selector};
///
/// let location = Location::parse("s3://bucket/logs/2024-*.gz").unwrap();
/// assert_eq!(location.store_url(), "s3://bucket");
/// assert_eq!(location.selector(), &Selector::Glob("logs/2024-*.gz".into()));
/// assert_eq!(location.to_string(), "s3://bucket/logs/2024-*.gz");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    store_url: String,
    selector: Selector,
}

/// Which objects of a store a [`Location`] selects.
///
/// Keys are relative to the store, with no leading or trailing `/`; for local
/// files the key is the absolute path without its leading `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Selector {
    /// Exactly one object, by key.
    Object(String),
    /// Every object whose key lies below this prefix, at any depth (`""` is the
    /// whole store).
    Prefix(String),
    /// Every object whose key matches this glob pattern: `*`, `?` and `[...]`
    /// stop at `/`, `**` crosses it, `{a,b}` is an alternative. Unlike in a
    /// shell, a wildcard matches a leading `.` (`data/*` selects `data/.env`);
    /// `data/[!.]*` leaves such names out.
    Glob(String),
}

impl Location {
    /// Parses a location as a user writes it.
    ///
    /// Fails with [`StorageError::InvalidUrl`] on an unsupported scheme, a
    /// missing bucket, a malformed glob, or a key an object store cannot hold
    /// (an empty segment as in `a//b`, `.` or `..` in a remote key, control
    /// characters).
    pub fn parse(input: &str) -> Result<Location, StorageError> {
        if input.is_empty() {
            return Err(StorageError::invalid(
                input,
                "the location is empty: give a path, or a URL such as s3://bucket/prefix/",
            ));
        }

        match input.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => {
                match scheme.to_ascii_lowercase().as_str() {
                    "file" => parse_file_url(input, rest),
                    "s3" => parse_remote(input, "s3", rest),
                    "memory" => parse_remote(input, "memory", rest),
                    other => Err(StorageError::invalid(
                        input,
                        format!(
                            "unsupported scheme `{other}://`: use a local path, \
                             file:///, s3:// or memory://"
                        ),
                    )),
                }
            }
            _ => {
                for scheme in ["file:", "s3:", "memory:"] {
                    if input.starts_with(scheme) {
                        return Err(StorageError::invalid(
                            input,
                            format!("a URL needs two slashes after the scheme: {scheme}//..."),
                        ));
                    }
                }
                parse_local(input, input)
            }
        }
    }

    /// URL of the store: `file:///`, `s3://bucket` or `memory://name`.
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// Which objects of the store this location selects.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }
}

impl FromStr for Location {
    type Err = StorageError;

    fn from_str(input: &str) -> Result<Location, StorageError> {
        Location::parse(input)
    }
}

impl fmt::Display for Location {
    /// Writes the location back as a URL: `s3://bucket/prefix/`, `file:///data/a.txt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Object(key) | Selector::Glob(key) => {
                f.write_str(&object_url(&self.store_url, key))
            }
            Selector::Prefix(prefix) => f.write_str(&prefix_url(&self.store_url, prefix)),
        }
    }
}

/// Full URL of the object `key` in the store at `store_url`.
pub(crate) fn object_url(store_url: &str, key: &str) -> String {
    if store_url.ends_with('/') {
        format!("{store_url}{key}")
    } else {
        format!("{store_url}/{key}")
    }
}

/// Full URL of the prefix `prefix` in the store at `store_url`, ending in `/`.
pub(crate) fn prefix_url(store_url: &str, prefix: &str) -> String {
    let mut url = object_url(store_url, prefix);
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// The directory part of `pattern` before its first glob metacharacter: the
/// prefix to list before filtering keys by the pattern. The last segment is
/// always a name to match, never part of the prefix.
pub(crate) fn glob_literal_prefix(pattern: &str) -> String {
    let directories = match pattern.rsplit_once('/') {
        Some((directories, _name)) => directories,
        None => return String::new(),
    };
    let literal: Vec<&str> = directories
        .split('/')
        .take_while(|segment| !segment.contains(GLOB_META))
        .collect();
    literal.join("/")
}

/// Compiles a glob pattern with the rules of [`Selector::Glob`].
pub(crate) fn glob_matcher(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|glob| glob.compile_matcher())
}

/// Whether `scheme` has the shape of a URL scheme (`s3`, `file`, `http`).
fn is_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Parses the part of a `file://` URL after the scheme.
fn parse_file_url(input: &str, rest: &str) -> Result<Location, StorageError> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(StorageError::invalid(
            input,
            "a file URL needs an absolute path after `file://`, e.g. file:///data/input.txt",
        ));
    }
    parse_local(input, path)
}

/// Parses a local path, absolute or relative to the current directory.
fn parse_local(input: &str, path: &str) -> Result<Location, StorageError> {
    let absolute = if FsPath::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        let cwd = std::env::current_dir().map_err(|error| {
            StorageError::invalid(
                input,
                format!(
                    "cannot resolve a relative path, the current directory is unusable: {error}"
                ),
            )
        })?;
        cwd.join(path)
    };

    // Resolve `.` and `..` by hand rather than by canonicalizing, so that a
    // path through a symlink keeps the name the user gave it.
    let mut segments: Vec<&str> = Vec::new();
    for component in absolute.components() {
        match component {
            Component::Normal(name) => segments.push(
                name.to_str()
                    .ok_or_else(|| StorageError::invalid(input, "the path is not valid UTF-8"))?,
            ),
            Component::ParentDir => {
                segments.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let key = segments.join("/");
    validate_key(input, &key)?;

    let selector = if path.contains(GLOB_META) {
        glob_selector(input, key, path.ends_with('/'))?
    } else if key.is_empty() || path.ends_with('/') || absolute.is_dir() {
        Selector::Prefix(key)
    } else {
        Selector::Object(key)
    };
    Ok(Location {
        store_url: LOCAL_STORE_URL.to_string(),
        selector,
    })
}

/// Parses the part of an `s3://` or `memory://` URL after the scheme.
fn parse_remote(input: &str, scheme: &str, rest: &str) -> Result<Location, StorageError> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let what = if scheme == "s3" {
        "bucket"
    } else {
        "store name"
    };
    if bucket.is_empty() {
        return Err(StorageError::invalid(
            input,
            format!(
                "the {what} is missing: write {scheme}://{what}/key",
                what = what.replace(' ', "-")
            ),
        ));
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(StorageError::invalid(
            input,
            format!("the {what} `{bucket}` may hold only letters, digits, `-`, `.` and `_`"),
        ));
    }
    let store_url = format!("{scheme}://{bucket}");

    let normalized = Path::parse(key).map_err(|error| {
        StorageError::invalid(input, format!("the key is not a valid object key: {error}"))
    })?;
    let normalized = normalized.as_ref().to_string();

    let selector = if key.contains(GLOB_META) {
        glob_selector(input, normalized, key.ends_with('/'))?
    } else if normalized.is_empty() || key.ends_with('/') {
        Selector::Prefix(normalized)
    } else {
        Selector::Object(normalized)
    };
    Ok(Location {
        store_url,
        selector,
    })
}

/// A glob selector for `pattern`; a pattern ending in `/` selects everything
/// below the directories it matches.
fn glob_selector(input: &str, pattern: String, below: bool) -> Result<Selector, StorageError> {
    let pattern = if below {
        format!("{pattern}/**")
    } else {
        pattern
    };
    glob_matcher(&pattern)
        .map_err(|error| StorageError::invalid(input, format!("bad glob pattern: {error}")))?;
    Ok(Selector::Glob(pattern))
}

/// Checks that `key` can name an object.
fn validate_key(input: &str, key: &str) -> Result<(), StorageError> {
    Path::parse(key).map(drop).map_err(|error| {
        StorageError::invalid(
            input,
            format!("the path is not a valid object key: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, store_url: &str, selector: Selector, shown: &str) {
        let location = Location::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(location.store_url(), store_url, "{input}");
        assert_eq!(location.selector(), &selector, "{input}");
        assert_eq!(location.to_string(), shown, "{input}");
        assert_eq!(
            Location::parse(shown).unwrap(),
            location,
            "{input} round trip"
        );
    }

    fn check_invalid(input: &str, reason_contains: &str) {
        let error = Location::parse(input).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, StorageError::InvalidUrl { .. }),
            "{input}: {message}"
        );
        assert!(
            message.contains(&format!("`{input}`")),
            "{input}: {message}"
        );
        assert!(message.contains(reason_contains), "{input}: {message}");
    }

    #[test]
    fn remote_locations() {
        use Selector::*;
        check(
            "s3://bucket/key.txt",
            "s3://bucket",
            Object("key.txt".into()),
            "s3://bucket/key.txt",
        );
        check(
            "s3://bucket/data/a",
            "s3://bucket",
            Object("data/a".into()),
            "s3://bucket/data/a",
        );
        check(
            "s3://bucket/data/",
            "s3://bucket",
            Prefix("data".into()),
            "s3://bucket/data/",
        );
        check(
            "s3://bucket",
            "s3://bucket",
            Prefix(String::new()),
            "s3://bucket/",
        );
        check(
            "s3://bucket/",
            "s3://bucket",
            Prefix(String::new()),
            "s3://bucket/",
        );
        check(
            "S3://my.bucket-1/a b",
            "s3://my.bucket-1",
            Object("a b".into()),
            "s3://my.bucket-1/a b",
        );
        check(
            "s3://b/logs/*.gz",
            "s3://b",
            Glob("logs/*.gz".into()),
            "s3://b/logs/*.gz",
        );
        check(
            "s3://b/logs/*/",
            "s3://b",
            Glob("logs/*/**".into()),
            "s3://b/logs/*/**",
        );
        check(
            "memory://t/x/y",
            "memory://t",
            Object("x/y".into()),
            "memory://t/x/y",
        );
        check(
            "memory://t/x/{a,b}?",
            "memory://t",
            Glob("x/{a,b}?".into()),
            "memory://t/x/{a,b}?",
        );
    }

    #[test]
    fn local_locations() {
        use Selector::*;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let key = root.trim_start_matches('/');
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();

        check(
            &format!("{root}/a"),
            "file:///",
            Object(format!("{key}/a")),
            &format!("file:///{key}/a"),
        );
        check(
            &format!("file://{root}/a"),
            "file:///",
            Object(format!("{key}/a")),
            &format!("file:///{key}/a"),
        );
        check(
            &format!("file://localhost{root}/a"),
            "file:///",
            Object(format!("{key}/a")),
            &format!("file:///{key}/a"),
        );
        check(
            &format!("{root}/missing"),
            "file:///",
            Object(format!("{key}/missing")),
            &format!("file:///{key}/missing"),
        );
        check(
            &format!("{root}/sub"),
            "file:///",
            Prefix(format!("{key}/sub")),
            &format!("file:///{key}/sub/"),
        );
        check(
            &format!("{root}/new/"),
            "file:///",
            Prefix(format!("{key}/new")),
            &format!("file:///{key}/new/"),
        );
        check(
            &format!("{root}/./sub/../a"),
            "file:///",
            Object(format!("{key}/a")),
            &format!("file:///{key}/a"),
        );
        check(
            &format!("{root}//a"),
            "file:///",
            Object(format!("{key}/a")),
            &format!("file:///{key}/a"),
        );
        check(
            &format!("{root}/*.txt"),
            "file:///",
            Glob(format!("{key}/*.txt")),
            &format!("file:///{key}/*.txt"),
        );
        check(
            &format!("{root}/a b ü%20.txt"),
            "file:///",
            Object(format!("{key}/a b ü%20.txt")),
            &format!("file:///{key}/a b ü%20.txt"),
        );
        check("/", "file:///", Prefix(String::new()), "file:///");
        check("file:///", "file:///", Prefix(String::new()), "file:///");
    }

    #[test]
    fn relative_paths_resolve_against_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        let key = cwd.to_str().unwrap().trim_start_matches('/');
        let location = Location::parse("some-input.txt").unwrap();
        assert_eq!(
            location.selector(),
            &Selector::Object(format!("{key}/some-input.txt"))
        );
        let location = Location::parse("./data/../src/").unwrap();
        assert_eq!(location.selector(), &Selector::Prefix(format!("{key}/src")));
        let location = Location::parse("src").unwrap();
        assert_eq!(
            location.selector(),
            &Selector::Prefix(format!("{key}/src")),
            "existing dir"
        );
    }

    #[test]
    fn invalid_locations() {
        check_invalid("", "empty");
        check_invalid("s4://x", "unsupported scheme `s4://`");
        check_invalid("http://example.com/a", "unsupported scheme `http://`");
        check_invalid("gs://bucket/a", "unsupported scheme");
        check_invalid("s3://", "bucket is missing");
        check_invalid("s3:///key", "bucket is missing");
        check_invalid("memory://", "store-name");
        check_invalid("s3:/bucket/key", "two slashes");
        check_invalid("s3://bad bucket/key", "letters, digits");
        check_invalid("s3://b/a//c", "not a valid object key");
        check_invalid("s3://b/../c", "not a valid object key");
        check_invalid("s3://b/data/[a", "bad glob");
        check_invalid("file://relative/path", "absolute path");
        check_invalid("/tmp/a\u{1}b", "not a valid object key");
    }

    #[test]
    fn glob_prefixes() {
        assert_eq!(glob_literal_prefix("data/2024/*.csv"), "data/2024");
        assert_eq!(glob_literal_prefix("data/*/x/*.csv"), "data");
        assert_eq!(glob_literal_prefix("*.csv"), "");
        assert_eq!(glob_literal_prefix("data/part-?"), "data");
        assert_eq!(glob_literal_prefix("a/b"), "a");
        assert_eq!(glob_literal_prefix("**/x"), "");
    }

    #[test]
    fn globs_stop_at_slashes_unless_doubled() {
        let one = glob_matcher("data/*.csv").unwrap();
        assert!(one.is_match("data/a.csv"));
        assert!(!one.is_match("data/sub/a.csv"));
        let any = glob_matcher("data/**/*.csv").unwrap();
        assert!(any.is_match("data/a.csv"));
        assert!(any.is_match("data/sub/deeper/a.csv"));
    }

    #[test]
    fn wildcards_match_a_leading_dot() {
        let star = glob_matcher("data/*").unwrap();
        assert!(star.is_match("data/.env"));
        assert!(
            glob_matcher("data/**/*.yaml")
                .unwrap()
                .is_match("data/.ci/.lint.yaml")
        );
        assert!(glob_matcher("data/?env").unwrap().is_match("data/.env"));

        let no_dot = glob_matcher("data/[!.]*").unwrap();
        assert!(no_dot.is_match("data/a.csv"));
        assert!(!no_dot.is_match("data/.env"));
        assert!(!no_dot.is_match("data/sub/a.csv"));
    }
}
