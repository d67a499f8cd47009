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
//! buffer makes it grow to hold the line (as ripgrep's does) and shrink back
//! afterwards, but only up to [`KEPT_LINE_BYTES`] (or the buffer size, if that
//! is larger): a longer line is **cut**. Its first [`KEPT_LINE_BYTES`] are
//! kept (enough for the record's time, priority and origin and the start of
//! its message, all the rules read of a SEVERE or WARN record) and the rest is
//! streamed through the buffer, so the newlines are still counted and the line
//! is still a hit when it holds one of the scan's literals anywhere (the last
//! bytes of each read are carried to the next, so a literal across two reads is
//! found). Each cut line is reported ([`CutLine`]), and its hit ends where its
//! kept bytes end. So memory stays bounded whatever the line lengths (a log
//! with a 100 MB line costs a few MB more than one without; BENCHMARKS.md has
//! the figures), and the result is the same as reading the whole log for every
//! log whose lines are no longer than that.

use crate::scan::{self, LineHit};
use std::cell::RefCell;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

/// Size of each thread's read buffer: it and the lines copied out of it stay in
/// the core's L2 cache (measured in BENCHMARKS.md, "casa-judge").
pub const DEFAULT_BUFFER_BYTES: usize = 256 << 10;

/// Longest line kept whole: of a longer line only its first this many bytes
/// are kept (when the buffer is larger, its size less 1 byte instead).
pub const KEPT_LINE_BYTES: usize = 1 << 20;

/// Bytes carried from one read of a cut line to the next: one less than the
/// longest literal of the scan, so a literal across two reads is seen whole.
const CARRY_BYTES: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < scan::INTERESTING.len() {
        if scan::INTERESTING[i].len() > longest {
            longest = scan::INTERESTING[i].len();
        }
        i += 1;
    }
    longest - 1
};

/// A line longer than the streaming read keeps: only its start was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutLine {
    /// 1-based line number (counted from the part's first line in a
    /// [`StreamedPart`], from the log's first line in a [`StreamedLog`]).
    pub line: u64,
    /// The line's length in bytes, without its `\n`.
    pub bytes: u64,
    /// How many of its first bytes were kept.
    pub kept: usize,
    /// Whether it holds one of the scan's literals (anywhere): it is a hit,
    /// its kept bytes in the part's text.
    pub hit: bool,
    /// Whether its kept bytes start a SEVERE or WARN record (time, priority,
    /// origin and the start of the message all kept).
    pub severe_or_warn: bool,
}

impl CutLine {
    /// What evidence taken from this line says about the cut.
    pub fn note(&self) -> String {
        format!(
            " [line {} is {} bytes long: casa-judge read only its first {} bytes]",
            self.line, self.bytes, self.kept
        )
    }

    /// Whether the rules can judge the line from its kept bytes: a line that is
    /// not a hit is only counted; of a SEVERE or WARN record the rules read its
    /// time, priority, origin and the start of its message, which are kept.
    /// Of any other hit line they may read all of it (a record glued into it,
    /// a divergence message), which was not kept.
    pub fn judged_from_its_start(&self) -> bool {
        !self.hit || self.severe_or_warn
    }

    /// The input problem of a log holding this line, when the line cannot be
    /// judged from its start.
    pub fn problem(&self) -> String {
        format!(
            "line {} is {} bytes long and holds a SEVERE, WARN, task, divergence or session \
             mark, but is not a SEVERE or WARN record; casa-judge reads only the first {} \
             bytes of a line, so it cannot judge this log",
            self.line, self.bytes, self.kept
        )
    }
}

/// What streaming one part of a log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamedPart {
    /// Lines of interest in file order: 1-based line numbers counted from the
    /// part's first line, byte offsets in the file (a cut line's hit ends where
    /// its kept bytes end).
    pub hits: Vec<LineHit>,
    /// The bytes of the hit lines (without line ends; of a cut line its kept
    /// bytes), one after another in hit order.
    pub text: Vec<u8>,
    /// Number of `\n` bytes in the part.
    pub newlines: u64,
    /// Number of bytes the part owns (0: its range holds no line start).
    pub bytes: u64,
    /// The part's last line (without `\n` and `\r`), as [`last_line`] gives it
    /// (of a cut line its kept bytes).
    pub last_line: Vec<u8>,
    /// Whether the part's last byte is `\n`.
    pub ends_with_newline: bool,
    /// What is wrong with the part's first line (the file's first line for the
    /// first part) if the file is to be a CASA log ([`crate::first_line_problem`]).
    pub first_line_problem: Option<&'static str>,
    /// The lines longer than the read keeps, in file order.
    pub cut_lines: Vec<CutLine>,
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

