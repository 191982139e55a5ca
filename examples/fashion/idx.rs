//! The IDX format of the MNIST family of data sets: a magic number (two
//! zero bytes, the element type, the number of dimensions), each dimension
//! as a big-endian u32, then the elements in row-major order. Fashion-MNIST
//! uses unsigned bytes: images of 28x28 pixels (3 dimensions) and labels
//! (1 dimension).
//!
//! A file is checked when it is opened (magic, dimensions, and a length that
//! holds every item its header promises), so that reading a range of items
//! later cannot run short; every error names the file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Pixels of one image.
pub const PIXELS: usize = 28 * 28;

/// What went wrong with an IDX file; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file is not there (or cannot be opened).
    #[error("cannot open {}: {source} (scripts/fetch-data.sh fashion-mnist fetches it)", .path.display())]
    Open { path: PathBuf, source: io::Error },

    /// Reading failed after the file was opened.
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },

    /// The magic number or the dimensions are not those of the expected kind.
    #[error("{} is not an IDX file of {what}: {found}", .path.display())]
    Format {
        path: PathBuf,
        what: &'static str,
        found: String,
    },

    /// The file is shorter than its header says.
    #[error("{} is truncated: {len} bytes, but its header promises {expected}", .path.display())]
    Truncated {
        path: PathBuf,
        len: u64,
        expected: u64,
    },

    /// A label outside 0..classes.
    #[error("{}: item {index} is label {label}, but there are only {classes} classes", .path.display())]
    Label {
        path: PathBuf,
        index: usize,
        label: u8,
        classes: u8,
    },

    /// A range of items beyond the end of the file.
    #[error("{}: items {range:?} asked for, but it holds {count}", .path.display())]
    Range {
        path: PathBuf,
        range: Range<usize>,
        count: usize,
    },
}

/// An IDX file of unsigned bytes, checked and ready to be read by ranges of
/// items: 28x28 images or labels.
#[derive(Debug, Clone)]
pub struct Idx {
    path: PathBuf,
    count: usize,
    item_len: usize,
    header_len: u64,
    classes: Option<u8>,
}

impl Idx {
    /// Opens a file of 28x28 images (magic `0x00000803`).
    pub fn images(path: &Path) -> Result<Self, IdxError> {
        let (dims, file_len) = read_header(path, 3, "28x28 images")?;
        if dims[1..] != [28, 28] {
            return Err(IdxError::Format {
                path: path.to_owned(),
                what: "28x28 images",
                found: format!("images of {}x{} pixels", dims[1], dims[2]),
            });
        }
        Self::checked(path, dims[0], PIXELS, 16, file_len, None)
    }

    /// Opens a file of labels (magic `0x00000801`) in `0..classes`.
    pub fn labels(path: &Path, classes: u8) -> Result<Self, IdxError> {
        let (dims, file_len) = read_header(path, 1, "labels")?;
        Self::checked(path, dims[0], 1, 8, file_len, Some(classes))
    }

    fn checked(
        path: &Path,
        count: u32,
        item_len: usize,
        header_len: u64,
        file_len: u64,
        classes: Option<u8>,
    ) -> Result<Self, IdxError> {
        let expected = header_len + u64::from(count) * item_len as u64;
        if file_len < expected {
            return Err(IdxError::Truncated {
                path: path.to_owned(),
                len: file_len,
                expected,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            count: count as usize,
            item_len,
            header_len,
            classes,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many items (images or labels) the file holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// The bytes of the items in `range`, one after the other: 784 pixels
    /// an image, row by row, or one byte a label.
    pub fn read(&self, range: Range<usize>) -> Result<Vec<u8>, IdxError> {
        if range.start > range.end || range.end > self.count {
            return Err(IdxError::Range {
                path: self.path.clone(),
                range,
                count: self.count,
            });
        }
        let read_error = |source| IdxError::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = File::open(&self.path).map_err(|source| IdxError::Open {
            path: self.path.clone(),
            source,
        })?;
        let offset = self.header_len + (range.start * self.item_len) as u64;
        file.seek(SeekFrom::Start(offset)).map_err(read_error)?;
        let mut bytes = vec![0; range.len() * self.item_len];
        file.read_exact(&mut bytes).map_err(read_error)?;

        if let Some(classes) = self.classes
            && let Some(at) = bytes.iter().position(|&label| label >= classes)
        {
            return Err(IdxError::Label {
                path: self.path.clone(),
                index: range.start + at,
                label: bytes[at],
                classes,
            });
        }
        Ok(bytes)
    }
}

/// Reads the magic number and the `dims` dimensions of `path`, checking that
/// they describe unsigned bytes; returns them and the file's length.
fn read_header(path: &Path, dims: usize, what: &'static str) -> Result<(Vec<u32>, u64), IdxError> {
    let mut file = File::open(path).map_err(|source| IdxError::Open {
        path: path.to_owned(),
        source,
    })?;
    let read_error = |source| IdxError::Read {
        path: path.to_owned(),
        source,
    };
    let file_len = file.metadata().map_err(read_error)?.len();
    let header_len = 4 + 4 * dims as u64;
    if file_len < header_len {
        return Err(IdxError::Truncated {
            path: path.to_owned(),
            len: file_len,
            expected: header_len,
        });
    }
    let mut header = vec![0; header_len as usize];
    file.read_exact(&mut header).map_err(read_error)?;

    let magic = u32::from_be_bytes(header[..4].try_into().unwrap());
    let expected = 0x0800 | dims as u32;
    if magic != expected {
        return Err(IdxError::Format {
            path: path.to_owned(),
            what,
            found: format!("magic number {magic:#010x}, expected {expected:#010x}"),
        });
    }
    let dims = header[4..]
        .chunks_exact(4)
        .map(|dim| u32::from_be_bytes(dim.try_into().unwrap()))
        .collect();
    Ok((dims, file_len))
}
