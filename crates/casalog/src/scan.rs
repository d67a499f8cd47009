//! The fast part: finding the few lines of a log that the standard looks at.
//!
//! Logs are scanned as bytes. Each file is cut into chunks that end on a line
//! boundary; all chunks of all files are scanned in parallel (rayon), each
//! finding the lines that contain one of a few fixed literals
//! ([`INTERESTING`]) and counting the newlines before them. Line numbers are
//! then made absolute by adding the line counts of the earlier chunks, and
//! hits are returned in file order, so the result does not depend on the
//! chunk size or the number of threads.
//!
//! On x86-64 with AVX2 (checked at run time) a chunk is scanned in one pass
//! that counts newlines and finds candidate positions of all literals together,
//! 64 bytes at a time: each literal is anchored on a byte pair that is rare in
//! CASA logs, and the pairs are looked up by nibble tables, so the bytes stream
//! through the core once; each candidate is then checked against the literals.
//! With AVX-512 (F, BW, VBMI) the same pass takes a third of the instructions:
//! exact 128-entry byte tables instead of nibble tables, masks in mask
//! registers. Elsewhere a regex alternation of the literals is used. All give
//! the same hits (tested on every kernel the CPU runs; [`Kernel`]).

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

/// Each literal of [`INTERESTING`] with the place of its anchor: the offset,
/// from the literal's start, of a byte pair of it that is rare in CASA logs
/// (one of [`ANCHOR_PAIRS`]). The AVX2 scan reports every position where such
/// a pair starts as a candidate and checks the literals anchored there.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ANCHORED: [(&[u8], usize); 8] = [
    (b"\tSEVERE\t", 3),
    (b"\tWARN\t", 1),
    (b"\tERROR\t", 1),
    (b"Begin Task: ", 9),
    (b"End Task: ", 7),
    (b"Possible divergence", 0),
    (b"Peak residual (within the mask) increased", 14),
    (b"\tCASA Version ", 6),
];

/// The anchor pairs: a first byte and the bytes that may follow it (`VE` of
/// SEVERE, `Ve` of Version, `WA`, `ER`, `k:` of both task banners, `Po` of
/// Possible, `(w` of "(within the mask)"). In the benchmark logs these start
/// about one candidate per 2 kB, nearly all of them real hits.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ANCHOR_PAIRS: [(u8, &[u8]); 6] = [
    (b'V', b"Ee"),
    (b'W', b"A"),
    (b'E', b"R"),
    (b'k', b":"),
    (b'P', b"o"),
    (b'(', b"w"),
];

/// True when one of the literals has its anchor at `pos`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn literal_anchored_at(bytes: &[u8], pos: usize) -> bool {
    let byte = bytes[pos];
    ANCHORED.iter().any(|&(lit, anchor)| {
        lit[anchor] == byte && pos >= anchor && bytes[pos - anchor..].starts_with(lit)
    })
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
    let mut hits = Vec::new();
    let newlines = scan_into(bytes, offset, 0, &mut hits);
    ChunkScan {
        file,
        hits,
        newlines,
    }
}

/// Appends the lines of interest in `bytes` to `hits` and returns its number
/// of `\n`. `bytes` start at a line start, at byte `offset` of the file and
/// after `line_base` lines (hits get file offsets and line numbers).
pub(crate) fn scan_into(
    bytes: &[u8],
    offset: usize,
    line_base: u64,
    hits: &mut Vec<LineHit>,
) -> u64 {
    scan_into_with(Kernel::chosen(), bytes, offset, line_base, hits)
}

/// The implementations of the scan; all give the same hits (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// The regex alternation of the literals (any CPU).
    Portable,
    /// 32-byte vectors with nibble tables (x86-64 with AVX2).
    Avx2,
    /// 64-byte vectors with exact byte tables and mask registers (x86-64 with
    /// AVX-512 F, BW and VBMI).
    Avx512,
}

