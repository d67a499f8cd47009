//! Streaming a log through one reused buffer per thread, keeping only the
//! lines the rules read.
//!
//! A log is read in pieces into a buffer of [`DEFAULT_BUFFER_BYTES`] that each
//! worker thread keeps for all the logs it streams, so reading costs a kernel
//! copy into memory that is already mapped and in cache, and no page faults or
//! unmapping (unlike mapping the file or reading it whole). Each read is
//! scanned up to its last complete line (the scan of [`crate::scan`]); the
//! partial line at the end is moved to the front of the buffer and completed by
//! the next read, so a line, a CRLF pair or a literal is never cut. The bytes
//! of the lines found are copied into the part's [`StreamedPart::text`] while
//! they are still in cache; nothing else of the log is kept.
//!
//! A regular file is cut into parts of the chunk size that are streamed in
//! parallel with positioned reads. A part owns the lines that start inside its
//! byte range: it skips the bytes up to its first line start and reads past its
//! end to the end of its last line, exactly like the chunks of the mapped scan,
//! so results do not depend on the part size or the thread count. Pipes and
//! decompressed `.gz` logs are streamed front to back as one part.
//!
//! Memory: one buffer per thread, plus the found lines. A line longer than the
//! buffer makes it grow to hold the line (as ripgrep's does); it shrinks back
//! afterwards. So a log with a 100 MB line costs a few times 100 MB while that
//! line is read (BENCHMARKS.md has the figures).

use crate::scan::{self, LineHit};
use std::cell::RefCell;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

/// Size of each thread's read buffer: it and the lines copied out of it stay in
/// the core's L2 cache (measured in BENCHMARKS.md, "casa-judge").
pub const DEFAULT_BUFFER_BYTES: usize = 256 << 10;

/// What streaming one part of a log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamedPart {
    /// Lines of interest in file order: 1-based line numbers counted from the
    /// part's first line, byte offsets in the file.
    pub hits: Vec<LineHit>,
    /// The bytes of the hit lines (without line ends), one after another in hit order.
    pub text: Vec<u8>,
    /// Number of `\n` bytes in the part.
    pub newlines: u64,
    /// Number of bytes the part owns (0: its range holds no line start).
    pub bytes: u64,
    /// The part's last line (without `\n` and `\r`), as [`last_line`] gives it.
    pub last_line: Vec<u8>,
    /// Whether the part's last byte is `\n`.
    pub ends_with_newline: bool,
    /// What is wrong with the part's first line (the file's first line for the
    /// first part) if the file is to be a CASA log ([`crate::first_line_problem`]).
    pub first_line_problem: Option<&'static str>,
}

/// The last line of `bytes` (which start at a line start): the text after the
/// last `\n` that is not the final byte, without a trailing `\r`.
pub fn last_line(bytes: &[u8]) -> &[u8] {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let start = memchr::memrchr(b'\n', trimmed).map_or(0, |i| i + 1);
    crate::record::strip_cr(&trimmed[start..])
}

/// Where a part's bytes come from.
pub enum PartSource<'a> {
    /// The byte range `start..end` of a regular file of `len` bytes (its size
    /// when opened), read with positioned reads. The part owns the lines that
    /// start in the range.
    Range {
        /// The file, shared by all its parts.
        file: &'a File,
        /// First byte of the range.
        start: u64,
        /// Just past the last byte of the range.
        end: u64,
        /// The file's size when opened: nothing past it is read.
        len: u64,
    },
    /// A whole log read front to back (pipe, decompressed gzip).
    Whole(&'a mut dyn Read),
}

/// Why streaming a part stopped.
#[derive(Debug)]
pub enum StreamError {
    /// A read failed.
    Io(std::io::Error),
    /// The file got shorter than it was when opened.
    Shrank,
}

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Streams one part through this thread's buffer of `buffer_bytes`.
pub fn stream_part(
    source: PartSource<'_>,
    buffer_bytes: usize,
) -> Result<StreamedPart, StreamError> {
    let buffer_bytes = buffer_bytes.max(64);
    BUFFER.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() != buffer_bytes {
            *buf = vec![0; buffer_bytes];
        }
        let result = match source {
            PartSource::Range {
                file,
                start,
                end,
                len,
            } => {
                let end = end.min(len);
                if start >= end {
                    return Ok(StreamedPart::default());
                }
                // The first byte delivered is the one before the range, so a part
                // not at the file start can find where its first line starts.
                let first = start.saturating_sub(1);
                let mut at = first;
                let mut fill = |dest: &mut [u8]| -> Result<usize, StreamError> {
                    if at >= len {
                        return Ok(0);
                    }
                    let want = dest.len().min((len - at) as usize);
                    let n = loop {
                        match file.read_at(&mut dest[..want], at) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(StreamError::Io(e)),
                        }
                    };
                    if n == 0 {
                        return Err(StreamError::Shrank);
                    }
                    at += n as u64;
                    Ok(n)
                };
                let stop = (end < len).then(|| end - 1 - first);
                stream(&mut fill, &mut buf, first, start > 0, stop)
            }
            PartSource::Whole(reader) => {
                let mut fill = |dest: &mut [u8]| -> Result<usize, StreamError> {
                    loop {
                        match reader.read(dest) {
                            Ok(n) => return Ok(n),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(StreamError::Io(e)),
                        }
                    }
                };
                stream(&mut fill, &mut buf, 0, false, None)
            }
        };
        if buf.len() != buffer_bytes {
            // A long line made it grow: give the memory back.
            *buf = vec![0; buffer_bytes];
        }
        result
    })
}

