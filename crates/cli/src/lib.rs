//! Conventions every tool of the toolkit shares, so each exists once:
//! the exit-code table, the one-line error printer, `--version` text,
//! the atomic file writer and small JSON helpers.

pub mod atomic;
pub mod exit;
pub mod json;

pub use atomic::{write_atomic, AtomicFile};
pub use exit::ExitCode;

/// Version of the toolkit (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the binary was built from (`-dirty` when the tree had changes).
pub const GIT_COMMIT: &str = env!("VLASS_GIT_COMMIT");
/// Date of that commit (YYYY-MM-DD), used as the build date so builds are reproducible.
pub const BUILD_DATE: &str = env!("VLASS_BUILD_DATE");

/// The start-of-run line `-v` logs on stderr: `tool 0.1.0 (commit abc123, built 2026-12-01)`.
pub fn log_version(tool: &str) {
    eprintln!("{tool} {}", long_version());
}

/// The long version string given to clap: `0.1.0 (commit abc123, 2026-12-01)`.
pub fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| format!("{VERSION} (commit {GIT_COMMIT}, built {BUILD_DATE})"))
}

/// Prints one error line `tool: problem` to stderr. A failure to write to
/// stderr is ignored: there is nowhere left to report it.
pub fn print_error(tool: &str, message: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{tool}: {message}");
}

/// Prints a warning line `tool: warning: problem` to stderr.
pub fn print_warning(tool: &str, message: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{tool}: warning: {message}");
}

/// True when an I/O error means the reader of our stdout went away
/// (`tool | head`): the tool should then exit quietly.
pub fn is_broken_pipe(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::BrokenPipe
}

/// An I/O error as the problem part of an error line: the system's message without Rust's
/// ` (os error N)` suffix (`No such file or directory`, `Permission denied`).
pub fn io_problem(err: &std::io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(_) => without_os_error(&text).to_string(),
        None => text,
    }
}

/// `text` without a trailing ` (os error N)` (N digits), the suffix Rust's I/O errors
/// carry, which tells an operator nothing the message does not.
pub fn without_os_error(text: &str) -> &str {
    if let Some(at) = text.rfind(" (os error ") {
        let code = &text[at + " (os error ".len()..];
        if code
            .strip_suffix(')')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            return &text[..at];
        }
    }
    text
}

/// Restores the default SIGPIPE disposition on Unix so that a closed pipe
/// ends the process quietly instead of a panic inside `println!`.
pub fn reset_sigpipe() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: setting a signal's disposition to its default is async-signal safe
        // and done once at start-up, before any threads exist.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}

/// The most worker threads any tool starts, whatever `--jobs` or the
/// environment ask for (`--jobs 100000` would otherwise start 100 000 threads).
pub const MAX_JOBS: usize = 256;

/// The worker-thread count for `--jobs`: an explicit positive value wins;
/// `0` or absent means "what this slot may use": `RAYON_NUM_THREADS`, then
/// `OMP_NUM_THREADS` (HTCondor sets it to the slot's CPUs), then all cores.
/// Never more than [`MAX_JOBS`].
pub fn effective_jobs(requested: Option<usize>) -> usize {
    jobs_from(requested, |name| std::env::var(name).ok()).min(MAX_JOBS)
}

fn jobs_from(requested: Option<usize>, env: impl Fn(&str) -> Option<String>) -> usize {
    if let Some(n) = requested.filter(|&n| n > 0) {
        return n;
    }
    ["RAYON_NUM_THREADS", "OMP_NUM_THREADS"]
        .iter()
        .filter_map(|name| env(name)?.trim().parse::<usize>().ok())
        .find(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_version_names_version_and_commit() {
        let v = long_version();
        assert!(v.starts_with(VERSION));
        assert!(v.contains("commit "));
    }

    #[test]
    fn io_problems_have_no_os_error_suffix() {
        let missing = std::fs::metadata("/nonexistent/vlass-cli-test").unwrap_err();
        assert_eq!(io_problem(&missing), "No such file or directory");
        let custom = std::io::Error::other("short read (os error 5)");
        assert_eq!(io_problem(&custom), "short read (os error 5)");
    }

    #[test]
    fn jobs_are_capped() {
        assert_eq!(effective_jobs(Some(100_000)), MAX_JOBS);
        assert_eq!(effective_jobs(Some(MAX_JOBS)), MAX_JOBS);
    }

    #[test]
    fn jobs_zero_means_all_cores() {
        assert!(effective_jobs(Some(0)) >= 1);
        assert_eq!(effective_jobs(Some(3)), 3);
    }

    #[test]
    fn jobs_follow_the_slot_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(jobs_from(None, env(&[("OMP_NUM_THREADS", "4")])), 4);
        assert_eq!(
            jobs_from(
                Some(0),
                env(&[("RAYON_NUM_THREADS", "2"), ("OMP_NUM_THREADS", "4")])
            ),
            2
        );
        assert_eq!(jobs_from(Some(5), env(&[("OMP_NUM_THREADS", "4")])), 5);
        // Junk or zero falls through to the next source.
        assert_eq!(
            jobs_from(
                None,
                env(&[("RAYON_NUM_THREADS", "x"), ("OMP_NUM_THREADS", "0")])
            ),
            jobs_from(None, env(&[]))
        );
    }
}
