//! `cloudbutton storage`: list, upload, download and delete objects in any
//! store the storage crate reaches.
//!
//! Every command parses all of its locations before it touches a store, so a
//! typing mistake in the last argument stops it before anything is changed.
//! Commands over several objects go on past one that fails, report each
//! failure, and exit with status 1 at the end.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use bytesize::ByteSize;
use clap::{Args, Subcommand};
use cloudbutton::executor::config::Config;
use cloudbutton::storage::{Location, Selector, Storage, StorageError, StorageOptions, block_on};
use futures::{Stream, StreamExt, TryStreamExt, stream};

use crate::AlreadyReported;
use cloudbutton::report;

/// What stands for standard input among the files to upload, and for
/// standard output as the destination of a download.
const STDIO: &str = "-";

/// Deletions in flight at once: enough to hide the latency of a remote
/// store, few enough not to be throttled by it.
const DELETES_IN_FLIGHT: usize = 16;

/// Buffer between a download and where it is written.
const WRITE_BUFFER: usize = 256 * 1024;

/// The `storage` subcommands.
#[derive(Subcommand)]
pub enum StorageCommand {
    Ls(LsArgs),
    Put(PutArgs),
    Get(GetArgs),
    Rm(RmArgs),
}

/// List objects, one a line: the size in bytes, a tab, the full URL.
///
/// An object URL lists that object. A prefix ending in `/`, a local directory
/// or a whole store (`s3://bucket`) lists every object below it, at any depth;
/// a glob (`logs/*.gz`, `data/**/*.csv`) lists the objects it matches. Names
/// starting with `.` are listed too, and a glob's `*` matches a leading `.`
/// (`data/[!.]*` leaves such names out). A prefix or glob that selects
/// nothing prints nothing.
#[derive(Args)]
pub struct LsArgs {
    /// Objects, prefixes, directories or globs to list.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,

    /// Show sizes for humans (such as 16.0 MiB) and a total at the end.
    #[arg(short, long)]
    long: bool,
}

/// Upload local files.
///
/// With one file and an object URL, the file becomes that object. When the
/// URL ends in `/` or names an existing local directory, or when several
/// files are given, each file goes below the URL under its own file name.
/// Large files are sent as multipart uploads, and a failed upload leaves no
/// partial object. Prints nothing unless -v is given.
#[derive(Args)]
pub struct PutArgs {
    /// Local files to upload; `-` reads standard input (name a file called
    /// `-` as `./-`).
    #[arg(required = true, value_name = "LOCAL_FILE")]
    files: Vec<PathBuf>,

    /// Where to upload: an object URL, or a prefix ending in `/`.
    #[arg(value_name = "URL")]
    url: String,
}

/// Download one object to a file or to standard output.
///
/// The object is streamed, never held whole in memory. A download to a file
/// is written beside it under a temporary name and renamed into place once
/// complete, so a failed download leaves no partial file behind.
#[derive(Args)]
pub struct GetArgs {
    /// The object to download.
    #[arg(value_name = "URL")]
    url: String,

    /// A file to write, or a directory to write the object into under its
    /// own name; standard output when absent or `-`.
    #[arg(value_name = "DEST")]
    dest: Option<PathBuf>,

    /// Download only the bytes from offset START up to, not including, END;
    /// `START..` reads to the end of the object. An END past the end of the
    /// object stops at its end.
    #[arg(long, value_name = "START..END", value_parser = parse_range)]
    range: Option<ByteRange>,
}

/// Delete objects.
///
/// A prefix, a local directory or a glob deletes every object it selects,
/// and only with --recursive. Naming an object that does not exist is an
/// error. On the local filesystem, directories left empty are kept.
#[derive(Args)]
pub struct RmArgs {
    /// Objects to delete; with --recursive, also prefixes, directories and
    /// globs.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,

    /// Delete every object below a prefix or directory, or matched by a glob.
    #[arg(short, long)]
    recursive: bool,
}

/// The bytes `--range` asks for: from `start` up to `end`, or to the end of
/// the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    start: u64,
    end: Option<u64>,
}

/// Runs one `storage` subcommand; `verbose` reports each object handled on
/// standard error.
pub fn run(command: StorageCommand, verbose: bool) -> Result<()> {
    let options = Config::load()?.storage;
    match command {
        StorageCommand::Ls(args) => ls(args, &options),
        StorageCommand::Put(args) => put(args, &options, verbose),
        StorageCommand::Get(args) => get(args, &options, verbose),
        StorageCommand::Rm(args) => rm(args, &options, verbose),
    }
}