/// The streaming loop. `fill` delivers the bytes from file offset `base` on
/// (0 at the end). With `skip_partial`, the bytes up to and including the first
/// `\n` belong to the previous part. With `stop` (relative to `base`), the part
/// ends with the first `\n` at or after that position; otherwise at the end.
fn stream(
    fill: &mut dyn FnMut(&mut [u8]) -> Result<usize, StreamError>,
    buf: &mut Vec<u8>,
    base: u64,
    skip_partial: bool,
    stop: Option<u64>,
) -> Result<StreamedPart, StreamError> {
    let (text, hits) = spare_memory();
    let mut part = StreamedPart {
        text,
        hits,
        ..StreamedPart::default()
    };
    let mut filled = 0usize;
    let mut buf_start = 0u64; // position of buf[0], relative to `base`
    if skip_partial {
        loop {
            let n = fill(&mut buf[..])?;
            if n == 0 {
                return Ok(part);
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                buf.copy_within(i + 1..n, 0);
                filled = n - i - 1;
                buf_start += (i + 1) as u64;
                break;
            }
            buf_start += n as u64;
        }
        if stop.is_some_and(|s| buf_start > s) {
            return Ok(part); // the first line starting here lies past the range
        }
    }
    let mut eof = false;
    let mut first_batch = true;
    loop {
        while filled < buf.len() && !eof {
            let n = fill(&mut buf[filled..])?;
            if n == 0 {
                eof = true;
            }
            filled += n;
        }
        let data = &buf[..filled];
        // The part's end inside the buffer: the newline ending the line at `stop`.
        let at_stop = stop.and_then(|s| {
            let from = usize::try_from(s.checked_sub(buf_start)?).ok()?;
            let q = memchr::memchr(b'\n', data.get(from..)?)?;
            Some(from + q + 1)
        });
        let (batch, last) = match at_stop {
            Some(end) => (end, true),
            None if eof => (filled, true),
            None => {
                // Hold the last line back (even when complete), so the final
                // batch always holds the part's last line.
                match memchr::memrchr(b'\n', &data[..filled - 1]) {
                    Some(p) => (p + 1, false),
                    None => {
                        // One line fills the buffer: make room for the rest of it.
                        let grown = buf.len() * 2;
                        buf.resize(grown, 0);
                        continue;
                    }
                }
            }
        };
        let bytes = &buf[..batch];
        take_batch(bytes, base + buf_start, &mut part);
        if first_batch {
            let end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
            part.first_line_problem = crate::first_line_problem(&bytes[..end]);
            first_batch = false;
        }
        if last {
            part.last_line = last_line(bytes).to_vec();
            part.ends_with_newline = bytes.last() == Some(&b'\n');
            return Ok(part);
        }
        buf.copy_within(batch..filled, 0);
        filled -= batch;
        buf_start += batch as u64;
    }
}

/// A log to stream.
pub enum StreamInput {
    /// A regular file and its size when opened: streamed in parts in parallel.
    File {
        /// The open file.
        file: File,
        /// Its size when opened; nothing past it is read.
        len: u64,
    },
    /// Anything else, read front to back as one part (pipes, decompressed gzip).
    Sequential(Box<dyn Read + Send>),
}

/// What streaming a whole log found: its parts in file order, line numbers
/// made absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamedLog {
    /// The parts; each part's hits have absolute line numbers and their bytes
    /// in the part's text.
    pub parts: Vec<StreamedPart>,
    /// Number of lines (a last line without `\n` counts).
    pub line_count: u64,
    /// Number of bytes.
    pub bytes: u64,
    /// The last line (without its line end).
    pub last_line: Vec<u8>,
    /// What is wrong with the first line if the log is to be a CASA log.
    pub first_line_problem: Option<&'static str>,
}

