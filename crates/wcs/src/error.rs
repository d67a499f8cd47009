//! The error type of WCS construction.

use std::fmt;

/// Why a header does not give a usable celestial WCS.
///
/// Display: `keyword K: problem` when a keyword is to blame, else `problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WcsError {
    keyword: Option<String>,
    problem: String,
}

impl WcsError {
    pub(crate) fn keyword(key: &str, problem: String) -> WcsError {
        WcsError {
            keyword: Some(key.to_string()),
            problem,
        }
    }

    pub(crate) fn general(problem: &str) -> WcsError {
        WcsError {
            keyword: None,
            problem: problem.to_string(),
        }
    }

    /// The header keyword that is missing or wrong, if one is to blame.
    pub fn keyword_name(&self) -> Option<&str> {
        self.keyword.as_deref()
    }

    /// What is wrong, without the keyword.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for WcsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keyword {
            Some(key) => write!(f, "keyword {key}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for WcsError {}