fn ls(args: LsArgs, options: &StorageOptions) -> Result<()> {
    let locations = parse_all(&args.urls)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failures = Failures::new(locations.len());
    let (mut count, mut bytes) = (0, 0);

    for location in &locations {
        let listed = connect(location, options)
            .and_then(|storage| block_on(storage.list(location.selector())));
        let objects = match listed {
            Ok(objects) => objects,
            Err(error) => {
                // Keep the error in its place among the lines before it.
                out.flush()?;
                failures.record(error.into());
                continue;
            }
        };
        for object in objects {
            if args.long {
                writeln!(out, "{:>10}\t{}", ByteSize(object.size), object.url())?;
            } else {
                writeln!(out, "{}\t{}", object.size, object.url())?;
            }
            count += 1;
            bytes += object.size;
        }
    }

    if args.long {
        let noun = if count == 1 { "object" } else { "objects" };
        writeln!(out, "{count} {noun}, {} in total", ByteSize(bytes))?;
    }
    out.flush()?;
    failures.finish()
}

fn put(args: PutArgs, options: &StorageOptions, verbose: bool) -> Result<()> {
    let destination = Location::parse(&args.url)?;
    if args.files.iter().filter(|file| is_stdio(file)).count() > 1 {
        bail!("standard input (`-`) can be uploaded only once");
    }
    let several = args.files.len() > 1;
    let keys = args
        .files
        .iter()
        .map(|file| upload_key(&args.url, destination.selector(), file, several))
        .collect::<Result<Vec<_>>>()?;

    let storage = connect(&destination, options)?;
    let mut failures = Failures::new(args.files.len());
    for (file, key) in args.files.iter().zip(&keys) {
        match upload(&storage, file, key) {
            Ok(size) if verbose => eprintln!(
                "uploaded {} to {} ({})",
                file.display(),
                storage.url(key),
                ByteSize(size)
            ),
            Ok(_) => {}
            Err(error) => failures.record(error),
        }
    }
    failures.finish()
}

/// The key under which `file` is uploaded to `url`, which selects
/// `destination`; `several` says whether other files go there too.
fn upload_key(url: &str, destination: &Selector, file: &Path, several: bool) -> Result<String> {
    let below = match destination {
        Selector::Object(key) if !several => return Ok(key.clone()),
        Selector::Object(prefix) | Selector::Prefix(prefix) => prefix,
        Selector::Glob(_) => bail!(
            "cannot upload to `{url}`, a glob pattern: give an object URL, \
             or a prefix ending in `/`"
        ),
    };
    if is_stdio(file) {
        bail!(
            "standard input has no file name to upload it under `{url}`: \
             give the URL of the object to write"
        );
    }
    let name = file
        .file_name()
        .ok_or_else(|| anyhow!("cannot upload `{}`: it has no file name", file.display()))?
        .to_str()
        .ok_or_else(|| {
            anyhow!(
                "cannot upload {}: its name is not valid UTF-8",
                file.display()
            )
        })?;
    Ok(if below.is_empty() {
        name.to_string()
    } else {
        format!("{below}/{name}")
    })
}

/// Uploads `file` (or standard input) as the object `key`, returning its size.
fn upload(storage: &Storage, file: &Path, key: &str) -> Result<u64> {
    if is_stdio(file) {
        return Ok(block_on(storage.put_reader(key, tokio::io::stdin()))?);
    }
    if file.is_dir() {
        bail!(
            "cannot upload {}: it is a directory, give the files in it instead",
            file.display()
        );
    }
    Ok(block_on(storage.put_file(key, file))?)
}

fn get(args: GetArgs, options: &StorageOptions, verbose: bool) -> Result<()> {
    let location = Location::parse(&args.url)?;
    let Selector::Object(key) = location.selector() else {
        bail!(
            "`{url}` is a prefix, a directory or a glob, and get downloads one object: \
             see the objects it selects with `cloudbutton storage ls {url}`",
            url = args.url
        );
    };
    let storage = connect(&location, options)?;
    let url = storage.url(key);

    // Open the object before creating anything, so that a missing object
    // leaves no trace at the destination.
    let range = match args.range {
        Some(range) => Some(clamp(range, &url, block_on(storage.head(key))?.size)?),
        None => None,
    };
    let pieces = block_on(storage.get_stream(key, range))?;

    let (size, shown) = match args.dest.filter(|dest| !is_stdio(dest)) {
        None => {
            let mut out = BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock());
            let size = copy(pieces, &mut out, "standard output")?;
            out.flush().context("cannot write to standard output")?;
            (size, "standard output".to_string())
        }
        Some(dest) => {
            let path = download_path(&dest, key);
            let size = download(pieces, &path)?;
            (size, path.display().to_string())
        }
    };
    if verbose {
        eprintln!("downloaded {url} to {shown} ({})", ByteSize(size));
    }
    Ok(())
}

