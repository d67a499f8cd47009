//! Safe in-place FITS header annotation: writes keywords into the primary
//! header of a FITS file without ever changing a data byte, and so that a
//! reader sees either the original file or the complete annotated one.
//!
//! This is what `annotate-qa --write-header` uses to put the CASA pipeline's
//! VLASS keywords (VLASSRMS, VLASSPK, ...) and the QA verdict into products.
//! It works on the FITS bytes directly (no cfitsio), so that exactly the
//! cards asked for change and nothing else is rewritten.
//!
//! # What [`annotate_in_place`] does
//! 1. Validates and formats every card first; a bad card refuses the whole
//!    annotation before the file is touched.
//! 2. Refuses a file without write permission (no owner write bit, or one the
//!    process cannot open for writing), so a read-only product stays read-only
//!    and unchanged even for a user (root) who could replace it.
//! 3. Reads the primary header (2880-byte blocks up to the `END` card). A card
//!    whose keyword already exists replaces the first card of that keyword in
//!    its place (later duplicates of the same keyword are dropped); a new
//!    keyword is added after the last non-blank card before `END`, using up
//!    blank cards there if the header has some. The header never shrinks: if it
//!    needs another block, the file grows by 2880 bytes and the data move down.
//! 4. Writes a complete new copy beside the original (a hidden temporary file
//!    `.<name>.tmp-<pid>-<n>`, see [`vlass_cli::AtomicFile`]) while computing the
//!    SHA-256 of everything after the primary header (the primary data unit and
//!    all extensions), gives it the original's permission bits (and, when
//!    allowed, its owner), then reads the copy back: its header must be exactly
//!    the new header and the SHA-256 of everything after it must equal the
//!    original's. Only then is the copy fsynced and renamed over the original
//!    (then the directory is fsynced). Any mismatch, or a change of the original
//!    while we worked, is refused and the temporary copy removed.
//!
//! # Crash safety
//! The original is never opened for writing, so a process killed at any moment
//! leaves the target either byte-identical to the original (killed before the
//! rename) or completely annotated (after it): `rename(2)` is atomic. A kill
//! before the rename can leave the hidden temporary file behind; it starts
//! with `.` and ends in `.tmp-<pid>-<n>`, so it never matches `*.fits` or
//! `*.fits.gz` and cannot be mistaken for a product (delete it at leisure).
//! `tests/header_annotate.rs` checks this by SIGKILLing a writer many times.
//! Concurrent annotations of one file by two processes do not corrupt it: the
//! last rename wins and the file then holds that process's complete result.
//!
//! # Card format (FITS standard 4.0, section 4)
//! 80-character cards of printable ASCII: keyword in columns 1-8, `= ` in 9-10.
//! Strings start with `'` in column 11, embedded quotes doubled, padded to at
//! least 8 characters; integers, logicals (`T`/`F`) and reals are right-justified
//! to column 30 (fixed format). Reals are written with the shortest digits that
//! read back as exactly the same `f64` (always with a `.` and, when shorter, an
//! `E` exponent); the few values that need more than 20 characters are written
//! in free format starting at column 11. NaN and infinities are refused (FITS
//! has no way to write them). The comment follows ` / ` and is cut at column 80.
//! A string value longer than 68 characters (after doubling quotes) is refused
//! with an error rather than split with the `CONTINUE` convention: the pipeline
//! keywords are short and a reader without `CONTINUE` support would misread it.
//! Keywords must be 1-8 characters of `A-Z 0-9 _ -`; the structural keywords
//! (`SIMPLE`, `BITPIX`, `NAXIS*`, `EXTEND`, `END`, `PCOUNT`, `GCOUNT`, `GROUPS`),
//! the data-scaling ones (`BSCALE`, `BZERO`, `BLANK`) and the commentary ones
//! (`COMMENT`, `HISTORY`, `CONTINUE`) are refused, since rewriting them would
//! change what the data bytes mean.
//!
//! # Compressed files (`.fits.gz`)
//! A gzip file (recognised by its magic bytes, not its name) is decompressed,
//! annotated and recompressed into the temporary copy, then renamed over the
//! original the same way. The data checksum is taken on the decompressed bytes
//! after the primary header; the read-back check decompresses the new copy.
//! The compressed bytes themselves differ from the original's (new gzip stream,
//! default level, no name or time stamp in the gzip header), but annotating the
//! same file twice still gives identical bytes.
//!
//! # Not preserved
//! Extended attributes, ACLs and hard links: the annotated file is a new inode,
//! so another hard link to the original keeps the old contents. A symbolic link
//! is followed and the file it points to is replaced; the link stays.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vlass_cli::AtomicFile;