impl Kernel {
    /// The kernels this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if simd::available() {
                kernels.push(Kernel::Avx2);
            }
            if simd512::available() {
                kernels.push(Kernel::Avx512);
            }
        }
        kernels
    }

    /// The kernel the scans use: the fastest this CPU runs, capped by the
    /// environment variable `VLASS_CASALOG_SCAN` (`portable`, `avx2` or
    /// `avx512`; for benchmarks and diagnosis, other values are ignored).
    pub fn chosen() -> Kernel {
        static CHOSEN: OnceLock<Kernel> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let cap = match std::env::var("VLASS_CASALOG_SCAN").as_deref() {
                Ok("portable") => Kernel::Portable,
                Ok("avx2") => Kernel::Avx2,
                _ => Kernel::Avx512,
            };
            Kernel::available()
                .into_iter()
                .filter(|&k| k <= cap)
                .max()
                .unwrap_or(Kernel::Portable)
        })
    }

    /// The kernel's name as `VLASS_CASALOG_SCAN` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }
}

/// [`scan_into`] with a given kernel; one the CPU cannot run is replaced by the
/// portable scan.
pub(crate) fn scan_into_with(
    kernel: Kernel,
    bytes: &[u8],
    offset: usize,
    line_base: u64,
    hits: &mut Vec<LineHit>,
) -> u64 {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Avx512 if simd512::available() => {
            // SAFETY: `available()` said the CPU has what the AVX-512 scan needs.
            return unsafe { simd512::scan(bytes, offset, line_base, hits) };
        }
        Kernel::Avx2 if simd::available() => {
            // SAFETY: `available()` said the CPU has what the AVX2 scan needs.
            return unsafe { simd::scan(bytes, offset, line_base, hits) };
        }
        _ => {}
    }
    let _ = kernel;
    scan_regex_into(bytes, offset, line_base, hits)
}

/// The portable scan of one chunk, with a regex.
#[cfg(test)]
fn scan_chunk_regex(file: usize, bytes: &[u8], offset: usize) -> ChunkScan {
    let mut hits = Vec::new();
    let newlines = scan_regex_into(bytes, offset, 0, &mut hits);
    ChunkScan {
        file,
        hits,
        newlines,
    }
}