/// The byte range of an object of `size` bytes at `url` that `range` asks
/// for, ending at most at its end.
fn clamp(range: ByteRange, url: &str, size: u64) -> Result<Range<u64>> {
    if range.start > size {
        bail!(
            "the range starts at byte {}, past the end of {url} ({size} bytes)",
            range.start
        );
    }
    let end = range.end.map_or(size, |end| end.min(size));
    Ok(range.start..end)
}

/// The file a download to `dest` writes: `dest` itself, or the object's own
/// name inside `dest` when that is a directory.
fn download_path(dest: &Path, key: &str) -> PathBuf {
    let name = key.rsplit('/').next().unwrap_or(key);
    if dest.is_dir() || dest.as_os_str().as_encoded_bytes().ends_with(b"/") {
        dest.join(name)
    } else {
        dest.to_path_buf()
    }
}

/// Writes `pieces` to a temporary file beside `path`, then renames it to
/// `path`. On failure the temporary file is removed and `path` is untouched.
fn download<B: AsRef<[u8]>>(
    pieces: impl Stream<Item = Result<B, StorageError>> + Unpin,
    path: &Path,
) -> Result<u64> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or(OsStr::new("download"));
    let mut prefix = OsStr::new(".").to_os_string();
    prefix.push(name);
    prefix.push(".");

    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    #[cfg(unix)]
    builder.permissions(new_file_permissions(path));
    let mut temp = builder.tempfile_in(dir).with_context(|| {
        format!(
            "cannot create a temporary file in {} to download into",
            dir.display()
        )
    })?;

    let shown = path.display().to_string();
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, temp.as_file_mut());
    let size = copy(pieces, &mut out, &shown)?;
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot write to {shown}"))?;
    temp.persist(path)
        .with_context(|| format!("cannot move the download into place at {shown}"))?;
    Ok(size)
}

/// Permissions for a new download: those of the file it replaces, else those
/// of any new file, both less the umask; not the owner-only ones a temporary
/// file gets.
#[cfg(unix)]
fn new_file_permissions(path: &Path) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;

    fs::metadata(path)
        .map(|metadata| metadata.permissions())
        .unwrap_or_else(|_| fs::Permissions::from_mode(0o666))
}

/// Writes every piece of `pieces` to `out` as it arrives, returning the number
/// of bytes written; `shown` names `out` in errors.
fn copy<B: AsRef<[u8]>>(
    mut pieces: impl Stream<Item = Result<B, StorageError>> + Unpin,
    out: &mut impl Write,
    shown: &str,
) -> Result<u64> {
    block_on(async {
        let mut size = 0;
        while let Some(piece) = pieces.try_next().await? {
            let piece = piece.as_ref();
            out.write_all(piece)
                .with_context(|| format!("cannot write to {shown}"))?;
            size += piece.len() as u64;
        }
        Ok(size)
    })
}

fn rm(args: RmArgs, options: &StorageOptions, verbose: bool) -> Result<()> {
    let locations = parse_all(&args.urls)?;
    if !args.recursive
        && let Some(location) = locations
            .iter()
            .find(|location| !matches!(location.selector(), Selector::Object(_)))
    {
        return Err(needs_recursive(location));
    }

    let mut failures = Failures::new(locations.len());
    for location in &locations {
        if let Err(error) = remove(location, options, args.recursive, verbose) {
            failures.record(error);
        }
    }
    failures.finish()
}

/// Deletes the objects `location` selects.
fn remove(
    location: &Location,
    options: &StorageOptions,
    recursive: bool,
    verbose: bool,
) -> Result<()> {
    let storage = connect(location, options)?;
    let objects = block_on(storage.list(location.selector()))?;

    // A name without a final `/` may still turn out to be a directory.
    if !recursive
        && let Selector::Object(key) = location.selector()
        && !matches!(objects.as_slice(), [object] if object.key == *key)
    {
        return Err(needs_recursive(location));
    }

    let storage = &storage;
    block_on(
        stream::iter(&objects)
            .map(|object| async move { storage.delete(&object.key).await.map(|()| object) })
            .buffer_unordered(DELETES_IN_FLIGHT)
            .try_for_each(|object| {
                if verbose {
                    eprintln!("deleted {}", object.url());
                }
                async { Ok(()) }
            }),
    )?;
    Ok(())
}