impl StreamedLog {
    /// Joins a log's parts (in file order): line numbers become absolute.
    fn join(mut parts: Vec<StreamedPart>) -> StreamedLog {
        let mut log = StreamedLog {
            first_line_problem: parts.first().and_then(|p| p.first_line_problem),
            ..StreamedLog::default()
        };
        let mut ends_with_newline = true;
        for part in &mut parts {
            let base = log.line_count;
            for hit in &mut part.hits {
                hit.line += base;
            }
            log.line_count += part.newlines;
            if part.bytes > 0 {
                log.bytes += part.bytes;
                log.last_line = std::mem::take(&mut part.last_line);
                ends_with_newline = part.ends_with_newline;
            }
        }
        if !ends_with_newline {
            log.line_count += 1;
        }
        log.parts = parts;
        log
    }
}

/// Streams one log on the current rayon pool, a regular file in parts of
/// `part_bytes` in parallel, each thread through its buffer of `buffer_bytes`.
pub fn stream_log(
    input: StreamInput,
    part_bytes: usize,
    buffer_bytes: usize,
) -> Result<StreamedLog, StreamError> {
    use rayon::prelude::*;
    let parts = match input {
        StreamInput::Sequential(mut reader) => {
            vec![stream_part(PartSource::Whole(&mut *reader), buffer_bytes)?]
        }
        StreamInput::File { file, len } => {
            let part_bytes = part_bytes.max(1) as u64;
            let count = len.div_ceil(part_bytes).max(1);
            (0..count)
                .into_par_iter()
                .map(|i| {
                    let start = i * part_bytes;
                    let source = PartSource::Range {
                        file: &file,
                        start,
                        end: start.saturating_add(part_bytes).min(len),
                        len,
                    };
                    stream_part(source, buffer_bytes)
                })
                .collect::<Result<_, _>>()?
        }
    };
    Ok(StreamedLog::join(parts))
}

/// The memory of judged logs' parts, for the parts of the next logs: reusing it
/// saves the kernel handing out (and zeroing) fresh pages for every log.
static SPARE: Mutex<Vec<(Vec<u8>, Vec<LineHit>)>> = Mutex::new(Vec::new());

/// At most this many parts' memory is kept for reuse ...
const SPARE_PARTS: usize = 64;
/// ... and none larger than this (a part holding a huge line).
const SPARE_MAX_BYTES: usize = 4 << 20;

fn spare_memory() -> (Vec<u8>, Vec<LineHit>) {
    SPARE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop()
        .unwrap_or_default()
}

impl StreamedLog {
    /// Gives the parts' memory back for the next logs to be streamed.
    pub fn recycle(self) {
        let mut spare = SPARE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for mut part in self.parts {
            if spare.len() < SPARE_PARTS && part.text.capacity() <= SPARE_MAX_BYTES {
                part.text.clear();
                part.hits.clear();
                spare.push((part.text, part.hits));
            }
        }
    }
}

