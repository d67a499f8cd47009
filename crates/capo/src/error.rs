//! Configuration errors. Each names what an operator needs to fix it: the file and line of a
//! syntax error, or the key, value and origin of a value that does not fit.

use crate::settings::Origin;
use std::fmt;
use std::path::PathBuf;

/// A configuration problem; tools report it and exit with the usage/configuration code (2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapoError {
    /// A CAPO file that pycapo would also refuse (or would silently misread).
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The profile given cannot be used.
    Profile(String),
    /// A value that is not of the type its key needs.
    Invalid {
        /// Lower-case key.
        key: String,
        /// The value as found.
        value: String,
        /// Where it came from: a CAPO file and line, a flag, or the default.
        origin: Origin,
        /// What was expected, e.g. `a finite number`.
        expected: String,
    },
    /// A key with no value in any layer.
    Missing {
        /// Lower-case key.
        key: String,
    },
    /// A flag named a key the tool does not know.
    UnknownKey {
        /// The key as given.
        key: String,
        /// The flag it came from.
        origin: String,
    },
    /// A short key name that fits several known keys.
    AmbiguousKey {
        /// The key as given.
        key: String,
        /// The known keys it could mean.
        candidates: Vec<String>,
    },
    /// A flag argument that is not `KEY=VALUE`.
    NotAnAssignment {
        /// The argument.
        text: String,
        /// The flag it came from.
        origin: String,
    },
}

impl fmt::Display for CapoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapoError::Syntax {
                file,
                line,
                problem,
            } => {
                write!(f, "{}:{line}: {problem}", file.display())
            }
            CapoError::Profile(problem) => f.write_str(problem),
            CapoError::Invalid {
                key,
                value,
                origin,
                expected,
            } => match origin {
                // Like a syntax error: `FILE:LINE: key: problem`.
                Origin::Capo { file, line } => write!(
                    f,
                    "{}:{line}: {key}: value '{value}' is not {expected}",
                    file.display()
                ),
                Origin::Flag { flag } => {
                    write!(f, "{flag}: {key}: value '{value}' is not {expected}")
                }
                Origin::Default => {
                    write!(f, "{key}: built-in default '{value}' is not {expected}")
                }
            },
            CapoError::Missing { key } => {
                write!(
                    f,
                    "setting {key} has no value (no default, CAPO entry or flag)"
                )
            }
            CapoError::UnknownKey { key, origin } => write!(
                f,
                "unknown setting '{key}' ({origin}); --show-config lists the known keys"
            ),
            CapoError::AmbiguousKey { key, candidates } => write!(
                f,
                "setting name '{key}' is ambiguous: it could be {}",
                candidates.join(", ")
            ),
            CapoError::NotAnAssignment { text, origin } => {
                write!(f, "'{text}' ({origin}) is not KEY=VALUE")
            }
        }
    }
}

impl std::error::Error for CapoError {}