/// The refusal to delete everything `location` selects without --recursive.
fn needs_recursive(location: &Location) -> anyhow::Error {
    anyhow!(
        "not deleting {location}: it is a prefix, a directory or a glob; \
         add --recursive (-r) to delete every object it selects"
    )
}

/// Parses every location, failing on the first that does not parse.
fn parse_all(urls: &[String]) -> Result<Vec<Location>> {
    urls.iter()
        .map(|url| Location::parse(url).map_err(anyhow::Error::from))
        .collect()
}

/// Connects to the store holding `location`.
fn connect(location: &Location, options: &StorageOptions) -> Result<Storage, StorageError> {
    Storage::connect(location.store_url(), options)
}

/// Whether `path` is `-`, standard input or output.
fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

/// Parses `--range`: `START..END` or `START..`, byte offsets.
fn parse_range(text: &str) -> Result<ByteRange, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or("expected START..END or START.., such as 0..1024 or 4096..")?;
    let offset = |text: &str| {
        text.trim()
            .parse::<u64>()
            .map_err(|_| format!("`{text}` is not a byte offset"))
    };
    let start = offset(start)?;
    let end = if end.is_empty() {
        None
    } else {
        Some(offset(end)?)
    };
    if let Some(end) = end
        && end < start
    {
        return Err(format!("the range ends at {end}, before its start {start}"));
    }
    Ok(ByteRange { start, end })
}

/// The failures of a command over several items: each is reported as it
/// happens, so that one bad item does not hide or stop the others.
struct Failures {
    failed: usize,
    total: usize,
}

impl Failures {
    fn new(total: usize) -> Failures {
        Failures { failed: 0, total }
    }

    fn record(&mut self, error: anyhow::Error) {
        report::report(&error);
        self.failed += 1;
    }

    /// Success if nothing failed; otherwise an error that only sets the exit
    /// status, the failures having been reported already.
    fn finish(self) -> Result<()> {
        if self.failed == 0 {
            return Ok(());
        }
        Err(AlreadyReported {
            failed: self.failed,
            total: self.total,
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(destination: Selector, file: &str, several: bool) -> Result<String> {
        upload_key("URL", &destination, Path::new(file), several)
    }

    #[test]
    fn upload_keys() {
        let object = || Selector::Object("data/out.txt".into());
        let prefix = || Selector::Prefix("data".into());
        assert_eq!(key(object(), "/tmp/a.txt", false).unwrap(), "data/out.txt");
        assert_eq!(key(object(), "-", false).unwrap(), "data/out.txt");
        assert_eq!(
            key(object(), "/tmp/a.txt", true).unwrap(),
            "data/out.txt/a.txt"
        );
        assert_eq!(
            key(prefix(), "../a b ü.txt", false).unwrap(),
            "data/a b ü.txt"
        );
        assert_eq!(
            key(Selector::Prefix(String::new()), "a", true).unwrap(),
            "a"
        );

        let stdin = key(prefix(), "-", false).unwrap_err().to_string();
        assert!(stdin.contains("standard input"), "{stdin}");
        let glob = key(Selector::Glob("data/*".into()), "a", false).unwrap_err();
        assert!(glob.to_string().contains("glob"), "{glob}");
        assert!(key(prefix(), "/", false).is_err());
    }

    #[test]
    fn ranges() {
        let range = |start, end| ByteRange { start, end };
        assert_eq!(parse_range("0..1024"), Ok(range(0, Some(1024))));
        assert_eq!(parse_range("4096.."), Ok(range(4096, None)));
        assert_eq!(parse_range("5..5"), Ok(range(5, Some(5))));
        assert!(parse_range("..10").is_err());
        assert!(parse_range("10..5").is_err());
        assert!(parse_range("10").is_err());
        assert!(parse_range("a..b").is_err());

        assert_eq!(clamp(range(2, Some(100)), "u", 10).unwrap(), 2..10);
        assert_eq!(clamp(range(2, None), "u", 10).unwrap(), 2..10);
        assert_eq!(clamp(range(10, None), "u", 10).unwrap(), 10..10);
        assert!(clamp(range(11, None), "u", 10).is_err());
    }

    #[test]
    fn downloads_into_a_directory_keep_the_object_name() {
        let dir = std::env::temp_dir();
        assert_eq!(download_path(&dir, "data/a b.txt"), dir.join("a b.txt"));
        assert_eq!(
            download_path(Path::new("out.txt"), "data/a.txt"),
            PathBuf::from("out.txt")
        );
        assert_eq!(
            download_path(Path::new("new/"), "data/a.txt"),
            PathBuf::from("new/a.txt")
        );
    }
}