/// The portable scan: a regex (Teddy) search for the literals, then line bounds
/// ([`scan_into`]).
fn scan_regex_into(bytes: &[u8], offset: usize, line_base: u64, hits: &mut Vec<LineHit>) -> u64 {
    let re = matcher();
    let mut line = 0u64; // newlines seen before `pos`
    let mut pos = 0usize; // always at a line start
    while let Some(m) = re.find_at(bytes, pos) {
        let start = memchr::memrchr(b'\n', &bytes[pos..m.start()]).map_or(pos, |i| pos + i + 1);
        line += count_newlines(&bytes[pos..start]);
        let end = memchr::memchr(b'\n', &bytes[m.end()..]).map_or(bytes.len(), |i| m.end() + i);
        hits.push(LineHit {
            line: line_base + line + 1,
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
    line
}

/// The body of a SIMD scan of one chunk ([`scan_into`]), shared by the AVX2 and
/// AVX-512 kernels: `$step(p, &tables)` gives the candidate and newline masks of
/// the 64 positions at `p` (reading `STEP_READS` bytes), `$skip(bytes, pos,
/// &tables, &mut newlines)` advances over whole steps without a candidate. Each
/// candidate is checked against the literals; a hit's line bounds come from the
/// step's newline mask when they lie in it.
/// Bytes a SIMD step reads: 64 positions and the byte after them.
#[cfg(target_arch = "x86_64")]
const STEP_READS: usize = 65;

#[cfg(target_arch = "x86_64")]
macro_rules! simd_scan_body {
    ($bytes:ident, $offset:ident, $line_base:ident, $hits:ident, $tables:expr, $step:path, $skip:path) => {{
        let (bytes, offset, line_base, hits): (&[u8], usize, u64, &mut Vec<LineHit>) =
            ($bytes, $offset, $line_base, $hits);
        let len = bytes.len();
        let mut pos = 0usize; // always at a line start
        let mut newlines = 0u64; // `\n` bytes before `pos`
        let mut tail = [0u8; STEP_READS];
        let tables = $tables;
        'steps: while pos < len {
            // SAFETY: the calling function's target features are available.
            pos = unsafe { $skip(bytes, pos, &tables, &mut newlines) };
            if pos >= len {
                break;
            }
            let (mut candidates, nl) = if pos + STEP_READS <= len {
                // SAFETY: `pos + STEP_READS <= len`.
                unsafe { $step(bytes.as_ptr().add(pos), &tables) }
            } else {
                // The last bytes: scan a zero-padded copy, so no read passes the end
                // (zero bytes are no anchor and no newline; the mask drops them anyway).
                let rest = len - pos;
                tail[..rest].copy_from_slice(&bytes[pos..]);
                tail[rest..].fill(0);
                // SAFETY: `tail` has STEP_READS bytes.
                let (c, n) = unsafe { $step(tail.as_ptr(), &tables) };
                let keep = if rest >= 64 {
                    u64::MAX
                } else {
                    (1u64 << rest) - 1
                };
                (c & keep, n & keep)
            };
            while candidates != 0 {
                let bit = candidates.trailing_zeros();
                let at = pos + bit as usize;
                if literal_anchored_at(bytes, at) {
                    // The line's bounds from the step's newline mask when they lie in
                    // this step (lines are short), else by a search beyond it.
                    let before = nl & ((1u64 << bit) - 1);
                    let start = if before != 0 {
                        pos + (64 - before.leading_zeros() as usize)
                    } else {
                        memchr::memrchr(b'\n', &bytes[..pos]).map_or(0, |i| i + 1)
                    };
                    let after = nl & (u64::MAX << bit);
                    let end = if after != 0 {
                        pos + after.trailing_zeros() as usize
                    } else {
                        let from = (pos + 64).min(len);
                        memchr::memchr(b'\n', &bytes[from..]).map_or(len, |i| from + i)
                    };
                    let line = newlines + u64::from(before.count_ones()) + 1;
                    hits.push(LineHit {
                        line: line_base + line,
                        start: offset + start,
                        end: offset + end,
                    });
                    if end >= len {
                        return line - 1;
                    }
                    // Go on after this line's `\n`: `line` newlines lie before it.
                    newlines = line;
                    pos = end + 1;
                    continue 'steps;
                }
                candidates &= candidates - 1;
            }
            newlines += u64::from(nl.count_ones());
            pos += 64;
        }
        newlines
    }};
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! The AVX2 scan of one chunk: newline count and literal candidates in one pass.

    use super::{literal_anchored_at, LineHit, ANCHOR_PAIRS, STEP_READS};
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_sad_epu8, _mm256_set1_epi8, _mm256_setzero_si256,
        _mm256_shuffle_epi8, _mm256_srli_epi16, _mm256_storeu_si256, _mm256_sub_epi8,
        _mm256_testz_si256,
    };

    /// Nibble tables of the anchor pairs (the "Teddy" technique): bit `b` of
    /// `first_low[x & 15] & first_high[x >> 4]` is set when byte `x` is the
    /// first byte of pair `b`, and likewise for the following byte with the
    /// `second_` tables. A pair is never missed; a byte whose nibbles come from
    /// two bytes of a pair's set may pass too, and the literal check rejects it.
    struct NibbleTables {
        first_low: [u8; 16],
        first_high: [u8; 16],
        second_low: [u8; 16],
        second_high: [u8; 16],
    }

    const TABLES: NibbleTables = nibble_tables();

    const fn nibble_tables() -> NibbleTables {
        let mut t = NibbleTables {
            first_low: [0; 16],
            first_high: [0; 16],
            second_low: [0; 16],
            second_high: [0; 16],
        };
        let mut pair = 0;
        while pair < ANCHOR_PAIRS.len() {
            let bit = 1u8 << pair;
            let (first, seconds) = ANCHOR_PAIRS[pair];
            t.first_low[(first & 15) as usize] |= bit;
            t.first_high[(first >> 4) as usize] |= bit;
            let mut i = 0;
            while i < seconds.len() {
                t.second_low[(seconds[i] & 15) as usize] |= bit;
                t.second_high[(seconds[i] >> 4) as usize] |= bit;
                i += 1;
            }
            pair += 1;
        }
        t
    }

    /// True when the CPU has AVX2, and POPCNT and BMI1 for the bit masks (the
    /// answers are cached by std).
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi1")
    }

    /// Both 16-byte halves of a 32-byte vector set to `table`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn broadcast(table: &[u8; 16]) -> __m256i {
        let mut both = [0u8; 32];
        both[..16].copy_from_slice(table);
        both[16..].copy_from_slice(table);
        // SAFETY: `both` has 32 readable bytes.
        unsafe { _mm256_loadu_si256(both.as_ptr().cast::<__m256i>()) }
    }

    /// Per byte of `bytes`: the bit set of the pairs whose byte it can be,
    /// looked up from its two nibbles.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pair_bits(bytes: __m256i, low: __m256i, high: __m256i) -> __m256i {
        let nibble = _mm256_set1_epi8(0x0f);
        let low_nibbles = _mm256_and_si256(bytes, nibble);
        let high_nibbles = _mm256_and_si256(_mm256_srli_epi16::<4>(bytes), nibble);
        _mm256_and_si256(
            _mm256_shuffle_epi8(low, low_nibbles),
            _mm256_shuffle_epi8(high, high_nibbles),
        )
    }

    /// For the 32 positions `p .. p + 32`: a bit mask of the positions where an
    /// anchor pair starts and a bit mask of the `\n` bytes.
    ///
    /// Safety: AVX2 must be available and `p .. p + 33` readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn candidates32(p: *const u8, tables: &[__m256i; 4]) -> (u32, u32) {
        // SAFETY: this function's contract is quiet32's.
        let (both, newline) = unsafe { quiet32(p, tables) };
        let no_pair = _mm256_cmpeq_epi8(both, _mm256_setzero_si256());
        (
            !(_mm256_movemask_epi8(no_pair) as u32),
            _mm256_movemask_epi8(newline) as u32,
        )
    }

    /// For the 32 positions `p .. p + 32`: the pair bits of [`candidates32`] as a
    /// vector (non-zero bytes where a pair may start) and the comparison with
    /// `\n` as a vector (0xff per newline), for counting in vector lanes: a
    /// quiet step tests both halves' pair bits at once, with no bit masks made.
    ///
    /// Safety: AVX2 must be available and `p .. p + 33` readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn quiet32(p: *const u8, tables: &[__m256i; 4]) -> (__m256i, __m256i) {
        let here = _mm256_loadu_si256(p.cast::<__m256i>());
        let next = _mm256_loadu_si256(p.add(1).cast::<__m256i>());
        let both = _mm256_and_si256(
            pair_bits(here, tables[0], tables[1]),
            pair_bits(next, tables[2], tables[3]),
        );
        (both, _mm256_cmpeq_epi8(here, _mm256_set1_epi8(b'\n' as i8)))
    }

    /// The sum of the 32 byte lanes of `counts`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn lane_sum(counts: __m256i) -> u64 {
        let sums = _mm256_sad_epu8(counts, _mm256_setzero_si256());
        let mut four = [0u64; 4];
        // SAFETY: `four` has 32 writable bytes.
        unsafe { _mm256_storeu_si256(four.as_mut_ptr().cast::<__m256i>(), sums) };
        four.iter().sum()
    }

    /// Advances `pos` over the whole steps from `pos` on that hold no candidate
    /// (most of a log), adding their newlines to `newlines`: counted in vector
    /// lanes, which is cheaper than a mask and a popcount per step. Returns the
    /// position of the first step with a candidate, or of the last bytes.
    ///
    /// Safety: AVX2 must be available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn skip_quiet_steps(
        bytes: &[u8],
        mut pos: usize,
        tables: &[__m256i; 4],
        newlines: &mut u64,
    ) -> usize {
        // Each step adds at most 2 to a lane: emptied before a lane can pass 255.
        const FLUSH_STEPS: u32 = 127;
        let mut counts = _mm256_setzero_si256();
        let mut steps = 0;
        while pos + STEP_READS <= bytes.len() {
            // SAFETY: `pos + STEP_READS <= len`.
            let p = unsafe { bytes.as_ptr().add(pos) };
            let (low, low_nl) = unsafe { quiet32(p, tables) };
            let (high, high_nl) = unsafe { quiet32(p.add(32), tables) };
            let pairs = _mm256_or_si256(low, high);
            if _mm256_testz_si256(pairs, pairs) == 0 {
                break;
            }
            counts = _mm256_sub_epi8(_mm256_sub_epi8(counts, low_nl), high_nl);
            steps += 1;
            if steps == FLUSH_STEPS {
                *newlines += lane_sum(counts);
                counts = _mm256_setzero_si256();
                steps = 0;
            }
            pos += 64;
        }
        *newlines += lane_sum(counts);
        pos
    }

    /// [`candidates32`] for the 64 positions `p .. p + 64`.
    ///
    /// Safety: AVX2 must be available and `p .. p + STEP_READS` readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn candidates64(p: *const u8, tables: &[__m256i; 4]) -> (u64, u64) {
        let (low, low_nl) = candidates32(p, tables);
        let (high, high_nl) = candidates32(p.add(32), tables);
        (
            u64::from(low) | (u64::from(high) << 32),
            u64::from(low_nl) | (u64::from(high_nl) << 32),
        )
    }

    /// Appends the hits of `bytes` (at most one per line, in order) to `hits`
    /// and returns the number of `\n` in `bytes` ([`super::scan_into`]).
    ///
    /// Safety: AVX2, POPCNT and BMI1 must be available.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub(super) unsafe fn scan(
        bytes: &[u8],
        offset: usize,
        line_base: u64,
        hits: &mut Vec<LineHit>,
    ) -> u64 {
        simd_scan_body!(
            bytes,
            offset,
            line_base,
            hits,
            [
                broadcast(&TABLES.first_low),
                broadcast(&TABLES.first_high),
                broadcast(&TABLES.second_low),
                broadcast(&TABLES.second_high),
            ],
            candidates64,
            skip_quiet_steps
        )
    }
}

