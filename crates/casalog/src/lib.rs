//! vlass-casalog: casa-judge's engine. It reads CASA logs as bytes (mapped or
//! read, `.gz` too), finds the records that matter with a parallel chunked
//! scan, applies the project's standard of a successful CASA run under a
//! per-workflow policy, checks the expected products and returns a
//! [`Judgement`]: verdict, retryable flag, reasons and warnings with evidence,
//! products and the task timeline.
//!
//! Entry point: [`judge_run`]. The pieces are public for tests and reuse:
//! [`record`] (one log line), [`scan`] (finding lines), [`source`] (bytes),
//! [`rules`] (the standard), [`products`], [`policy`], [`verdict`].

pub mod policy;
pub mod products;
pub mod record;
pub mod rules;
pub mod scan;
pub mod source;
pub mod verdict;

pub use policy::{Policy, PolicyError, PolicySettings};
pub use source::{ReadMode, ReadOptions};
pub use verdict::{Code, Judgement, Verdict};

use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What to judge and how to read it.
#[derive(Debug, Clone)]
pub struct JudgeRequest {
    /// Log files and directories to search for logs.
    pub inputs: Vec<PathBuf>,
    /// Captured stdout of the CASA process.
    pub stdout: Option<PathBuf>,
    /// Captured stderr of the CASA process.
    pub stderr: Option<PathBuf>,
    /// The process exit status or DAGMan's `$RETURN`, verbatim.
    pub exit_status: Option<i64>,
    /// Directory the product globs are relative to.
    pub workdir: PathBuf,
    /// Map or read.
    pub read: ReadOptions,
    /// Chunk size of the parallel scan.
    pub chunk_bytes: usize,
    /// Worker threads (at least 1).
    pub jobs: usize,
}

impl JudgeRequest {
    /// A request with the tool's defaults: work directory `.`, automatic mapping,
    /// default chunk size, one thread per core.
    pub fn new(inputs: Vec<PathBuf>) -> JudgeRequest {
        JudgeRequest {
            inputs,
            stdout: None,
            stderr: None,
            exit_status: None,
            workdir: PathBuf::from("."),
            read: ReadOptions::default(),
            chunk_bytes: scan::DEFAULT_CHUNK_BYTES,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Why a run could not be judged (the tool exits 2). Display: `path: problem`
/// or a plain sentence.
#[derive(Debug)]
pub enum JudgeError {
    /// A log, directory or stream could not be read.
    Input(source::SourceError),
    /// A policy value is invalid.
    Policy(PolicyError),
    /// Nothing to judge at all.
    NoEvidence(String),
}

impl std::fmt::Display for JudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JudgeError::Input(e) => e.fmt(f),
            JudgeError::Policy(e) => e.fmt(f),
            JudgeError::NoEvidence(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for JudgeError {}

impl From<source::SourceError> for JudgeError {
    fn from(e: source::SourceError) -> Self {
        JudgeError::Input(e)
    }
}

fn input_error(path: &Path, problem: impl std::fmt::Display) -> JudgeError {
    JudgeError::Input(source::SourceError {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    })
}

/// Refuses bytes that cannot be a CASA log: a judge that cannot read its
/// evidence must not pass the run.
fn check_is_log(path: &Path, bytes: &[u8]) -> Result<(), JudgeError> {
    if bytes.is_empty() {
        return Err(input_error(path, "empty file, no CASA log records"));
    }
    let first_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    if record::parse_line(&bytes[..first_end]).is_none() {
        let problem = if bytes[..first_end.min(4096)].contains(&0) {
            "not a CASA log (binary data)".to_string()
        } else {
            "not a CASA log: line 1 is not a 'time TAB priority TAB origin TAB message' record"
                .to_string()
        };
        return Err(input_error(path, problem));
    }
    Ok(())
}

fn read_stream(path: &Path) -> Result<Vec<u8>, JudgeError> {
    std::fs::read(path).map_err(|e| input_error(path, e))
}

/// Judges one CASA run: finds and loads the logs, scans them on `request.jobs`
/// threads, reads stdout/stderr, checks the policy's products and applies the
/// standard.
pub fn judge_run(request: &JudgeRequest, policy: &Policy) -> Result<Judgement, JudgeError> {
    let log_paths = source::discover_logs(&request.inputs)?;
    if log_paths.is_empty() && request.exit_status.is_none() {
        return Err(JudgeError::NoEvidence(
            "nothing to judge: no CASA log found and no --exit-status given".to_string(),
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(request.jobs.max(1))
        .build()
        .map_err(|e| JudgeError::NoEvidence(format!("cannot start worker threads: {e}")))?;
    pool.install(|| {
        let loaded: Vec<source::LogBytes> = log_paths
            .par_iter()
            .map(|p| {
                let bytes = source::load(p, &request.read)?;
                check_is_log(p, bytes.as_slice())?;
                Ok(bytes)
            })
            .collect::<Result<_, JudgeError>>()?;
        let scans = {
            let slices: Vec<&[u8]> = loaded.iter().map(source::LogBytes::as_slice).collect();
            scan::scan_files(&slices, request.chunk_bytes)
        };
        // Each log's findings on the pool, its bytes released right after: tearing
        // down the mapping of a large log takes a while, so it is done in parallel too.
        let logs = log_paths
            .par_iter()
            .zip(loaded)
            .zip(scans)
            .map(|((path, bytes), scan)| {
                let log = rules::ScannedLog {
                    name: path.display().to_string(),
                    bytes: bytes.as_slice(),
                    scan,
                };
                rules::collect_log(&log, policy)
            })
            .collect();
        let mut stream_bytes = Vec::new();
        for path in [&request.stdout, &request.stderr].into_iter().flatten() {
            stream_bytes.push((path.display().to_string(), read_stream(path)?));
        }
        let streams = stream_bytes
            .iter()
            .map(|(name, bytes)| rules::Stream {
                name: name.clone(),
                bytes,
            })
            .collect();
        let products = products::check_products(&request.workdir, &policy.expected_products)
            .map_err(|e| JudgeError::Policy(PolicyError(e)))?;
        let evidence = rules::RunEvidence {
            logs,
            streams,
            exit_status: request.exit_status,
            products,
        };
        Ok(rules::judge(evidence, policy))
    })
}
