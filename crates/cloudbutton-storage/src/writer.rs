//! [`ObjectWriter`]: a blocking, streaming writer of one object, for
//! producers that make an object piece by piece and must not hold it whole.

use std::io;

use bytes::Bytes;
use object_store::WriteMultipart;

use crate::{Storage, StorageError, block_on};

/// The smallest part S3 accepts in a multipart upload, but for the last.
const S3_MIN_PART: usize = 5 * 1024 * 1024;

/// Writes one object as a stream of bytes, holding at most two parts in
/// memory: the one being filled and the one being sent.
///
/// An object that ends within its first part is sent with one plain put;
/// a larger one goes as a multipart upload. Either way the object appears
/// whole at [`finish`](ObjectWriter::finish), or not at all: dropping the
/// writer unfinished, or a failed write, aborts the upload. Two writers of
/// the same key do not mix: the last to finish replaces the other's object.
///
/// It blocks on the storage [`crate::runtime`], so it must be used from a
/// plain thread, not from async code.
///
/// ```
/// use std::io::Write;
/// use cloudbutton_storage::{Storage, StorageOptions, block_on};
///
/// let storage = Storage::connect("memory://writer-doc", &StorageOptions::default()).unwrap();
/// let mut writer = storage.writer("out/part-00000", 64 * 1024);
/// for line in 0..1000 {
///     writeln!(writer, "line {line}").unwrap();
/// }
/// assert_eq!(writer.finish().unwrap(), 8890);
/// let object = block_on(storage.head("out/part-00000")).unwrap();
/// assert_eq!(object.size, 8890);
/// ```
pub struct ObjectWriter {
    storage: Storage,
    key: String,
    part_size: usize,
    buffer: Vec<u8>,
    upload: Option<WriteMultipart>,
    written: u64,
}

impl Storage {
    /// A streaming writer of the object `key`, sent in parts of about
    /// `part_size` bytes (at least 5 MiB on S3, which refuses smaller
    /// parts). Its memory use is at most twice the part size.
    pub fn writer(&self, key: &str, part_size: usize) -> ObjectWriter {
        let minimum = if self.store_url().starts_with("s3://") {
            S3_MIN_PART
        } else {
            1
        };
        let part_size = part_size.max(minimum);
        ObjectWriter {
            storage: self.clone(),
            key: key.to_owned(),
            part_size,
            buffer: Vec::new(),
            upload: None,
            written: 0,
        }
    }
}

impl ObjectWriter {
    /// The part size in force: what the writer buffers before sending.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// The most memory the writer holds: the part being filled and one
    /// being sent.
    pub fn memory_bound(&self) -> usize {
        2 * self.part_size
    }

    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// URL of the object being written.
    pub fn url(&self) -> String {
        self.storage.url(&self.key)
    }

    /// Sends what is buffered and completes the object; returns its size.
    pub fn finish(mut self) -> Result<u64, StorageError> {
        let buffer = std::mem::take(&mut self.buffer);
        match self.upload.take() {
            None => {
                block_on(self.storage.put(&self.key, Bytes::from(buffer)))?;
            }
            Some(mut upload) => {
                // The upload spawns its part requests: only on the runtime.
                block_on(async {
                    if !buffer.is_empty() {
                        upload.put(Bytes::from(buffer));
                    }
                    upload.finish().await
                })
                .map_err(|error| self.storage.error(&self.key, error))?;
            }
        }
        tracing::trace!(url = %self.url(), size = self.written, "object written");
        Ok(self.written)
    }

