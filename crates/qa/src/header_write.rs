//! Safe in-place FITS header annotation (data unit untouched, atomic replace).
//! (Signatures first; the implementation and its full documentation follow.)

use std::fmt;
use std::path::{Path, PathBuf};

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
    /// Comment written after ` / ` (may be empty).
    pub comment: String,
}

/// What [`annotate_in_place`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotateReport {
    /// Keywords that already existed and were rewritten in place.
    pub updated: Vec<String>,
    /// Keywords that were new and added before `END`.
    pub added: Vec<String>,
    /// SHA-256 (lower-case hex) of everything after the primary header,
    /// identical before and after the annotation.
    pub data_sha256: String,
    /// Number of 2880-byte blocks of the primary header before.
    pub header_blocks_before: usize,
    /// Number of 2880-byte blocks of the primary header after.
    pub header_blocks_after: usize,
}

/// Why an annotation was refused or failed; the file is then unchanged.
#[derive(Debug)]
pub struct AnnotateError {
    path: PathBuf,
    problem: String,
}

impl fmt::Display for AnnotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for AnnotateError {}

/// Writes `cards` into the primary header of the FITS file at `path`.
pub fn annotate_in_place(
    path: &Path,
    cards: &[HeaderCard],
) -> Result<AnnotateReport, AnnotateError> {
    let _ = cards;
    Err(AnnotateError {
        path: path.to_path_buf(),
        problem: "not yet implemented".into(),
    })
}
