//! The toolkit's one exit-code table. Every tool maps its outcome to these
//! values and nothing else, so DAGMan's RETRY / ABORT-DAG-ON lines can rely on them.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success: the run passed / QA passed (warnings allowed) / catalogue written |
//! | 1 | failure, permanent: casa-judge says the CASA run failed and a retry will not help; annotate-qa says a product failed QA |
//! | 2 | usage, configuration or input error (bad flag, unreadable or invalid input); soft per-file errors also end with 2 after the run goes on |
//! | 3 | failure, retryable: casa-judge says the run was cut off (signal, eviction, DAGMan -1001/-1002/-1004, unterminated task) |

/// Exit codes shared by all tools. See the module documentation for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: success.
    Success = 0,
    /// 1: a failure that a retry will not fix (casa-judge) or a QA failure (annotate-qa).
    Failure = 1,
    /// 2: usage, configuration or input error.
    Usage = 2,
    /// 3: a failure worth retrying (casa-judge).
    Retryable = 3,
}

impl ExitCode {
    /// The numeric process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

/// The exit-code table as text, for `--help` (`after_help`) of every tool.
pub const EXIT_CODE_HELP: &str = "\
Exit codes (the same for every tool of the toolkit):
  0  success (casa-judge: the run succeeded; annotate-qa: all products pass,
     warnings allowed; component-list: catalogue written, zero components included)
  1  failure, permanent (casa-judge: do not retry; annotate-qa: a product failed QA)
  2  usage, configuration or input error (also after soft per-file errors)
  3  failure, retryable (casa-judge: run cut off by a signal, eviction or
     DAGMan -1001/-1002/-1004, or an unterminated task)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Failure.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::Retryable.code(), 3);
        for n in 0..4 {
            assert!(EXIT_CODE_HELP.contains(&format!("  {n}  ")));
        }
    }
}