/// Streams one part through this thread's buffer of `buffer_bytes`; lines
/// longer than [`KEPT_LINE_BYTES`] (and than the buffer) are cut.
pub fn stream_part(
    source: PartSource<'_>,
    buffer_bytes: usize,
) -> Result<StreamedPart, StreamError> {
    stream_part_keeping(source, buffer_bytes, KEPT_LINE_BYTES)
}

/// [`stream_part`], keeping lines of up to `kept_line_bytes` whole (or up to
/// the buffer size less 1 byte, if that is more); of a longer line only that
/// many of its first bytes are kept.
pub fn stream_part_keeping(
    source: PartSource<'_>,
    buffer_bytes: usize,
    kept_line_bytes: usize,
) -> Result<StreamedPart, StreamError> {
    let buffer_bytes = buffer_bytes.max(64);
    let limit = kept_line_bytes.max(buffer_bytes - 1);
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
                stream(&mut fill, &mut buf, first, start > 0, stop, limit)
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
                stream(&mut fill, &mut buf, 0, false, None, limit)
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
/// Lines longer than `limit` are cut: the buffer grows to `limit + 1` bytes at
/// most, so only a line that starts the buffer can be longer than `limit`, and
/// only when the buffer holds no `\n` but maybe its last byte.
fn stream(
    fill: &mut dyn FnMut(&mut [u8]) -> Result<usize, StreamError>,
    buf: &mut Vec<u8>,
    base: u64,
    skip_partial: bool,
    stop: Option<u64>,
    limit: usize,
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
                    None if buf.len() <= limit => {
                        // One line fills the buffer: make room for the rest of it.
                        let grown = (buf.len() * 2).min(limit + 1);
                        buf.resize(grown, 0);
                        continue;
                    }
                    None => {
                        // The line at the buffer's start has `limit` bytes or more.
                        let line_start = buf_start;
                        let text_at = part.text.len();
                        part.text.extend_from_slice(&buf[..limit]);
                        let long = stream_long_line(fill, buf, &mut filled, &mut eof)?;
                        buf_start += long.bytes + u64::from(long.newline);
                        part.bytes += long.bytes + u64::from(long.newline);
                        let kept = &part.text[text_at..];
                        // Exactly `limit` bytes (then it ends with `\n`): kept whole.
                        let whole = long.bytes <= limit as u64;
                        let cut = CutLine {
                            line: part.newlines + 1,
                            bytes: long.bytes,
                            kept: limit,
                            hit: long.holds_literal,
                            severe_or_warn: crate::record::parse_line(kept)
                                .is_some_and(|r| r.is_severe() || r.is_warn()),
                        };
                        if first_batch {
                            part.first_line_problem = crate::first_line_problem(kept);
                            first_batch = false;
                        }
                        part.newlines += u64::from(long.newline);
                        // The part ends with this line when its `\n` is the part's
                        // end, or at the end of the data (read on to see it).
                        let at_stop = stop.is_some_and(|s| buf_start > s);
                        if long.newline && !at_stop {
                            while filled == 0 && !eof {
                                let n = fill(&mut buf[..])?;
                                eof = n == 0;
                                filled = n;
                            }
                        }
                        let ends_part = !long.newline || at_stop || (eof && filled == 0);
                        if ends_part {
                            part.last_line = if whole {
                                crate::record::strip_cr(kept).to_vec()
                            } else {
                                kept.to_vec()
                            };
                            part.ends_with_newline = long.newline;
                        }
                        if cut.hit {
                            let start = (base + line_start) as usize;
                            part.hits.push(LineHit {
                                line: cut.line,
                                start,
                                end: start + limit,
                            });
                        } else {
                            part.text.truncate(text_at);
                        }
                        if !whole {
                            part.cut_lines.push(cut);
                        }
                        if ends_part {
                            return Ok(part);
                        }
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

/// What streaming the rest of a cut line found.
struct LongLine {
    /// The line's length, without its `\n`.
    bytes: u64,
    /// Whether it ends with `\n` (otherwise the data ends with it).
    newline: bool,
    /// Whether it holds one of the scan's literals.
    holds_literal: bool,
}

/// Streams the line that fills `buf` (it starts at `buf[0]`, and the buffer
/// holds no `\n` but maybe its last byte) to its end: its bytes go through the buffer,
/// the last [`CARRY_BYTES`] of each read carried to the front, and are checked
/// for the scan's literals. On return the buffer holds the `filled` bytes after
/// the line's `\n`.
fn stream_long_line(
    fill: &mut dyn FnMut(&mut [u8]) -> Result<usize, StreamError>,
    buf: &mut [u8],
    filled: &mut usize,
    eof: &mut bool,
) -> Result<LongLine, StreamError> {
    let mut before = 0u64; // bytes of the line no longer in the buffer
    let mut from = 0; // the buffer's bytes before this are line bytes already looked at for `\n`
    let mut holds_literal = false;
    let mut no_hits = Vec::new();
    loop {
        let newline = memchr::memchr(b'\n', &buf[from..*filled]).map(|i| from + i);
        let end = newline.unwrap_or(*filled);
        if !holds_literal {
            // The bytes hold no `\n`: the scan finds them a hit if a literal is in them.
            scan::scan_into(&buf[..end], 0, 0, &mut no_hits);
            holds_literal = !no_hits.is_empty();
        }
        if let Some(at) = newline {
            buf.copy_within(at + 1..*filled, 0);
            *filled -= at + 1;
            return Ok(LongLine {
                bytes: before + at as u64,
                newline: true,
                holds_literal,
            });
        }
        if *eof {
            let bytes = before + *filled as u64;
            *filled = 0;
            return Ok(LongLine {
                bytes,
                newline: false,
                holds_literal,
            });
        }
        let carry = CARRY_BYTES.min(*filled);
        buf.copy_within(*filled - carry..*filled, 0);
        before += (*filled - carry) as u64;
        *filled = carry;
        from = carry;
        while *filled < buf.len() && !*eof {
            let n = fill(&mut buf[*filled..])?;
            *eof = n == 0;
            *filled += n;
        }
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
    /// The lines longer than the read keeps, in file order, line numbers absolute.
    pub cut_lines: Vec<CutLine>,
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
            for cut in &part.cut_lines {
                log.cut_lines.push(CutLine {
                    line: cut.line + base,
                    ..*cut
                });
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

    /// The first cut line the rules cannot judge from its start
    /// ([`CutLine::judged_from_its_start`]): the log cannot be judged.
    pub fn unjudgeable_cut_line(&self) -> Option<&CutLine> {
        self.cut_lines.iter().find(|c| !c.judged_from_its_start())
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

    /// What streaming a file in parts gave, joined like the engine joins it.
    struct Streamed {
        scan: FileScan,
        /// The hit lines' bytes.
        lines: Vec<Vec<u8>>,
        last: Vec<u8>,
        cut_lines: Vec<CutLine>,
        bytes: u64,
        first_line_problem: Option<&'static str>,
    }

    /// Streams `bytes` as a file cut into parts of `part_bytes`, through a
    /// buffer of `buffer_bytes`, keeping lines of up to `kept` bytes whole, and
    /// joins the parts like the engine does.
    fn streamed_keeping(
        bytes: &[u8],
        part_bytes: u64,
        buffer_bytes: usize,
        kept: usize,
    ) -> Streamed {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        let len = bytes.len() as u64;
        let mut out = Streamed {
            scan: FileScan::default(),
            lines: Vec::new(),
            last: Vec::new(),
            cut_lines: Vec::new(),
            bytes: 0,
            first_line_problem: None,
        };
        let mut ends_with_newline = true;
        let mut start = 0;
        while start < len.max(1) {
            let end = (start + part_bytes).min(len);
            let part = stream_part_keeping(
                PartSource::Range {
                    file: &file,
                    start,
                    end,
                    len,
                },
                buffer_bytes,
                kept,
            )
            .unwrap();
            if start == 0 {
                out.first_line_problem = part.first_line_problem;
            }
            let mut pos = 0;
            for hit in &part.hits {
                let n = hit.end - hit.start;
                out.lines.push(part.text[pos..pos + n].to_vec());
                pos += n;
                out.scan.hits.push(LineHit {
                    line: hit.line + out.scan.line_count,
                    ..*hit
                });
            }
            assert_eq!(pos, part.text.len());
            for cut in &part.cut_lines {
                out.cut_lines.push(CutLine {
                    line: cut.line + out.scan.line_count,
                    ..*cut
                });
            }
            out.scan.line_count += part.newlines;
            out.bytes += part.bytes;
            if part.bytes > 0 {
                out.last = part.last_line;
                ends_with_newline = part.ends_with_newline;
            }
            start = end.max(start + 1);
        }
        if !ends_with_newline {
            out.scan.line_count += 1;
        }
        out
    }

    /// [`streamed_keeping`] with the default [`KEPT_LINE_BYTES`].
    fn streamed(bytes: &[u8], part_bytes: u64, buffer_bytes: usize) -> Streamed {
        streamed_keeping(bytes, part_bytes, buffer_bytes, KEPT_LINE_BYTES)
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
                let got = streamed(bytes, part_bytes, buffer_bytes);
                let case = format!("{what}: part {part_bytes} buffer {buffer_bytes}");
                assert_eq!(&got.scan, reference, "{case}");
                assert_eq!(got.lines, reference_lines, "{case}");
                assert_eq!(got.last, reference_last, "{case}");
                assert_eq!(got.cut_lines, [], "{case}");
                assert_eq!(got.bytes, bytes.len() as u64, "{case}");
            }
        }
    }

    /// The lines of `bytes` (without `\n`) with their 1-based numbers.
    fn numbered_lines(bytes: &[u8]) -> Vec<(u64, &[u8])> {
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if bytes.is_empty() {
            return Vec::new();
        }
        body.split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, line)| (i as u64 + 1, line))
            .collect()
    }

    /// Streaming that keeps lines of up to `kept` bytes equals the scan of the
    /// whole bytes with every longer line cut to its first `kept` bytes (its hit
    /// ending there) and reported, for many part and buffer sizes (all buffers
    /// at most `kept + 1` bytes, so `kept` is the limit).
    fn assert_streams_cut(bytes: &[u8], kept: usize, what: &str) {
        let reference = &scan_files(&[bytes], usize::MAX)[0];
        let lines = numbered_lines(bytes);
        let mut want = reference.clone();
        let mut want_lines = Vec::new();
        for hit in &mut want.hits {
            hit.end = hit.end.min(hit.start + kept);
            want_lines.push(bytes[hit.start..hit.end].to_vec());
        }
        let want_cut: Vec<CutLine> = lines
            .iter()
            .filter(|(_, line)| line.len() > kept)
            .map(|&(number, line)| CutLine {
                line: number,
                bytes: line.len() as u64,
                kept,
                hit: reference.hits.iter().any(|h| h.line == number),
                severe_or_warn: crate::record::parse_line(&line[..kept])
                    .is_some_and(|r| r.is_severe() || r.is_warn()),
            })
            .collect();
        let want_last = match lines.last() {
            None => Vec::new(),
            Some((_, line)) if line.len() > kept => line[..kept].to_vec(),
            Some(_) => last_line(bytes).to_vec(),
        };
        let want_problem = lines
            .first()
            .and_then(|(_, line)| crate::first_line_problem(&line[..line.len().min(kept)]));
        for part_bytes in [1, 7, 64, 333, 4096, u64::MAX / 4] {
            for buffer_bytes in [64, 100, kept + 1] {
                let got = streamed_keeping(bytes, part_bytes, buffer_bytes, kept);
                let case = format!("{what}: part {part_bytes} buffer {buffer_bytes}");
                assert_eq!(got.scan, want, "{case}");
                assert_eq!(got.lines, want_lines, "{case}");
                assert_eq!(got.last, want_last, "{case}");
                assert_eq!(got.cut_lines, want_cut, "{case}");
                assert_eq!(got.bytes, bytes.len() as u64, "{case}");
                assert_eq!(got.first_line_problem, want_problem, "{case}");
            }
        }
        // Read front to back in small pieces (a pipe, a gzip stream), as one part.
        let mut reader = Trickle(bytes, 0);
        let part = stream_part_keeping(PartSource::Whole(&mut reader), 64, kept).unwrap();
        assert_eq!(part.hits, want.hits, "{what}: trickled");
        assert_eq!(part.cut_lines, want_cut, "{what}: trickled");
        assert_eq!(part.last_line, want_last, "{what}: trickled");
    }

    /// A reader giving at most 1, 2, ... 13 bytes at a time, in turn.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, dest: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 13 + 1;
            let n = self.1.min(dest.len()).min(self.0.len());
            dest[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
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
    fn cut_lines_find_literals_anywhere() {
        // A literal at every offset of a line longer than the kept 300 bytes:
        // before, across and after the cut, and across the reads of the rest
        // (buffers of 64, 100 and 302 bytes, carrying the last bytes of each).
        let longest = "Peak residual (within the mask) increased";
        assert_eq!(CARRY_BYTES, longest.len() - 1);
        for offset in (0..420).step_by(3) {
            let mut bytes = RECORD.to_vec();
            bytes.push(b'\n');
            for (fill, literal) in [(b'a', "\tWARN\t"), (b'b', longest), (b'c', "\tWARN")] {
                let mut line = vec![fill; offset];
                line.extend_from_slice(literal.as_bytes());
                line.resize(offset + 500, fill);
                bytes.extend_from_slice(&line);
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(SEVERE);
            assert_streams_cut(&bytes, 300, &format!("offset {offset}"));
        }
    }

    #[test]
    fn cut_lines_of_every_kind() {
        let kept = 300;
        let long = |start: &[u8], len: usize, fill: u8| {
            let mut line = start.to_vec();
            line.resize(len, fill);
            line
        };
        let mut bytes = Vec::new();
        for (line, end) in [
            // SEVERE and WARN records: judged from their start.
            (long(SEVERE, 2000, b'y'), &b"\n"[..]),
            (
                long(b"2026-11-25 13:30:58\tWARN\tw::x\t", 301, b'w'),
                b"\r\n",
            ),
            // Lengths around the limit, with and without CR.
            (long(RECORD, kept, b'k'), b"\n"),
            (long(RECORD, kept, b'k'), b"\r\n"),
            (long(RECORD, kept + 1, b'k'), b"\n"),
            (long(RECORD, kept + 1, b'k'), b"\r\n"),
            (long(SEVERE, kept + 2, b'k'), b"\n"),
            // An INFO record with a banner past the cut; one with nothing to find.
            (long(RECORD, 1500, b'i'), b" Begin Task: tclean\n"),
            (long(RECORD, 3000, b'i'), b"\n"),
            (Vec::new(), b"\n"),
            (long(b"", 1000, b'\r'), b"\r\n"),
        ] {
            bytes.extend_from_slice(&line);
            bytes.extend_from_slice(end);
        }
        assert_streams_cut(&bytes, kept, "long lines");
        // A long last line, with and without its line end.
        bytes.extend_from_slice(&long(SEVERE, 700, b'z'));
        assert_streams_cut(&bytes, kept, "long last line");
        bytes.push(b'\n');
        assert_streams_cut(&bytes, kept, "long last line and newline");
        // A long first line that is no record, and one that is.
        let mut first = vec![b'x'; 1000];
        first.push(b'\n');
        first.extend_from_slice(&bytes);
        assert_streams_cut(&first, kept, "long first line");
        assert_streams_cut(&long(SEVERE, 2000, b's'), kept, "one long record");
        assert_streams_cut(&[0; 1000], kept, "binary");
    }

    #[test]
    fn cut_lines_in_the_joined_log() {
        let mut bytes = Vec::new();
        for line in [RECORD, &[b'x'; 3000][..], SEVERE, &[b'y'; 3000][..]] {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let len = bytes.len() as u64;
        // Parts of 1000 bytes: the long lines lie in two parts each.
        let parts = (0..len.div_ceil(1000))
            .map(|i| {
                let source = PartSource::Range {
                    file: &file,
                    start: i * 1000,
                    end: ((i + 1) * 1000).min(len),
                    len,
                };
                stream_part_keeping(source, 64, 500).unwrap()
            })
            .collect();
        let log = StreamedLog::join(parts);
        let lines: Vec<u64> = log.cut_lines.iter().map(|c| c.line).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(log.line_count, 4);
        assert_eq!(log.bytes, len);
        assert_eq!(log.last_line, [b'y'; 500]);
        assert!(
            log.unjudgeable_cut_line().is_none(),
            "no literal in the long lines"
        );
    }

    #[test]
    fn which_cut_lines_can_be_judged() {
        let cut = |hit, severe_or_warn| CutLine {
            line: 7,
            bytes: 104_857_600,
            kept: KEPT_LINE_BYTES,
            hit,
            severe_or_warn,
        };
        assert!(cut(false, false).judged_from_its_start());
        assert!(cut(true, true).judged_from_its_start());
        assert!(!cut(true, false).judged_from_its_start());
        assert_eq!(
            cut(true, true).note(),
            " [line 7 is 104857600 bytes long: casa-judge read only its first 1048576 bytes]"
        );
        assert!(cut(true, false)
            .problem()
            .starts_with("line 7 is 104857600 bytes long"));
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