const BLOCK_LEN: usize = 2880;
const CARD_LEN: usize = 80;
const CARDS_PER_BLOCK: usize = BLOCK_LEN / CARD_LEN;
/// Longest string value (after doubling quotes) that fits in one card.
const MAX_STRING_LEN: usize = CARD_LEN - 10 - 2;
/// A primary header longer than this is not believed (guards against reading
/// a huge non-FITS file block by block looking for `END`).
const MAX_HEADER_BLOCKS: usize = 10_000;
const COPY_BUFFER_LEN: usize = 1 << 20;

/// Keywords whose value decides how the data bytes are laid out or read.
const RESERVED_KEYS: &[&str] = &[
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "END", "PCOUNT", "GCOUNT", "GROUPS", "BSCALE", "BZERO",
    "BLANK", "COMMENT", "HISTORY", "CONTINUE",
];

/// The value of one header card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardValue {
    /// A character string (written quoted, embedded quotes doubled).
    Str(String),
    /// A floating-point number (must be finite).
    Real(f64),
    /// An integer.
    Int(i64),
    /// A logical, written `T` or `F`.
    Bool(bool),
}

/// One keyword to write into the primary header.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderCard {
    /// Keyword name: 1 to 8 characters of `A-Z 0-9 _ -`.
    pub key: String,
    /// The value.
    pub value: CardValue,
    /// Comment written after ` / ` (may be empty; cut at column 80).
    pub comment: String,
}

impl HeaderCard {
    /// A card from its parts.
    pub fn new(key: impl Into<String>, value: CardValue, comment: impl Into<String>) -> Self {
        HeaderCard {
            key: key.into(),
            value,
            comment: comment.into(),
        }
    }
}

/// What [`annotate_in_place`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotateReport {
    /// Keywords that already existed and were rewritten in place.
    pub updated: Vec<String>,
    /// Keywords that were new and added before `END`.
    pub added: Vec<String>,
    /// SHA-256 (lower-case hex) of everything after the primary header
    /// (decompressed for `.fits.gz`), identical before and after.
    pub data_sha256: String,
    /// Number of 2880-byte blocks of the primary header before.
    pub header_blocks_before: usize,
    /// Number of 2880-byte blocks of the primary header after.
    pub header_blocks_after: usize,
}

/// Why an annotation was refused or failed. In every case the file is left
/// as it was. `Display` gives one line, `<path>: <problem>`.
#[derive(Debug)]
pub enum AnnotateError {
    /// A card to write is invalid (bad keyword, reserved keyword, value that
    /// cannot be written, duplicate keyword in the request).
    InvalidCard {
        /// The file that was to be annotated.
        path: PathBuf,
        /// The offending keyword as given.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The file (or its directory) may not be written.
    ReadOnly {
        /// The file.
        path: PathBuf,
        /// Why it is considered read-only.
        problem: String,
    },
    /// The file is not a FITS file with a readable primary header.
    NotFits {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        problem: String,
    },
    /// The copy did not read back as expected (data checksum or header
    /// mismatch, or the original changed while it was being annotated).
    Verification {
        /// The file.
        path: PathBuf,
        /// What differed.
        problem: String,
    },
    /// An I/O operation failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "cannot read".
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
}

impl AnnotateError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            AnnotateError::InvalidCard { path, .. }
            | AnnotateError::ReadOnly { path, .. }
            | AnnotateError::NotFits { path, .. }
            | AnnotateError::Verification { path, .. }
            | AnnotateError::Io { path, .. } => path,
        }
    }
}

impl fmt::Display for AnnotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path().display();
        match self {
            AnnotateError::InvalidCard { key, problem, .. } => {
                write!(f, "{path}: keyword {key:?}: {problem}; not annotated")
            }
            AnnotateError::ReadOnly { problem, .. } => {
                write!(f, "{path}: {problem}; not annotated")
            }
            AnnotateError::NotFits { problem, .. } => {
                write!(f, "{path}: not a FITS file: {problem}; not annotated")
            }
            AnnotateError::Verification { problem, .. } => {
                write!(f, "{path}: {problem}; original left unchanged")
            }
            AnnotateError::Io { action, source, .. } => {
                write!(f, "{path}: {action}: {source}; original left unchanged")
            }
        }
    }
}

