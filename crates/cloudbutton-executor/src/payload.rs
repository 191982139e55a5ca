//! The bytes that a program-like function reads: WebAssembly modules and
//! commands take their input as a byte stream, whichever task feeds them.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::chunk::Chunk;
use crate::context::TaskContext;

/// A task's input as bytes: a chunk of an object in storage, or bytes that
/// travel with the task, such as the outputs of map tasks for a reducer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// The records of a chunk, read from storage where the task runs.
    Chunk(Chunk),
    /// These bytes.
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// These byte strings, one after another.
    Parts(Vec<serde_bytes::ByteBuf>),
}

impl Payload {
    /// A stream of the payload's bytes.
    pub fn reader<'a>(&'a self, ctx: &TaskContext) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Payload::Chunk(chunk) => Box::new(chunk.open(ctx)?),
            Payload::Bytes(bytes) => Box::new(bytes.as_slice()),
            Payload::Parts(parts) => Box::new(Parts {
                parts: parts.iter().map(|part| part.as_slice()).collect(),
                next: 0,
            }),
        })
    }

    /// All of the payload's bytes.
    pub fn read_all(&self, ctx: &TaskContext) -> io::Result<Vec<u8>> {
        match self {
            Payload::Bytes(bytes) => Ok(bytes.clone()),
            Payload::Parts(parts) => {
                Ok(parts.iter().flat_map(|part| part.iter().copied()).collect())
            }
            Payload::Chunk(chunk) => {
                let mut bytes = Vec::with_capacity(
                    chunk.range().end.saturating_sub(chunk.range().start) as usize,
                );
                chunk.open(ctx)?.read_to_end(&mut bytes)?;
                Ok(bytes)
            }
        }
    }

    /// What the payload is, for error messages: the chunk's object and
    /// range, or the number of bytes.
    pub fn describe(&self) -> String {
        match self {
            Payload::Chunk(chunk) => {
                let range = chunk.range();
                format!("{} bytes {}..{}", chunk.url(), range.start, range.end)
            }
            Payload::Bytes(bytes) => format!("{} bytes of input", bytes.len()),
            Payload::Parts(parts) => format!(
                "{} bytes in {} parts",
                parts.iter().map(|part| part.len()).sum::<usize>(),
                parts.len()
            ),
        }
    }
}

/// Reads byte strings one after another.
struct Parts<'a> {
    parts: Vec<&'a [u8]>,
    next: usize,
}

impl Read for Parts<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(part) = self.parts.get_mut(self.next) {
            if part.is_empty() {
                self.next += 1;
                continue;
            }
            return part.read(buf);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_read_as_one_stream() {
        let payload = Payload::Parts(vec![
            serde_bytes::ByteBuf::from(b"ab".to_vec()),
            serde_bytes::ByteBuf::new(),
            serde_bytes::ByteBuf::from(b"c\n".to_vec()),
        ]);
        let ctx = TaskContext::detached(0);
        let mut text = String::new();
        payload
            .reader(&ctx)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "abc\n");
        assert_eq!(payload.read_all(&ctx).unwrap(), b"abc\n");
        assert_eq!(payload.describe(), "4 bytes in 3 parts");
    }

    #[test]
    fn bytes_survive_the_wire_as_binary() {
        let payload = Payload::Bytes(vec![0, 255, 10]);
        let encoded = crate::codec::encode(&payload).unwrap();
        // MessagePack bin: far smaller than an array of numbers would be.
        assert!(encoded.len() < 16, "{encoded:?}");
        assert_eq!(crate::codec::decode::<Payload>(&encoded).unwrap(), payload);
    }
}