#[cfg(target_arch = "x86_64")]
mod simd512 {
    //! The AVX-512 scan of one chunk. The same candidates as the AVX2 scan, found
    //! with fewer instructions: each byte's pair bits come from an exact
    //! 128-entry table (one `vpermi2b` per 64 bytes and table, indexed by the
    //! byte's low 7 bits; a byte above 127 looks up the entry of its low 7 bits
    //! and may pass as a candidate, which the literal check rejects), and the
    //! candidate and newline masks land in mask registers, so no vector has to
    //! be turned into a bit mask.

    use super::{literal_anchored_at, LineHit, ANCHOR_PAIRS, STEP_READS};
    use std::arch::x86_64::{
        __m512i, _mm512_cmpeq_epi8_mask, _mm512_loadu_si512, _mm512_permutex2var_epi8,
        _mm512_set1_epi8, _mm512_test_epi8_mask,
    };

    /// `FIRST[x]`: bit `b` set when byte `x` is the first byte of pair `b`;
    /// `SECOND[x]`: when it may follow that first byte.
    const FIRST: [u8; 128] = byte_table(false);
    const SECOND: [u8; 128] = byte_table(true);

    const fn byte_table(second: bool) -> [u8; 128] {
        let mut t = [0u8; 128];
        let mut pair = 0;
        while pair < ANCHOR_PAIRS.len() {
            let bit = 1u8 << pair;
            let (first, seconds) = ANCHOR_PAIRS[pair];
            if second {
                let mut i = 0;
                while i < seconds.len() {
                    t[seconds[i] as usize] |= bit;
                    i += 1;
                }
            } else {
                t[first as usize] |= bit;
            }
            pair += 1;
        }
        t
    }

