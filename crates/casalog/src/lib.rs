//! vlass-casalog: casa-judge's engine. It reads CASA logs as bytes (mapped, or
//! streamed through a reused buffer; `.gz` too), finds the records that matter
//! with a parallel chunked scan, applies the project's standard of a successful CASA run under a
//! per-workflow policy, checks the expected products and returns a
//! [`Judgement`]: verdict, retryable flag, reasons and warnings with evidence,
//! products and the task timeline.
//!
//! Entry point: [`judge_run`]. The pieces are public for tests and reuse:
//! [`record`] (one log line), [`scan`] (finding lines), [`source`] (bytes),
//! [`stream`] (the streaming read),
//! [`rules`] (the standard), [`products`], [`policy`], [`verdict`].

pub mod policy;
pub mod products;
pub mod record;
pub mod rules;
pub mod scan;
pub mod source;
pub mod stream;
pub mod verdict;

pub use policy::{Policy, PolicyError, PolicySettings};
pub use source::{ReadMode, ReadOptions};
pub use verdict::{Code, Judgement, Verdict};
/// Installs the guard that turns a log truncated under its memory map
/// (`--mmap auto`) into one error line and an exit code instead of a crash.
pub use vlass_fits::exit_cleanly_on_truncated_maps;

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// Stream or (where allowed and safe) map.
    pub read: ReadOptions,
    /// Chunk size of the parallel scan (and part size of the streaming read).
    pub chunk_bytes: usize,
    /// Size of each thread's buffer for the streaming read.
    pub buffer_bytes: usize,
    /// Worker threads (at least 1).
    pub jobs: usize,
}