impl std::error::Error for AnnotateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AnnotateError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

type Card = [u8; CARD_LEN];

/// Checks a keyword name: 1-8 characters of `A-Z 0-9 _ -`, not reserved.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 8 {
        return Err(format!(
            "a keyword has 1 to 8 characters, this one has {}",
            key.len()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "character {c:?} not allowed in a keyword (only A-Z 0-9 _ -)"
        ));
    }
    let is_naxis_n = key
        .strip_prefix("NAXIS")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()));
    if RESERVED_KEYS.contains(&key) || is_naxis_n {
        return Err(
            "structural, data-scaling and commentary keywords may not be rewritten".to_string(),
        );
    }
    Ok(())
}

fn check_text(text: &str, what: &str) -> Result<(), String> {
    match text.chars().find(|c| !(' '..='~').contains(c)) {
        Some(c) => Err(format!(
            "{what} contains {c:?}; FITS headers allow printable ASCII only"
        )),
        None => Ok(()),
    }
}

/// Shortest text that reads back as exactly `x`, with a `.` and, when that is
/// shorter, an `E` exponent (e.g. `0.5`, `1.0E-7`, `-2.5E+20`).
fn format_real(x: f64) -> Result<String, String> {
    if !x.is_finite() {
        return Err(format!("{x} cannot be written in a FITS header"));
    }
    let plain = format!("{x}");
    let plain = if plain.contains('.') {
        plain
    } else {
        plain + ".0"
    };
    let exp = format!("{x:E}");
    let (mantissa, exponent) = exp.split_once('E').unwrap_or((exp.as_str(), "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    let exponent = match exponent.strip_prefix('-') {
        Some(digits) => format!("-{digits}"),
        None => format!("+{exponent}"),
    };
    let exp = format!("{mantissa}E{exponent}");
    Ok(if exp.len() < plain.len() { exp } else { plain })
}

/// Formats one card per the FITS fixed format (see the module doc).
fn format_card(card: &HeaderCard) -> Result<Card, String> {
    check_key(&card.key)?;
    check_text(&card.comment, "the comment")?;
    let value = match &card.value {
        CardValue::Str(s) => {
            check_text(s, "the string value")?;
            let escaped = s.replace('\'', "''");
            if escaped.len() > MAX_STRING_LEN {
                return Err(format!(
                    "string value of {} characters (quotes doubled) is longer than the {MAX_STRING_LEN} that fit in one card",
                    escaped.len()
                ));
            }
            // Padded to 20 characters like the numbers, so comments line up.
            format!("{:<20}", format!("'{escaped:<8}'"))
        }
        CardValue::Int(i) => format!("{i:>20}"),
        CardValue::Bool(b) => format!("{:>20}", if *b { "T" } else { "F" }),
        CardValue::Real(x) => format!("{:>20}", format_real(*x)?),
    };
    let mut text = format!("{:<8}= {value}", card.key);
    // Room for " / " and at least one character of comment.
    if !card.comment.is_empty() && text.len() + 4 <= CARD_LEN {
        text.push_str(" / ");
        text.push_str(&card.comment);
        text.truncate(CARD_LEN);
    }
    let mut out = [b' '; CARD_LEN];
    out[..text.len()].copy_from_slice(text.as_bytes());
    Ok(out)
}

/// The keyword of a card that has a value (`= ` in columns 9-10).
fn valued_key(card: &Card) -> Option<&[u8]> {
    if &card[8..10] != b"= " {
        return None;
    }
    let key = &card[..8];
    let end = key.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    Some(&key[..end])
}

fn is_end_card(card: &Card) -> bool {
    &card[..3] == b"END" && card[3..].iter().all(|&b| b == b' ')
}

fn is_blank_card(card: &Card) -> bool {
    card.iter().all(|&b| b == b' ')
}

/// A primary header as read: the cards before `END` and its length in blocks.
struct PrimaryHeader {
    cards: Vec<Card>,
    blocks: usize,
}

/// Reads the primary header (up to and including the block with `END`);
/// leaves `reader` at the first byte after it.
fn read_primary_header(reader: &mut impl Read) -> Result<PrimaryHeader, String> {
    let mut cards = Vec::new();
    let mut block = vec![0u8; BLOCK_LEN];
    for blocks in 1..=MAX_HEADER_BLOCKS {
        if let Err(e) = reader.read_exact(&mut block) {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                if blocks == 1 {
                    "shorter than one 2880-byte header block".to_string()
                } else {
                    "the primary header has no END card (truncated file?)".to_string()
                }
            } else {
                format!("cannot read the header: {e}")
            });
        }
        for chunk in block.chunks_exact(CARD_LEN) {
            let mut card = [0u8; CARD_LEN];
            card.copy_from_slice(chunk);
            if blocks == 1 && cards.is_empty() {
                let simple_true = &card[..10] == b"SIMPLE  = " && card[29] == b'T';
                if !simple_true {
                    return Err("it does not start with SIMPLE = T".to_string());
                }
            }
            if is_end_card(&card) {
                return Ok(PrimaryHeader { cards, blocks });
            }
            if let Some(c) = card.iter().find(|&&b| !(b' '..=b'~').contains(&b)) {
                return Err(format!(
                    "header card {} contains byte 0x{c:02x}, not printable ASCII",
                    cards.len() + 1
                ));
            }
            cards.push(card);
        }
    }
    Err(format!(
        "no END card in the first {MAX_HEADER_BLOCKS} header blocks"
    ))
}