    /// True when the CPU has AVX-512 F, BW and VBMI, and POPCNT and BMI1 (the
    /// answers are cached by std).
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
            && std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi1")
    }

    /// The two 64-byte halves of a 128-entry table.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn halves(table: &[u8; 128]) -> [__m512i; 2] {
        // SAFETY: each half has 64 readable bytes.
        unsafe {
            [
                _mm512_loadu_si512(table.as_ptr().cast::<__m512i>()),
                _mm512_loadu_si512(table.as_ptr().add(64).cast::<__m512i>()),
            ]
        }
    }

    /// For the 64 positions `p .. p + 64`: a bit mask of the positions where an
    /// anchor pair starts and a bit mask of the `\n` bytes.
    ///
    /// Safety: AVX-512 F/BW/VBMI must be available and `p .. p + STEP_READS` readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn step(p: *const u8, tables: &[__m512i; 4]) -> (u64, u64) {
        let here = _mm512_loadu_si512(p.cast::<__m512i>());
        let next = _mm512_loadu_si512(p.add(1).cast::<__m512i>());
        let first = _mm512_permutex2var_epi8(tables[0], here, tables[1]);
        let second = _mm512_permutex2var_epi8(tables[2], next, tables[3]);
        (
            _mm512_test_epi8_mask(first, second),
            _mm512_cmpeq_epi8_mask(here, _mm512_set1_epi8(b'\n' as i8)),
        )
    }

    /// Advances `pos` over the whole steps from `pos` on that hold no candidate,
    /// adding their newlines to `newlines`. Returns the position of the first
    /// step with a candidate, or of the last bytes.
    ///
    /// Safety: AVX-512 F/BW/VBMI and POPCNT must be available.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,popcnt")]
    unsafe fn skip_quiet_steps(
        bytes: &[u8],
        mut pos: usize,
        tables: &[__m512i; 4],
        newlines: &mut u64,
    ) -> usize {
        let mut count = 0u64;
        while pos + STEP_READS <= bytes.len() {
            // SAFETY: `pos + STEP_READS <= len`.
            let (candidates, nl) = unsafe { step(bytes.as_ptr().add(pos), tables) };
            if candidates != 0 {
                break;
            }
            count += u64::from(nl.count_ones());
            pos += 64;
        }
        *newlines += count;
        pos
    }

    /// Appends the hits of `bytes` (at most one per line, in order) to `hits`
    /// and returns the number of `\n` in `bytes` ([`super::scan_into`]).
    ///
    /// Safety: AVX-512 F/BW/VBMI, POPCNT and BMI1 must be available.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,popcnt,bmi1")]
    pub(super) unsafe fn scan(
        bytes: &[u8],
        offset: usize,
        line_base: u64,
        hits: &mut Vec<LineHit>,
    ) -> u64 {
        let [first_low, first_high] = halves(&FIRST);
        let [second_low, second_high] = halves(&SECOND);
        simd_scan_body!(
            bytes,
            offset,
            line_base,
            hits,
            [first_low, first_high, second_low, second_high],
            step,
            skip_quiet_steps
        )
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
    for chunk in &chunks {
        out[chunk.file].hits.reserve_exact(chunk.hits.len());
    }
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
    fn anchored_literals_are_the_interesting_ones() {
        let mut anchored: Vec<&[u8]> = ANCHORED.iter().map(|&(lit, _)| lit).collect();
        let mut interesting: Vec<&[u8]> = INTERESTING.iter().map(|s| s.as_bytes()).collect();
        anchored.sort();
        interesting.sort();
        assert_eq!(anchored, interesting);
        for (lit, anchor) in ANCHORED {
            let (first, second) = (lit[anchor], lit[anchor + 1]);
            assert!(
                ANCHOR_PAIRS
                    .iter()
                    .any(|&(f, s)| f == first && s.contains(&second)),
                "{lit:?} {anchor}"
            );
        }
        assert!(ANCHOR_PAIRS.len() <= 8, "one bit per pair in a byte");
    }

    /// The regex scan of one chunk and that of every kernel this CPU runs (and
    /// the chosen one), compared field by field. Returns the number of hits.
    fn assert_scans_agree(bytes: &[u8], what: &str) -> usize {
        let reference = scan_chunk_regex(0, bytes, 7);
        let fast = scan_chunk(0, bytes, 7);
        assert_eq!(fast.hits, reference.hits, "{what}");
        assert_eq!(fast.newlines, reference.newlines, "{what}");
        for kernel in Kernel::available() {
            let mut hits = Vec::new();
            let newlines = scan_into_with(kernel, bytes, 7, 0, &mut hits);
            assert_eq!(hits, reference.hits, "{what}: {}", kernel.name());
            assert_eq!(newlines, reference.newlines, "{what}: {}", kernel.name());
        }
        reference.hits.len()
    }

    #[test]
    fn kernels_this_cpu_runs() {
        let kernels = Kernel::available();
        assert_eq!(kernels[0], Kernel::Portable);
        assert!(kernels.contains(&Kernel::chosen()));
        // On an x86-64 machine with AVX2 (every machine this project builds and
        // runs on) the fast scans are tested, not only the regex.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            assert!(kernels.contains(&Kernel::Avx2), "{kernels:?}");
        }
        eprintln!("scan kernels tested: {kernels:?}");
    }

    #[test]
    fn every_literal_is_found_at_every_place_of_a_line() {
        for lit in INTERESTING {
            for before in 0..100 {
                for after in [0, 1, 5, 40, 70, 200] {
                    let mut line = vec![b'x'; before];
                    line.extend_from_slice(lit.as_bytes());
                    line.extend(std::iter::repeat_n(b'y', after));
                    for prefix_lines in [0, 1, 3] {
                        let mut bytes = b"a\tINFO\tb\tc\n".repeat(prefix_lines);
                        bytes.extend_from_slice(&line);
                        let scan = scan_chunk(0, &bytes, 0);
                        assert_eq!(scan.hits.len(), 1, "{lit:?} {before} {after}");
                        assert_eq!(scan.hits[0].line, prefix_lines as u64 + 1);
                        assert_scans_agree(&bytes, lit);
                        bytes.push(b'\n');
                        assert_scans_agree(&bytes, lit);
                    }
                }
            }
        }
    }

    #[test]
    fn fast_scan_agrees_with_the_regex_scan_on_random_logs() {
        // Pieces of the literals, near misses and line ends, glued at random.
        let pieces: [&[u8]; 20] = [
            b"\tSEVERE\t",
            b"\tSEVERE",
            b"\tWARN\t",
            b"\tWA",
            b"\tERROR\t",
            b"\tERRO",
            b"Begin Task: ",
            b"Begin Task:",
            b"End Task: ",
            b"nd Task: ",
            b"Possible divergence",
            b"Possible",
            b"Peak residual (within the mask) increased",
            b"Peak residual (within the mask) is",
            b"\tCASA Version ",
            b"\tCASA Vers",
            b"\n",
            b"2026-11-25 13:30:58\tINFO\tx::casa\t",
            b"\tSE\xd6ERE\t",
            b"Begin Tas\xeb: ",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut hits = 0;
        for round in 0..300 {
            let mut bytes = Vec::new();
            let target = (next() % 3000) as usize;
            while bytes.len() < target {
                let r = next();
                if r % 3 == 0 {
                    // Near misses too: bytes above 127 whose low 7 bits are an
                    // anchor byte (0xD6 = 'V' + 128, 0xC5 = 'E' + 128, 0xEB = 'k' + 128).
                    bytes.push(b"kP:\tVWEib \n\r\xd6\xc5\xeb"[(r >> 8) as usize % 15]);
                } else {
                    bytes.extend_from_slice(pieces[(r >> 8) as usize % pieces.len()]);
                }
            }
            hits += assert_scans_agree(&bytes, &format!("round {round}"));
        }
        assert!(hits > 2000, "{hits} hits");
    }

    #[test]
    fn fast_scan_agrees_with_the_regex_scan_on_the_test_logs() {
        let logs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs");
        let (mut checked, mut hits) = (0, 0);
        for entry in walkdir::WalkDir::new(logs) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                hits += assert_scans_agree(&bytes, &entry.path().display().to_string());
                checked += 1;
            }
        }
        assert!(
            checked >= 10 && hits > 100,
            "{checked} test logs, {hits} hits"
        );
    }

    #[test]
    fn long_stretches_without_candidates_count_every_newline() {
        // Tens of kB with no candidate: newlines counted in vector lanes, which
        // are emptied every 127 steps; all newlines, and every few bytes.
        for (filler, repeat) in [
            (&b"\n"[..], 40_000),
            (b"a\n", 20_000),
            (b"abc\tdef\n", 5_000),
        ] {
            for extra in [0, 1, 63, 64, 65, 8127, 8128, 8129] {
                let mut bytes = filler.repeat(repeat);
                bytes.extend(std::iter::repeat_n(b'x', extra));
                bytes.extend_from_slice(b"2026-11-25 13:30:58\tSEVERE\ty\tbad\n");
                bytes.extend(filler.repeat(repeat / 3));
                assert_eq!(assert_scans_agree(&bytes, "quiet stretch"), 1);
                let naive = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(scan_chunk(0, &bytes, 0).newlines, naive);
            }
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