impl JudgeRequest {
    /// A request with the tool's defaults: work directory `.`, every log streamed
    /// (never mapped: a streamed log cannot crash the judge if it is truncated
    /// while read, and streaming is faster; see BENCHMARKS.md),
    /// default chunk size, one thread per core.
    pub fn new(inputs: Vec<PathBuf>) -> JudgeRequest {
        JudgeRequest {
            inputs,
            stdout: None,
            stderr: None,
            exit_status: None,
            workdir: PathBuf::from("."),
            read: ReadOptions {
                mode: ReadMode::Read,
                ..ReadOptions::default()
            },
            chunk_bytes: scan::DEFAULT_CHUNK_BYTES,
            buffer_bytes: stream::DEFAULT_BUFFER_BYTES,
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
    JudgeError::Input(source::source_error(path, problem))
}

const SHRANK: &str = "the file got shorter while it was read (is something still writing it?)";
const EMPTY_LOG: &str = "empty file, no CASA log records";
/// The problem of a log whose first line holds NUL bytes.
pub(crate) const NOT_A_LOG_BINARY: &str = "not a CASA log (binary data)";
const NOT_A_LOG_TEXT: &str =
    "not a CASA log: line 1 is not a 'time TAB priority TAB origin TAB message' record";

/// What is wrong with a log whose first line (without `\n`) is `first_line`,
/// if it cannot be a CASA log: a judge that cannot read its evidence must not
/// pass the run.
pub(crate) fn first_line_problem(first_line: &[u8]) -> Option<&'static str> {
    if record::parse_line(first_line).is_some() {
        None
    } else if first_line[..first_line.len().min(4096)].contains(&0) {
        Some(NOT_A_LOG_BINARY)
    } else {
        Some(NOT_A_LOG_TEXT)
    }
}

/// Refuses bytes that cannot be a CASA log.
fn check_is_log(path: &Path, bytes: &[u8]) -> Result<(), JudgeError> {
    if bytes.is_empty() {
        return Err(input_error(path, EMPTY_LOG));
    }
    let first_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    match first_line_problem(&bytes[..first_end]) {
        Some(problem) => Err(input_error(path, problem)),
        None => Ok(()),
    }
}

/// The logs' task timelines joined in log order as the logs are judged (in any
/// order).
#[derive(Default)]
struct Timeline {
    /// Index of the next log whose tasks are to be appended.
    next: usize,
    /// Tasks of later logs judged before the next one.
    waiting: std::collections::BTreeMap<usize, Vec<verdict::TaskSpan>>,
    /// The tasks of logs `0..next`, in order.
    joined: verdict::Timeline,
}

impl Timeline {
    /// Adds the tasks of log number `log`, joining all that can be joined in order.
    fn add(timeline: &Mutex<Timeline>, log: usize, tasks: Vec<verdict::TaskSpan>) {
        let mut t = lock(timeline);
        t.waiting.insert(log, tasks);
        while let Some(tasks) = {
            let next = t.next;
            t.waiting.remove(&next)
        } {
            t.joined.push_log(tasks);
            t.next += 1;
        }
    }
}

fn lock(timeline: &Mutex<Timeline>) -> std::sync::MutexGuard<'_, Timeline> {
    timeline
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads, scans and walks log number `index` (its chunks or parts on the
/// pool): what the rules need of it; its tasks go to `timeline`. Its bytes are
/// released before this returns, on the pool: tearing down the mapping of a
/// large log takes a while.
fn collect_one(
    path: &Path,
    index: usize,
    request: &JudgeRequest,
    policy: &Policy,
    timeline: &Mutex<Timeline>,
) -> Result<rules::LogFindings, JudgeError> {
    let mut findings = collect_unjoined(path, request, policy)?;
    Timeline::add(timeline, index, findings.take_tasks());
    Ok(findings)
}

/// [`collect_one`] before its tasks are joined to the timeline.
fn collect_unjoined(
    path: &Path,
    request: &JudgeRequest,
    policy: &Policy,
) -> Result<rules::LogFindings, JudgeError> {
    let name = path.display().to_string();
    match source::open(path, &request.read)? {
        source::OpenedLog::Mapped(map) => {
            check_is_log(path, &map)?;
            let scan = scan::scan_files(&[&map[..]], request.chunk_bytes)
                .pop()
                .unwrap_or_default();
            let log = rules::ScannedLog::from_bytes(name, &map, &scan);
            Ok(rules::collect_log(&log, policy))
        }
        source::OpenedLog::Stream { input, gzip } => {
            let streamed = stream::stream_log(input, request.chunk_bytes, request.buffer_bytes)
                .map_err(|e| match e {
                    stream::StreamError::Io(e) => input_error(path, source::read_problem(&e, gzip)),
                    stream::StreamError::Shrank => input_error(path, SHRANK),
                })?;
            if streamed.bytes == 0 {
                return Err(input_error(path, EMPTY_LOG));
            }
            if let Some(problem) = streamed.first_line_problem {
                return Err(input_error(path, problem));
            }
            if let Some(line) = streamed.unjudgeable_cut_line() {
                return Err(input_error(path, line.problem()));
            }
            let log = rules::ScannedLog::from_streamed(name, &streamed);
            let findings = rules::collect_log(&log, policy);
            streamed.recycle();
            Ok(findings)
        }
    }
}

/// Evidence for the `skipped_input` warning.
fn skipped_input(path: &Path, text: &str) -> verdict::Evidence {
    verdict::Evidence {
        file: path.display().to_string(),
        line: None,
        time: None,
        priority: None,
        origin: None,
        text: text.to_string(),
    }
}

fn read_stream(path: &Path) -> Result<Vec<u8>, JudgeError> {
    std::fs::read(path).map_err(|e| input_error(path, e))
}

/// Judges one CASA run: finds and loads the logs, scans them on `request.jobs`
/// threads, reads stdout/stderr, checks the policy's products and applies the
/// standard.
pub fn judge_run(request: &JudgeRequest, policy: &Policy) -> Result<Judgement, JudgeError> {
    let discovered = source::discover_logs(&request.inputs)?;
    let log_paths = discovered.logs;
    let mut skipped: Vec<verdict::Evidence> = discovered
        .not_casa
        .iter()
        .map(|path| {
            skipped_input(
                path,
                "an HTCondor job event log, not a CASA log (found by the search; left out)",
            )
        })
        .collect();
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
        // Logs one after another as the pool takes them, each log's chunks or parts
        // in parallel too: the memory of a judged log is reused for the next ones.
        // The threads take the logs in order (so the timeline's memory can be
        // reused at once); the results are put back in order.
        let timeline = Mutex::new(Timeline::default());
        let mut judged: Vec<(usize, Result<rules::LogFindings, JudgeError>)> = log_paths
            .iter()
            .enumerate()
            .par_bridge()
            .map(|(i, path)| (i, collect_one(path, i, request, policy, &timeline)))
            .collect();
        judged.sort_unstable_by_key(|(i, _)| *i);
        let logs = judged
            .into_iter()
            .map(|(_, findings)| findings)
            .collect::<Result<_, _>>()?;
        let timeline = timeline
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .joined;
        let mut stream_bytes = Vec::new();
        for (path, what) in [(&request.stdout, "--stdout"), (&request.stderr, "--stderr")] {
            let Some(path) = path else { continue };
            match std::fs::metadata(path) {
                // A DAG's POST line names the job's output files whether or not the
                // job ran (DAGMan skips it when its PRE script fails): judged without.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let text = format!("{what} file does not exist; judged without it");
                    skipped.push(skipped_input(path, &text));
                }
                _ => stream_bytes.push((path.display().to_string(), read_stream(path)?)),
            }
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
            timeline,
            streams,
            exit_status: request.exit_status,
            products,
            skipped,
        };
        Ok(rules::judge(evidence, policy))
    })
}