/// Scans one batch of whole lines starting at file offset `offset` and copies
/// its hit lines out.
fn take_batch(bytes: &[u8], offset: u64, part: &mut StreamedPart) {
    let first = part.hits.len();
    let offset = offset as usize;
    part.newlines += scan::scan_into(bytes, offset, part.newlines, &mut part.hits);
    for hit in &part.hits[first..] {
        part.text
            .extend_from_slice(&bytes[hit.start - offset..hit.end - offset]);
    }
    part.bytes += bytes.len() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{scan_files, FileScan};

    /// Streams `bytes` as a file cut into parts of `part_bytes`, through a
    /// buffer of `buffer_bytes`, and joins the parts like the engine does.
    fn streamed(
        bytes: &[u8],
        part_bytes: u64,
        buffer_bytes: usize,
    ) -> (FileScan, Vec<Vec<u8>>, Vec<u8>) {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        let len = bytes.len() as u64;
        let mut scan = FileScan::default();
        let mut lines = Vec::new();
        let mut last = Vec::new();
        let mut ends_with_newline = true;
        let mut start = 0;
        while start < len.max(1) {
            let end = (start + part_bytes).min(len);
            let part = stream_part(
                PartSource::Range {
                    file: &file,
                    start,
                    end,
                    len,
                },
                buffer_bytes,
            )
            .unwrap();
            let mut pos = 0;
            for hit in &part.hits {
                let n = hit.end - hit.start;
                lines.push(part.text[pos..pos + n].to_vec());
                pos += n;
                scan.hits.push(LineHit {
                    line: hit.line + scan.line_count,
                    ..*hit
                });
            }
            assert_eq!(pos, part.text.len());
            scan.line_count += part.newlines;
            if part.bytes > 0 {
                last = part.last_line;
                ends_with_newline = part.ends_with_newline;
            }
            start = end.max(start + 1);
        }
        if !ends_with_newline {
            scan.line_count += 1;
        }
        (scan, lines, last)
    }

    /// The streamed result equals the scan of the whole bytes, for many part and buffer sizes.
    fn assert_streams_like_the_whole(bytes: &[u8], what: &str) {
        let reference = &scan_files(&[bytes], usize::MAX)[0];
        let reference_lines: Vec<Vec<u8>> = reference
            .hits
            .iter()
            .map(|h| bytes[h.start..h.end].to_vec())
            .collect();
        let reference_last = if bytes.is_empty() {
            Vec::new()
        } else {
            last_line(bytes).to_vec()
        };
        for part_bytes in [1, 7, 64, 333, 4096, u64::MAX / 4] {
            for buffer_bytes in [64, 100, 256, 1000, 1 << 16] {
                let (scan, lines, last) = streamed(bytes, part_bytes, buffer_bytes);
                let case = format!("{what}: part {part_bytes} buffer {buffer_bytes}");
                assert_eq!(&scan, reference, "{case}");
                assert_eq!(lines, reference_lines, "{case}");
                assert_eq!(last, reference_last, "{case}");
            }
        }
    }

    const RECORD: &[u8] = b"2026-11-25 13:30:58\tINFO\tx::casa\tsome ordinary message text";
    const SEVERE: &[u8] = b"2026-11-25 13:30:58\tSEVERE\ty::z\tsomething failed";

    #[test]
    fn lines_crlf_and_literals_across_buffer_ends() {
        // Every shift of a SEVERE line, a CRLF line end and a literal against the
        // buffer ends and part bounds: prefixes of 0..200 bytes before them.
        for shift in (0..200).step_by(7) {
            let mut bytes = vec![b'a'; shift];
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(SEVERE);
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(RECORD);
            bytes.extend_from_slice(b" Begin Task: tclean\n");
            bytes.extend_from_slice(RECORD);
            bytes.extend_from_slice(b"\r\n\n\n");
            bytes.extend_from_slice(SEVERE);
            assert_streams_like_the_whole(&bytes, &format!("shift {shift}"));
            bytes.extend_from_slice(b"\r\n");
            assert_streams_like_the_whole(&bytes, &format!("shift {shift} CRLF end"));
        }
    }

    #[test]
    fn lines_longer_than_the_buffer() {
        let mut long = SEVERE.to_vec();
        long.resize(5000, b'y');
        let mut plain = RECORD.to_vec();
        plain.resize(3000, b'z');
        let mut bytes = Vec::new();
        for piece in [&long[..], RECORD, &plain, SEVERE, &long, &plain] {
            bytes.extend_from_slice(piece);
            bytes.push(b'\n');
        }
        assert_streams_like_the_whole(&bytes, "long lines");
        bytes.extend_from_slice(&long);
        assert_streams_like_the_whole(&bytes, "long last line");
    }

    #[test]
    fn empty_and_tiny_inputs() {
        for bytes in [&b""[..], b"\n", b"\n\n", b"x", b"x\n", b"\r\n", SEVERE] {
            assert_streams_like_the_whole(bytes, &format!("{bytes:?}"));
        }
    }

    #[test]
    fn first_line_is_checked() {
        let mut bytes = RECORD.to_vec();
        bytes.push(b'\n');
        bytes.extend_from_slice(SEVERE);
        let mut reader: &[u8] = &bytes;
        let part = stream_part(PartSource::Whole(&mut reader), 64).unwrap();
        assert_eq!(part.first_line_problem, None);
        assert_eq!(part.last_line, SEVERE);
        assert_eq!(part.text, SEVERE);
        assert_eq!((part.newlines, part.bytes), (1, bytes.len() as u64));
        assert!(!part.ends_with_newline);
        let mut binary: &[u8] = b"\0\0\n";
        let part = stream_part(PartSource::Whole(&mut binary), 64).unwrap();
        assert_eq!(part.first_line_problem, Some(crate::NOT_A_LOG_BINARY));
    }

    #[test]
    fn a_file_that_shrinks_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &RECORD.repeat(10)).unwrap();
        let source = PartSource::Range {
            file: &file,
            start: 0,
            end: 10_000,
            len: 10_000,
        };
        assert!(matches!(stream_part(source, 256), Err(StreamError::Shrank)));
    }
}