/// The new header bytes and what changed.
struct MergedHeader {
    bytes: Vec<u8>,
    blocks: usize,
    updated: Vec<String>,
    added: Vec<String>,
}

/// Puts the new cards into `header` (see the module doc for the rules).
fn merge_cards(header: PrimaryHeader, new_cards: &[(String, Card)]) -> MergedHeader {
    let mut cards = header.cards;
    let mut updated = Vec::new();
    let mut appended = Vec::new();
    let mut added = Vec::new();
    for (key, new_card) in new_cards {
        let matches = |card: &Card| valued_key(card) == Some(key.as_bytes());
        match cards.iter().position(matches) {
            Some(first) => {
                cards[first] = *new_card;
                let mut index = 0;
                cards.retain(|card| {
                    index += 1;
                    index - 1 <= first || !matches(card)
                });
                updated.push(key.clone());
            }
            None => {
                appended.push(*new_card);
                added.push(key.clone());
            }
        }
    }
    // New cards go after the last non-blank card, using up trailing blanks.
    let last_used = cards
        .iter()
        .rposition(|c| !is_blank_card(c))
        .map_or(0, |p| p + 1);
    let trailing_blanks = cards.len() - last_used;
    let kept_blanks = trailing_blanks.saturating_sub(appended.len());
    cards.truncate(last_used);
    cards.extend(appended);
    cards.resize(cards.len() + kept_blanks, [b' '; CARD_LEN]);
    let mut end = [b' '; CARD_LEN];
    end[..3].copy_from_slice(b"END");
    cards.push(end);
    let blocks = cards.len().div_ceil(CARDS_PER_BLOCK).max(header.blocks);
    let mut bytes = cards.concat();
    bytes.resize(blocks * BLOCK_LEN, b' ');
    MergedHeader {
        bytes,
        blocks,
        updated,
        added,
    }
}

/// Copies everything left in `reader` to `writer` and returns its SHA-256.
fn copy_hashing(reader: &mut impl Read, mut writer: impl Write) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; COPY_BUFFER_LEN];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        writer.write_all(&buffer[..n])?;
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when the file starts with the gzip magic bytes.
fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut file = File::open(path)?;
    let mut got = 0;
    while got < 2 {
        match file.read(&mut magic[got..])? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(magic == [0x1f, 0x8b])
}

/// Opens `path` for reading, decompressing when `gzip`.
fn open_reader(path: &Path, gzip: bool) -> io::Result<Box<dyn Read>> {
    let file = BufReader::with_capacity(COPY_BUFFER_LEN, File::open(path)?);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            COPY_BUFFER_LEN,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    })
}