    /// Hands the full buffer to the upload, after the previous part is sent.
    fn send_part(&mut self) -> Result<(), StorageError> {
        if self.upload.is_none() {
            let path = self.storage.path(&self.key)?;
            tracing::debug!(url = %self.url(), "multipart upload");
            let upload = block_on(self.storage.store().put_multipart(&path))
                .map_err(|error| self.storage.error(&self.key, error))?;
            self.upload = Some(WriteMultipart::new_with_chunk_size(upload, self.part_size));
        }
        let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        let upload = self.upload.as_mut().expect("started above");
        // The upload spawns its part requests: only on the runtime.
        block_on(async {
            upload.wait_for_capacity(1).await?;
            upload.put(Bytes::from(part));
            Ok::<(), object_store::Error>(())
        })
        .map_err(|error| self.storage.error(&self.key, error))
    }

    fn abort(&mut self) {
        if let Some(upload) = self.upload.take()
            && let Err(error) = block_on(upload.abort())
        {
            tracing::debug!(url = %self.url(), %error, "aborting upload failed");
        }
    }
}

impl io::Write for ObjectWriter {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let accepted = data.len();
        while !data.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(self.part_size);
            }
            let room = self.part_size - self.buffer.len();
            let taken = room.min(data.len());
            self.buffer.extend_from_slice(&data[..taken]);
            data = &data[taken..];
            if self.buffer.len() == self.part_size {
                self.send_part().map_err(|error| {
                    self.abort();
                    io::Error::new(error.io_kind(), error)
                })?;
            }
        }
        self.written += accepted as u64;
        Ok(accepted)
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(drop)
    }

    /// Does nothing: parts are sent as they fill, and the object is
    /// completed by [`ObjectWriter::finish`].
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    /// Aborts an upload that was not finished, so that no partial object
    /// and no orphaned parts remain.
    fn drop(&mut self) {
        self.abort();
    }
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("url", &self.url())
            .field("part_size", &self.part_size)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::StorageOptions;

    fn store(name: &str) -> Storage {
        Storage::connect(&format!("memory://{name}"), &StorageOptions::default()).unwrap()
    }

    fn read(storage: &Storage, key: &str) -> Vec<u8> {
        let size = block_on(storage.head(key)).unwrap().size;
        block_on(storage.get_range(key, 0..size)).unwrap().to_vec()
    }

    #[test]
    fn a_small_object_is_one_put_and_a_large_one_many_parts() {
        let storage = store("writer-sizes");
        for (key, size) in [("empty", 0), ("small", 10), ("exact", 64), ("large", 1000)] {
            let data: Vec<u8> = (0..size).map(|n| (n % 251) as u8).collect();
            let mut writer = storage.writer(key, 64);
            for piece in data.chunks(7) {
                writer.write_all(piece).unwrap();
            }
            assert_eq!(writer.finish().unwrap(), size as u64);
            assert_eq!(read(&storage, key), data, "{key}");
        }
    }

    #[test]
    fn an_unfinished_writer_leaves_no_object() {
        let storage = store("writer-dropped");
        let mut writer = storage.writer("partial", 16);
        writer.write_all(&[1; 100]).unwrap();
        drop(writer);
        assert!(matches!(
            block_on(storage.head("partial")),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn a_local_object_appears_whole_and_an_aborted_one_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect("file:///", &StorageOptions::default()).unwrap();
        let prefix = dir
            .path()
            .to_str()
            .unwrap()
            .trim_start_matches('/')
            .to_owned();
        let key = format!("{prefix}/out/part-00000");
        let mut writer = storage.writer(&key, 1000);
        for _ in 0..10 {
            writer.write_all(&[b'x'; 350]).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), 3500);
        assert_eq!(read(&storage, &key), vec![b'x'; 3500]);

        let mut writer = storage.writer(&format!("{prefix}/out/part-00001"), 1000);
        writer.write_all(&[b'y'; 2500]).unwrap();
        drop(writer);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["part-00000"]);
    }

    #[test]
    fn s3_parts_are_at_least_five_mebibytes() {
        let options = StorageOptions::default();
        let storage = Storage::connect("s3://bucket", &options).unwrap();
        assert_eq!(storage.writer("k", 1024).part_size(), S3_MIN_PART);
        assert_eq!(store("writer-part").writer("k", 1024).part_size(), 1024);
    }
}
