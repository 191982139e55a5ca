//! Writing objects: one request for small ones, a multipart upload for large
//! ones, so that neither a large `Bytes` nor a large file is sent in one piece.

use std::path::Path as FsPath;

use bytes::{BufMut, Bytes, BytesMut};
use object_store::WriteMultipart;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{Storage, StorageError};

/// Objects larger than this are written by multipart upload, in parts of this
/// size (S3 needs parts of at least 5 MiB).
pub const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;

/// Parts of one multipart upload in flight at once.
const MAX_PARTS_IN_FLIGHT: usize = 4;

/// How much more to read at a time into a part buffer.
const READ_STEP: usize = 1024 * 1024;

impl Storage {
    /// Writes `data` as the object `key`, replacing it if it exists. Above
    /// [`MULTIPART_THRESHOLD`] bytes the object is sent as a multipart upload.
    /// Readers never see a partial object.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        let path = self.path(key)?;
        tracing::trace!(url = %self.url(key), size = data.len(), "put");
        if data.len() <= MULTIPART_THRESHOLD {
            self.store()
                .put(&path, data.into())
                .await
                .map_err(|error| self.error(key, error))?;
            return Ok(());
        }

        let mut upload = self.start_multipart(key).await?;
        let sent = async {
            for start in (0..data.len()).step_by(MULTIPART_THRESHOLD) {
                self.wait_for_capacity(key, &mut upload).await?;
                upload.put(data.slice(start..data.len().min(start + MULTIPART_THRESHOLD)));
            }
            Ok(())
        }
        .await;
        self.finish_multipart(key, upload, sent).await
    }

    /// Writes everything `reader` yields as the object `key`, streaming it in
    /// parts so that memory use stays bounded. Returns the number of bytes
    /// written.
    pub async fn put_reader<R>(&self, key: &str, reader: R) -> Result<u64, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let what = format!("the data for {}", self.url(key));
        self.put_from(key, reader, &what).await
    }

    /// Uploads the local file at `file` as the object `key`. Returns the number
    /// of bytes written.
    pub async fn put_file(&self, key: &str, file: &FsPath) -> Result<u64, StorageError> {
        let what = format!("local file {}", file.display());
        let reader =
            tokio::fs::File::open(file)
                .await
                .map_err(|source| StorageError::Unreadable {
                    what: what.clone(),
                    source,
                })?;
        self.put_from(key, reader, &what).await
    }

    /// Reads the first part: if the reader ends within it, one plain put;
    /// otherwise a multipart upload of this part and the rest.
    async fn put_from<R>(&self, key: &str, mut reader: R, what: &str) -> Result<u64, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let mut part = read_part(&mut reader, what).await?;
        if part.len() < MULTIPART_THRESHOLD {
            let written = part.len() as u64;
            self.put(key, part).await?;
            return Ok(written);
        }

        let mut upload = self.start_multipart(key).await?;
        let mut written = 0;
        let sent = async {
            while !part.is_empty() {
                written += part.len() as u64;
                let last = part.len() < MULTIPART_THRESHOLD;
                self.wait_for_capacity(key, &mut upload).await?;
                upload.put(part);
                if last {
                    break;
                }
                part = read_part(&mut reader, what).await?;
            }
            Ok(())
        }
        .await;
        self.finish_multipart(key, upload, sent).await?;
        Ok(written)
    }

    async fn start_multipart(&self, key: &str) -> Result<WriteMultipart, StorageError> {
        let path = self.path(key)?;
        tracing::debug!(url = %self.url(key), "multipart upload");
        let upload = self
            .store()
            .put_multipart(&path)
            .await
            .map_err(|error| self.error(key, error))?;
        Ok(WriteMultipart::new_with_chunk_size(
            upload,
            MULTIPART_THRESHOLD,
        ))
    }

    /// Waits until fewer than [`MAX_PARTS_IN_FLIGHT`] parts are being sent.
    async fn wait_for_capacity(
        &self,
        key: &str,
        upload: &mut WriteMultipart,
    ) -> Result<(), StorageError> {
        upload
            .wait_for_capacity(MAX_PARTS_IN_FLIGHT)
            .await
            .map_err(|error| self.error(key, error))
    }

    /// Completes the upload if every part was handed over, or aborts it so
    /// that no partial object and no orphaned parts remain.
    async fn finish_multipart(
        &self,
        key: &str,
        upload: WriteMultipart,
        sent: Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        match sent {
            Ok(()) => {
                upload
                    .finish()
                    .await
                    .map_err(|error| self.error(key, error))?;
                Ok(())
            }
            Err(error) => {
                if let Err(abort) = upload.abort().await {
                    tracing::debug!(url = %self.url(key), %abort, "aborting upload failed");
                }
                Err(error)
            }
        }
    }
}

/// Reads up to one part from `reader`: exactly [`MULTIPART_THRESHOLD`] bytes
/// unless the reader ends first.
async fn read_part<R>(reader: &mut R, what: &str) -> Result<Bytes, StorageError>
where
    R: AsyncRead + Unpin,
{
    let mut part = BytesMut::new();
    while part.len() < MULTIPART_THRESHOLD {
        let wanted = (MULTIPART_THRESHOLD - part.len()).min(READ_STEP);
        part.reserve(wanted);
        let read = reader
            .read_buf(&mut (&mut part).limit(wanted))
            .await
            .map_err(|source| StorageError::Unreadable {
                what: what.to_string(),
                source,
            })?;
        if read == 0 {
            break;
        }
    }
    Ok(part.freeze())
}
