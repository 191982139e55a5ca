//! Record delimiters, and the byte search that finds them.

use std::fmt;

use memchr::memmem;

use crate::PartitionError;

/// The bytes that end a record, such as `"\n"`.
///
/// A delimiter is non-empty and cannot overlap itself: no proper prefix of it
/// equals a suffix of it. `"\n"`, `"\r\n"`, `"|;"` and `"END"` are accepted;
/// `"aa"`, `"||"` and `"abab"` are not (in `"|||"`, `"||"` occurs twice,
/// overlapping, so it is unclear where a record would start). This is what lets a chunk reader that starts
/// in the middle of an object trust the first match it finds: in an object,
/// occurrences of such a delimiter never overlap, so a scan from any offset
/// finds exactly the occurrences a scan from offset 0 would find.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Delimiter(Vec<u8>);

impl Delimiter {
    /// Checks and wraps `bytes` as a delimiter.
    ///
    /// # Errors
    ///
    /// [`PartitionError::EmptyDelimiter`] when `bytes` is empty, and
    /// [`PartitionError::SelfOverlappingDelimiter`] when a proper prefix of
    /// `bytes` equals a suffix of it.
    ///
    /// ```
    /// use cloudbutton_partition::Delimiter;
    ///
    /// assert!(Delimiter::new("\r\n").is_ok());
    /// assert!(Delimiter::new("abab").is_err());
    /// ```
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Self, PartitionError> {
        let bytes = bytes.as_ref();
        if bytes.is_empty() {
            return Err(PartitionError::EmptyDelimiter);
        }

        // The longest overlap is found first, so the error names it.
        let overlap = (1..bytes.len())
            .rev()
            .find(|&k| bytes[..k] == bytes[bytes.len() - k..]);
        if let Some(overlap) = overlap {
            return Err(PartitionError::SelfOverlappingDelimiter {
                delimiter: bytes.escape_ascii().to_string(),
                overlap,
            });
        }

        Ok(Self(bytes.to_vec()))
    }

    /// The newline delimiter, `"\n"`. Lines ending in `"\r\n"` split cleanly
    /// with it too, since the `'\r'` stays at the end of its record.
    pub fn newline() -> Self {
        Self(vec![b'\n'])
    }

    /// The delimiter's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The delimiter's length in bytes, at least 1.
    #[allow(clippy::len_without_is_empty, reason = "a delimiter is never empty")]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delimiter(\"{}\")", self.0.escape_ascii())
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl AsRef<[u8]> for Delimiter {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A precompiled search for one delimiter.
pub(crate) enum Matcher {
    /// A one-byte delimiter: `memchr`.
    Byte(u8),
    /// A longer delimiter: a `memmem` finder built once per reader.
    Bytes(Box<memmem::Finder<'static>>),
}

impl Matcher {
    pub(crate) fn new(delimiter: &Delimiter) -> Self {
        match delimiter.as_bytes() {
            [byte] => Self::Byte(*byte),
            bytes => Self::Bytes(Box::new(memmem::Finder::new(bytes).into_owned())),
        }
    }

    /// The offset in `haystack` of the first occurrence that lies wholly
    /// inside it.
    pub(crate) fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            Self::Byte(byte) => memchr::memchr(*byte, haystack),
            Self::Bytes(finder) => finder.find(haystack),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_delimiters_that_cannot_overlap_themselves() {
        for ok in ["\n", "\r\n", "|;", "END", "ab", "aab", "abb", "\u{e9}"] {
            assert!(Delimiter::new(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn rejects_self_overlapping_delimiter() {
        for (bad, overlap) in [
            ("aa", 1),
            ("||", 1),
            ("abab", 2),
            ("aba", 1),
            ("aaa", 2),
            ("abcab", 2),
        ] {
            assert_eq!(
                Delimiter::new(bad),
                Err(PartitionError::SelfOverlappingDelimiter {
                    delimiter: bad.to_string(),
                    overlap
                }),
            );
        }
        let message = Delimiter::new("abab").unwrap_err().to_string();
        assert!(message.contains("\"abab\" overlaps itself"), "{message}");
    }

    #[test]
    fn rejects_empty_delimiter() {
        assert_eq!(Delimiter::new(""), Err(PartitionError::EmptyDelimiter));
    }

    #[test]
    fn matcher_finds_first_occurrence() {
        let matcher = Matcher::new(&Delimiter::new("\r\n").unwrap());
        assert_eq!(matcher.find(b"ab\r\ncd\r\n"), Some(2));
        assert_eq!(matcher.find(b"ab\r"), None);
        let matcher = Matcher::new(&Delimiter::newline());
        assert_eq!(matcher.find(b"ab\ncd"), Some(2));
    }
}
