//! Checks the local filesystem store needs beyond what `object_store` does.

use std::fs::FileType;
use std::path::PathBuf;

use crate::StorageError;

/// Fails with [`StorageError::NotAFile`] if the local object `key` (an
/// absolute path without its leading `/`) exists but is neither a regular
/// file nor a directory.
///
/// `object_store` opens a path to read its size, and opening a named pipe
/// blocks until some other process writes to it, so the check must come
/// first. A path that cannot be inspected passes, and the store reports
/// what is wrong with it; so does a directory, which the caller may list
/// instead.
pub(crate) async fn refuse_special_file(url: &str, key: &str) -> Result<(), StorageError> {
    let path = PathBuf::from(format!("/{key}"));
    let Ok(metadata) = tokio::fs::metadata(&path).await else {
        return Ok(());
    };
    let file_type = metadata.file_type();
    if file_type.is_file() || file_type.is_dir() {
        return Ok(());
    }
    Err(StorageError::NotAFile {
        url: url.to_string(),
        kind: kind_name(file_type),
    })
}

/// What a file that is neither regular nor a directory is, in a user's words.
#[cfg_attr(not(unix), allow(unused_variables))]
fn kind_name(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;

        if file_type.is_fifo() {
            return "named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "device";
        }
    }
    "special file"
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_as_such() {
        let null = std::fs::metadata("/dev/null").unwrap();
        assert_eq!(kind_name(null.file_type()), "device");
    }
}