/// Refuses a file that has no write permission for its owner or that this
/// process cannot open for writing (the open neither truncates nor writes).
fn check_writable(path: &Path, meta: &fs::Metadata) -> Result<(), AnnotateError> {
    let read_only = |problem: String| AnnotateError::ReadOnly {
        path: path.to_path_buf(),
        problem,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o200 == 0 {
            return Err(read_only(
                "file is read-only (its owner has no write permission)".to_string(),
            ));
        }
    }
    if meta.permissions().readonly() {
        return Err(read_only("file is read-only".to_string()));
    }
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map(drop)
        .map_err(|e| read_only(format!("file cannot be opened for writing ({e})")))
}

/// The file's identity for "did it change while we worked": size and mtime.
fn fingerprint(meta: &fs::Metadata) -> (u64, Option<std::time::SystemTime>) {
    (meta.len(), meta.modified().ok())
}

/// Writes `cards` into the primary header of the FITS file at `path`, in place
/// and atomically, leaving every byte after the primary header unchanged
/// (checked with SHA-256 before the new file replaces the old one). Works on
/// plain and gzip-compressed FITS files. See the module documentation for the
/// exact rules; on any error the file is left as it was.
pub fn annotate_in_place(
    path: &Path,
    cards: &[HeaderCard],
) -> Result<AnnotateReport, AnnotateError> {
    let io_error = |action: &'static str| {
        move |source: io::Error| AnnotateError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let mut formatted: Vec<(String, Card)> = Vec::with_capacity(cards.len());
    for card in cards {
        let invalid = |problem: String| AnnotateError::InvalidCard {
            path: path.to_path_buf(),
            key: card.key.clone(),
            problem,
        };
        let bytes = format_card(card).map_err(invalid)?;
        if formatted.iter().any(|(key, _)| *key == card.key) {
            return Err(invalid("given more than once".to_string()));
        }
        formatted.push((card.key.clone(), bytes));
    }

    let target = fs::canonicalize(path).map_err(io_error("cannot open"))?;
    let meta = fs::metadata(&target).map_err(io_error("cannot open"))?;
    if !meta.is_file() {
        return Err(AnnotateError::NotFits {
            path: path.to_path_buf(),
            problem: "not a regular file".to_string(),
        });
    }
    check_writable(path, &meta)?;
    let gzip = is_gzip(&target).map_err(io_error("cannot read"))?;

    let mut original = open_reader(&target, gzip).map_err(io_error("cannot read"))?;
    let header = read_primary_header(&mut original).map_err(|problem| AnnotateError::NotFits {
        path: path.to_path_buf(),
        problem,
    })?;
    let header_blocks_before = header.blocks;
    let merged = merge_cards(header, &formatted);

    let mut copy = AtomicFile::create(&target).map_err(|e| AnnotateError::ReadOnly {
        path: path.to_path_buf(),
        problem: format!("cannot create a temporary copy in its directory ({e})"),
    })?;
    fs::set_permissions(copy.temp_path(), meta.permissions())
        .map_err(io_error("cannot set the permissions of the temporary copy"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Keeping the owner only works for root; otherwise the file already
        // belongs to us or the attempt is refused, both harmless.
        let _ = std::os::unix::fs::chown(copy.temp_path(), Some(meta.uid()), Some(meta.gid()));
    }

    let data_sha256 = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(&mut copy, flate2::Compression::default());
        encoder
            .write_all(&merged.bytes)
            .map_err(io_error("cannot write the temporary copy"))?;
        let sha =
            copy_hashing(&mut original, &mut encoder).map_err(io_error("cannot copy the data"))?;
        encoder
            .finish()
            .map_err(io_error("cannot write the temporary copy"))?;
        sha
    } else {
        copy.write_all(&merged.bytes)
            .map_err(io_error("cannot write the temporary copy"))?;
        copy_hashing(&mut original, &mut copy).map_err(io_error("cannot copy the data"))?
    };
    copy.flush()
        .map_err(io_error("cannot write the temporary copy"))?;
    drop(original);

    verify_copy(copy.temp_path(), gzip, &merged.bytes, &data_sha256).map_err(|problem| {
        AnnotateError::Verification {
            path: path.to_path_buf(),
            problem,
        }
    })?;
    let now = fs::metadata(&target).map_err(io_error("cannot open"))?;
    if fingerprint(&now) != fingerprint(&meta) {
        return Err(AnnotateError::Verification {
            path: path.to_path_buf(),
            problem: "the file changed while it was being annotated".to_string(),
        });
    }
    copy.commit()
        .map_err(io_error("cannot replace it with the annotated copy"))?;
    Ok(AnnotateReport {
        updated: merged.updated,
        added: merged.added,
        data_sha256,
        header_blocks_before,
        header_blocks_after: merged.blocks,
    })
}

