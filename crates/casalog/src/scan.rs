//! The fast part: finding the few lines of a log that the standard looks at.
//!
//! Logs are scanned as bytes. Each file is cut into chunks that end on a line
//! boundary; all chunks of all files are scanned in parallel (rayon), each
//! finding the lines that contain one of a few fixed literals
//! ([`INTERESTING`]) and counting the newlines before them. Line numbers are
//! then made absolute by adding the line counts of the earlier chunks, and
//! hits are returned in file order, so the result does not depend on the
//! chunk size or the number of threads.

use rayon::prelude::*;
use regex::bytes::Regex;
use std::sync::OnceLock;

/// Literals that mark a line the rules need: SEVERE and WARN priority fields,
/// task banners, tclean's divergence messages and the start of a CASA session.
/// Everything else in a log is only counted.
pub const INTERESTING: [&str; 8] = [
    "\tSEVERE\t",
    "\tWARN\t",
    "\tERROR\t",
    "Begin Task: ",
    "End Task: ",
    "Possible divergence",
    "Peak residual (within the mask) increased",
    "\tCASA Version ",
];

/// Chunk size used by the tool: large enough that per-chunk overhead vanishes,
/// small enough that a single big log keeps every core busy.
pub const DEFAULT_CHUNK_BYTES: usize = 8 << 20;

fn matcher() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alternation: Vec<String> = INTERESTING.iter().map(|s| regex::escape(s)).collect();
        // The pattern is built from fixed literals above, so it always compiles.
        Regex::new(&alternation.join("|")).expect("fixed literal alternation")
    })
}

/// One line of interest: its 1-based number and its byte range in the file
/// (without the line end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineHit {
    /// 1-based line number in the file.
    pub line: u64,
    /// Offset of the first byte of the line.
    pub start: usize,
    /// Offset just past the last byte of the line (the `\n` is not included).
    pub end: usize,
}

/// What the scan found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileScan {
    /// Lines of interest in file order.
    pub hits: Vec<LineHit>,
    /// Number of lines (a last line without `\n` counts).
    pub line_count: u64,
}

struct ChunkScan {
    file: usize,
    hits: Vec<LineHit>,
    newlines: u64,
}

/// Counts `\n` bytes (memchr's SIMD counter, the scan's hottest loop).
fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Splits `bytes` into ranges of roughly `chunk_bytes`, each ending just after a `\n`
/// (or at the end of the data).
fn chunk_bounds(bytes: &[u8], chunk_bytes: usize) -> Vec<(usize, usize)> {
    let chunk_bytes = chunk_bytes.max(1);
    let mut bounds = Vec::with_capacity(bytes.len() / chunk_bytes + 1);
    let mut start = 0;
    while start < bytes.len() {
        let target = start.saturating_add(chunk_bytes);
        let end = if target >= bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1)
        };
        bounds.push((start, end));
        start = end;
    }
    bounds
}

fn scan_chunk(file: usize, bytes: &[u8], offset: usize) -> ChunkScan {
    let re = matcher();
    let mut hits = Vec::new();
    let mut line = 0u64; // newlines seen before `pos`
    let mut pos = 0usize; // always at a line start
    while let Some(m) = re.find_at(bytes, pos) {
        let start = memchr::memrchr(b'\n', &bytes[pos..m.start()]).map_or(pos, |i| pos + i + 1);
        line += count_newlines(&bytes[pos..start]);
        let end = memchr::memchr(b'\n', &bytes[m.end()..]).map_or(bytes.len(), |i| m.end() + i);
        hits.push(LineHit {
            line: line + 1,
            start: offset + start,
            end: offset + end,
        });
        if end >= bytes.len() {
            pos = bytes.len();
            break;
        }
        line += 1;
        pos = end + 1;
    }
    line += count_newlines(&bytes[pos..]);
    ChunkScan {
        file,
        hits,
        newlines: line,
    }
}

/// Scans every file on the current rayon pool; `result[i]` belongs to `files[i]`.
pub fn scan_files(files: &[&[u8]], chunk_bytes: usize) -> Vec<FileScan> {
    let jobs: Vec<(usize, usize, usize)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, bytes)| {
            chunk_bounds(bytes, chunk_bytes)
                .into_iter()
                .map(move |(s, e)| (i, s, e))
        })
        .collect();
    let chunks: Vec<ChunkScan> = jobs
        .par_iter()
        .map(|&(i, s, e)| scan_chunk(i, &files[i][s..e], s))
        .collect();
    let mut out: Vec<FileScan> = vec![FileScan::default(); files.len()];
    for chunk in chunks {
        let scan = &mut out[chunk.file];
        let base = scan.line_count;
        scan.hits.extend(chunk.hits.into_iter().map(|h| LineHit {
            line: h.line + base,
            ..h
        }));
        scan.line_count += chunk.newlines;
    }
    for (scan, bytes) in out.iter_mut().zip(files) {
        if bytes.last().is_some_and(|&b| b != b'\n') {
            scan.line_count += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-11-25 13:30:58\tINFO\tx::casa\thello\n\
2026-11-25 13:30:58\tINFO\ttclean::::casa\t##### Begin Task: tclean             #####\n\
2026-11-25 13:30:58\tSEVERE\ty\tbad\n\
\n\
2026-11-25 13:30:58\tINFO\tx\tSEVERE in text only\n\
2026-11-25 13:30:58\tWARN\ty\twarned";

    #[test]
    fn finds_lines_with_numbers_and_ranges() {
        let scan = &scan_files(&[LOG], DEFAULT_CHUNK_BYTES)[0];
        assert_eq!(scan.line_count, 6);
        let lines: Vec<u64> = scan.hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, vec![2, 3, 6]);
        let h = scan.hits[1];
        assert_eq!(&LOG[h.start..h.end], b"2026-11-25 13:30:58\tSEVERE\ty\tbad");
        assert_eq!(
            &LOG[scan.hits[2].start..scan.hits[2].end],
            b"2026-11-25 13:30:58\tWARN\ty\twarned"
        );
    }

    #[test]
    fn chunk_size_does_not_change_the_result() {
        let mut big = Vec::new();
        for i in 0..500 {
            big.extend_from_slice(LOG);
            if i % 7 == 0 {
                big.extend_from_slice(b"\r\n\n");
            } else {
                big.push(b'\n');
            }
        }
        let reference = scan_files(&[&big, LOG], usize::MAX);
        for chunk in [1, 2, 17, 64, 1000, 4096] {
            assert_eq!(scan_files(&[&big, LOG], chunk), reference, "chunk {chunk}");
        }
        assert_eq!(reference[0].hits.len(), 1500);
    }

    #[test]
    fn newline_count_agrees_with_naive_count() {
        let bytes: Vec<u8> = (0..100_000u32)
            .map(|i| if i % 13 == 0 { b'\n' } else { (i % 251) as u8 })
            .collect();
        for len in [0, 1, 31, 32, 33, 8160, 8161, 100_000] {
            let naive = bytes[..len].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_newlines(&bytes[..len]), naive, "len {len}");
        }
    }

    #[test]
    fn empty_and_unterminated_input() {
        assert_eq!(scan_files(&[b""], 10)[0], FileScan::default());
        let one = &scan_files(&[b"no newline at all"], 4)[0];
        assert_eq!(one.line_count, 1);
        assert!(one.hits.is_empty());
    }
}
