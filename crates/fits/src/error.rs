//! The one error type of this crate: a single printable line naming the file,
//! the HDU and the keyword involved.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong with a FITS file.
///
/// Display: `<path>: [HDU n: ][keyword K: ]<problem>`, one line. HDUs are
/// numbered from 0 (the primary HDU), as astropy does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitsError {
    path: PathBuf,
    hdu: Option<usize>,
    keyword: Option<String>,
    problem: String,
}

impl FitsError {
    /// An error about the file as a whole.
    pub fn file(path: &Path, problem: impl Into<String>) -> FitsError {
        FitsError {
            path: path.to_path_buf(),
            hdu: None,
            keyword: None,
            problem: problem.into(),
        }
    }

    /// An error about one HDU.
    pub fn hdu(path: &Path, hdu: usize, problem: impl Into<String>) -> FitsError {
        FitsError {
            hdu: Some(hdu),
            ..FitsError::file(path, problem)
        }
    }

    /// An error about one keyword of one HDU.
    pub fn keyword(path: &Path, hdu: usize, key: &str, problem: impl Into<String>) -> FitsError {
        FitsError {
            hdu: Some(hdu),
            keyword: Some(key.to_string()),
            ..FitsError::file(path, problem)
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The HDU (0 = primary), if the error concerns one.
    pub fn hdu_index(&self) -> Option<usize> {
        self.hdu
    }

    /// The header keyword, if the error concerns one.
    pub fn keyword_name(&self) -> Option<&str> {
        self.keyword.as_deref()
    }

    /// The problem without the file/HDU/keyword prefix.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for FitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        if let Some(hdu) = self.hdu {
            write!(f, "HDU {hdu}: ")?;
        }
        if let Some(key) = &self.keyword {
            write!(f, "keyword {key}: ")?;
        }
        // Keep the promise of one line even if a message from below has more.
        let mut lines = self.problem.lines();
        f.write_str(lines.next().unwrap_or(""))?;
        for line in lines {
            write!(f, "; {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FitsError {}