/// Reads the written copy back: its header must be `header` byte for byte
/// and the SHA-256 of the rest must be `data_sha256`.
fn verify_copy(temp: &Path, gzip: bool, header: &[u8], data_sha256: &str) -> Result<(), String> {
    let mut reader = open_reader(temp, gzip).map_err(|e| format!("cannot reread the copy: {e}"))?;
    let mut written_header = vec![0u8; header.len()];
    reader
        .read_exact(&mut written_header)
        .map_err(|e| format!("cannot reread the copy's header: {e}"))?;
    if written_header != header {
        return Err("the copy's header does not read back as written".to_string());
    }
    let sha = copy_hashing(&mut reader, io::sink())
        .map_err(|e| format!("cannot reread the copy's data: {e}"))?;
    if sha != data_sha256 {
        return Err(format!(
            "data checksum changed (SHA-256 {data_sha256} before, {sha} in the copy)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card_text(card: &HeaderCard) -> String {
        String::from_utf8(format_card(card).expect("valid card").to_vec()).expect("ascii")
    }

    #[test]
    fn fixed_format_columns() {
        let real = card_text(&HeaderCard::new(
            "VLASSRMS",
            CardValue::Real(0.000125),
            "Median rms",
        ));
        assert_eq!(real.len(), 80);
        assert_eq!(&real[..10], "VLASSRMS= ");
        assert_eq!(&real[10..30], "             1.25E-4");
        assert_eq!(&real[30..], " / Median rms".to_string() + &" ".repeat(37));
        let logical = card_text(&HeaderCard::new("QAPASS", CardValue::Bool(true), ""));
        assert_eq!(logical.as_bytes()[29], b'T');
        assert!(logical[30..].trim().is_empty());
        let int = card_text(&HeaderCard::new("VLASSBWN", CardValue::Int(-2), "x"));
        assert_eq!(&int[10..33], "                  -2 / ");
    }

    #[test]
    fn strings_are_quoted_padded_and_quotes_doubled() {
        let text = card_text(&HeaderCard::new(
            "VLASSPL",
            CardValue::Str("a'b".into()),
            "",
        ));
        assert_eq!(&text[10..20], "'a''b    '");
        let long = "x".repeat(68);
        let text = card_text(&HeaderCard::new(
            "K",
            CardValue::Str(long.clone()),
            "dropped",
        ));
        assert_eq!(&text[10..], format!("'{long}'"));
        let too_long = HeaderCard::new("K", CardValue::Str("'".repeat(35)), "");
        assert!(format_card(&too_long)
            .unwrap_err()
            .contains("longer than the 68"));
    }

    #[test]
    fn reals_read_back_exactly_and_have_a_point() {
        for x in [
            0.1,
            1.0,
            -0.0,
            1.0 / 3.0,
            1e-7,
            -2.5e20,
            1.2345678901234567e-4,
            5e-324,
            f64::MAX,
            123456.0,
        ] {
            let text = format_real(x).expect("finite");
            assert!(text.contains('.'), "{text}");
            let back: f64 = text.parse().expect("parses");
            assert_eq!(back.to_bits(), x.to_bits(), "{text}");
        }
        assert_eq!(format_real(1e-7).unwrap(), "1.0E-7");
        assert_eq!(format_real(-2.5e20).unwrap(), "-2.5E+20");
        assert!(format_real(f64::NAN).is_err());
        assert!(format_real(f64::INFINITY).is_err());
    }

    #[test]
    fn keys_are_validated() {
        for bad in [
            "",
            "TOOLONGKEY",
            "lower",
            "A B",
            "NAXIS1",
            "BITPIX",
            "HISTORY",
            "BZERO",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["VLASSRMS", "QA_PASS", "A-1", "NAXISX"] {
            assert!(check_key(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn comment_is_cut_at_column_80_and_must_be_ascii() {
        let text = card_text(&HeaderCard::new("K", CardValue::Int(1), "c".repeat(100)));
        assert_eq!(text.len(), 80);
        assert!(text.ends_with('c'));
        let bad = HeaderCard::new("K", CardValue::Int(1), "µJy");
        assert!(format_card(&bad).unwrap_err().contains("printable ASCII"));
    }
}
