//! A command's stderr: its lines go to the log as they come, and its last
//! few KiB into the error if the command fails.

/// How much of the end of stderr an error shows.
pub(crate) const TAIL: usize = 4096;

/// The longest line logged whole; a longer one is logged in pieces.
const LINE: usize = 4096;

/// Keeps the end of a stream and cuts it into lines.
#[derive(Debug, Default)]
pub(crate) struct StderrTail {
    /// The last bytes seen: between `TAIL` and `2 * TAIL` once that many
    /// came, trimmed in batches so that trimming costs nothing per byte.
    tail: Vec<u8>,
    /// Whether bytes were dropped from the front of `tail`.
    truncated: bool,
    /// The line being read.
    line: Vec<u8>,
}

impl StderrTail {
    /// Takes the next bytes, calling `log` with every line they complete
    /// (without its newline).
    pub(crate) fn feed(&mut self, bytes: &[u8], mut log: impl FnMut(&[u8])) {
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * TAIL {
            self.tail.drain(..self.tail.len() - TAIL);
            self.truncated = true;
        }

        let mut rest = bytes;
        while !rest.is_empty() {
            let room = LINE - self.line.len();
            match rest.iter().take(room).position(|&byte| byte == b'\n') {
                Some(end) => {
                    self.line.extend_from_slice(&rest[..end]);
                    log(&self.line);
                    self.line.clear();
                    rest = &rest[end + 1..];
                }
                None if rest.len() >= room => {
                    self.line.extend_from_slice(&rest[..room]);
                    log(&self.line);
                    self.line.clear();
                    rest = &rest[room..];
                }
                None => {
                    self.line.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
    }

    /// Ends the stream: logs an unfinished last line, and returns the end of
    /// the stream as text, starting at a line where it was cut and without
    /// trailing whitespace.
    pub(crate) fn finish(self, mut log: impl FnMut(&[u8])) -> String {
        if !self.line.is_empty() {
            log(&self.line);
        }

        let mut tail = &self.tail[self.tail.len().saturating_sub(TAIL)..];
        let truncated = self.truncated || tail.len() < self.tail.len();
        if truncated {
            // Start at a whole line when there is one to start at.
            if let Some(newline) = tail.iter().position(|&byte| byte == b'\n')
                && tail[newline + 1..]
                    .iter()
                    .any(|byte| !byte.is_ascii_whitespace())
            {
                tail = &tail[newline + 1..];
            }
        }
        let text = String::from_utf8_lossy(tail);
        let text = text.trim_end();
        if truncated {
            format!("...{text}")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&[u8]]) -> (Vec<String>, String) {
        let mut lines = Vec::new();
        let mut tail = StderrTail::default();
        for piece in pieces {
            tail.feed(piece, |line| {
                lines.push(String::from_utf8_lossy(line).into_owned())
            });
        }
        let text = tail.finish(|line| lines.push(String::from_utf8_lossy(line).into_owned()));
        (lines, text)
    }

    #[test]
    fn lines_split_across_pieces_are_logged_whole() {
        let (lines, text) = run(&[b"first li", b"ne\nsecond\nthi", b"rd"]);
        assert_eq!(lines, ["first line", "second", "third"]);
        assert_eq!(text, "first line\nsecond\nthird");
    }

    #[test]
    fn a_short_stream_is_kept_whole_without_trailing_whitespace() {
        let (_, text) = run(&[b"boom\n\n"]);
        assert_eq!(text, "boom");
        let (lines, text) = run(&[]);
        assert!(lines.is_empty());
        assert_eq!(text, "");
    }

    #[test]
    fn a_long_stream_keeps_its_last_lines_from_a_line_start() {
        let mut pieces = Vec::new();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..1000 {
            pieces.push(line.as_bytes());
        }
        pieces.push(b"the end\n");
        let (lines, text) = run(&pieces);
        assert_eq!(lines.len(), 1001);
        assert!(
            text.starts_with(&format!("...{}\n", "x".repeat(99))),
            "{text}"
        );
        assert!(text.ends_with("\nthe end"), "{text}");
        assert!(text.len() <= TAIL + 3, "{}", text.len());
    }

    #[test]
    fn a_line_without_end_is_logged_in_pieces() {
        let long = vec![b'y'; 3 * LINE + 10];
        let (lines, text) = run(&[&long]);
        assert_eq!(
            lines.iter().map(String::len).collect::<Vec<_>>(),
            [LINE, LINE, LINE, 10]
        );
        assert_eq!(text, format!("...{}", "y".repeat(TAIL)));
    }
}
