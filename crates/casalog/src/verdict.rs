//! The judgement: verdict, reasons and warnings with their evidence, product
//! checks and the task timeline, plus its two renderings (versioned JSON for
//! machines, a short text for operators).

use crate::record::{starts_with_time, TIME_LEN};
use serde::{Serialize, Serializer};
use std::num::NonZeroU64;
use std::sync::Arc;

/// Version tag of the JSON document; bump the number on any incompatible change.
pub const SCHEMA: &str = "casa-judge/1";

/// Stable identifiers of reasons and warnings (the JSON `code` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Rule 1: a SEVERE record from flagmanager or its flagging tools.
    SevereFlagmanager,
    /// Rule 1: any other SEVERE record not on the benign list.
    Severe,
    /// Rule 2: `Task X raised an exception`.
    TaskException,
    /// Rule 3: a `Begin Task` without its `End Task`.
    UnterminatedTask,
    /// Rule 4: tclean divergence.
    Divergence,
    /// Rule 5: an expected product glob matched nothing.
    MissingProduct,
    /// Rule 5: a product exists but is not sound.
    InvalidProduct,
    /// Rule 6: the process was killed by a signal.
    Killed,
    /// Rule 6: DAGMan `$RETURN` -1001, the job's submission failed.
    DagmanSubmitFailed,
    /// Rule 6: DAGMan `$RETURN` -1002, the job was removed from the queue.
    DagmanJobRemoved,
    /// Rule 6: DAGMan `$RETURN` -1004, the job was skipped (PRE script failed).
    DagmanJobSkipped,
    /// Rule 6: another negative `$RETURN` DAGMan uses for its own errors.
    DagmanError,
    /// Rule 6: positive non-zero exit status.
    NonzeroExit,
    /// No CASA log and nothing else that shows the run worked.
    NoLog,
    /// Warning: non-zero exit although everything else shows success.
    FalseFailure,
    /// Warning: a SEVERE record on the benign list.
    BenignSevere,
    /// Warning: WARN records.
    CasaWarn,
    /// Warning: a Python traceback on stdout/stderr not already part of a reason.
    PythonTraceback,
    /// Warning: one log file holds several CASA sessions (a re-used log name).
    MultipleSessions,
    /// Warning: an input was not judged: an HTCondor job event log found by the
    /// directory search under a CASA log name, or a `--stdout`/`--stderr` file
    /// that does not exist.
    SkippedInput,
}

impl Code {
    /// The identifier as written in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::SevereFlagmanager => "severe_flagmanager",
            Code::Severe => "severe",
            Code::TaskException => "task_exception",
            Code::UnterminatedTask => "unterminated_task",
            Code::Divergence => "divergence",
            Code::MissingProduct => "missing_product",
            Code::InvalidProduct => "invalid_product",
            Code::Killed => "killed",
            Code::DagmanSubmitFailed => "dagman_submit_failed",
            Code::DagmanJobRemoved => "dagman_job_removed",
            Code::DagmanJobSkipped => "dagman_job_skipped",
            Code::DagmanError => "dagman_error",
            Code::NonzeroExit => "nonzero_exit",
            Code::NoLog => "no_log",
            Code::FalseFailure => "false_failure",
            Code::BenignSevere => "benign_severe",
            Code::CasaWarn => "casa_warn",
            Code::PythonTraceback => "python_traceback",
            Code::MultipleSessions => "multiple_sessions",
            Code::SkippedInput => "skipped_input",
        }
    }

    /// Reasons that show the run was cut off (a retry may succeed).
    pub fn is_cut_off(self) -> bool {
        matches!(
            self,
            Code::UnterminatedTask
                | Code::Killed
                | Code::DagmanSubmitFailed
                | Code::DagmanJobRemoved
                | Code::DagmanJobSkipped
                | Code::DagmanError
        )
    }

    /// Reasons that point to a cause a retry cannot fix.
    pub fn is_permanent_cause(self) -> bool {
        matches!(
            self,
            Code::SevereFlagmanager | Code::Severe | Code::TaskException | Code::Divergence
        )
    }
}

/// One piece of evidence: a log record, a line of stdout/stderr, or a product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The file, as named on the command line (or found in a named directory).
    pub file: String,
    /// 1-based line number, absent for products and exit statuses.
    pub line: Option<u64>,
    /// Record time (UTC), when the evidence is a log record.
    pub time: Option<String>,
    /// Record priority, when the evidence is a log record.
    pub priority: Option<String>,
    /// Record origin, when the evidence is a log record.
    pub origin: Option<String>,
    /// The message (continuation lines joined with `\n`) or a description.
    pub text: String,
}

/// A reason (failed rule) or a warning, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier.
    pub code: Code,
    /// One sentence for a human.
    pub message: String,
    /// Supporting records in file and line order (at most the policy's `maxevidence`).
    pub evidence: Vec<Evidence>,
    /// How many pieces of evidence there were before the cap.
    pub evidence_total: usize,
}

/// Result of checking one expected product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductResult {
    /// The glob as given (relative to the work directory).
    pub pattern: String,
    /// The matched path relative to the work directory; `null` when nothing matched.
    pub path: Option<String>,
    /// `ok`, `missing` or `invalid`.
    pub status: ProductStatus,
    /// What is wrong, for `missing` and `invalid`.
    pub problem: Option<String>,
}

/// Status of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Exists and is sound.
    Ok,
    /// The glob matched nothing.
    Missing,
    /// Exists but is empty, truncated or incomplete.
    Invalid,
}

/// A record time `YYYY-MM-DD HH:MM:SS` (UTC), packed into 8 bytes: its 14
/// digits as 4-bit nibbles below a marker bit (which keeps it non-zero, so an
/// absent time costs nothing more). A big log has hundreds of thousands of
/// tasks, and each keeps two times.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RecordTime(NonZeroU64);

/// Where the digits of a time stamp are.
const TIME_DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/// A record time written out as `YYYY-MM-DD HH:MM:SS` ([`RecordTime::text`]).
pub struct TimeText([u8; TIME_LEN]);

impl TimeText {
    /// The time as text.
    pub fn as_str(&self) -> &str {
        // Digits and separators only, so always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl RecordTime {
    /// The time of a record's time field; `None` unless `time` is a time stamp.
    pub fn parse(time: &[u8]) -> Option<RecordTime> {
        if time.len() != TIME_LEN || !starts_with_time(time) {
            return None;
        }
        let packed = TIME_DIGITS
            .iter()
            .fold(1u64, |acc, &i| (acc << 4) | u64::from(time[i] & 0x0f));
        NonZeroU64::new(packed).map(RecordTime)
    }

    /// The time as the text it was parsed from.
    pub fn text(&self) -> TimeText {
        let mut out = *b"0000-00-00 00:00:00";
        let mut rest = self.0.get();
        for &i in TIME_DIGITS.iter().rev() {
            out[i] = b'0' | (rest & 0x0f) as u8;
            rest >>= 4;
        }
        TimeText(out)
    }

    /// Seconds since 1970-01-01 00:00:00 UTC; `None` for a stamp that is no
    /// calendar time (month 13, say) ([`crate::record::time_to_seconds`]).
    pub fn seconds(&self) -> Option<i64> {
        crate::record::time_to_seconds(&self.text().0)
    }
}

impl std::fmt::Display for RecordTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl std::fmt::Debug for RecordTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.text().as_str(), f)
    }
}

impl Serialize for RecordTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text().as_str())
    }
}

/// One task of the timeline (64 bytes: a big log has hundreds of thousands).
/// In JSON it also has `duration_s` ([`TaskSpan::duration_s`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpan {
    /// Task name from the `Begin Task` banner (shared by the tasks of one name).
    pub name: Arc<str>,
    /// Log file (shared by the tasks of one log).
    pub file: Arc<str>,
    /// Line of the `Begin Task` banner.
    pub line: u64,
    /// Record time of the `Begin Task` banner (UTC).
    pub start: RecordTime,
    /// Record time of the `End Task` banner, absent when the task never ended.
    pub end: Option<RecordTime>,
    /// `ok`, `exception` (the task raised; the wrapper still logged End Task) or `unterminated`.
    pub status: TaskStatus,
}

impl TaskSpan {
    /// `end - start` in whole seconds (record times have one-second
    /// resolution); `None` without an end or when a time is no calendar time.
    pub fn duration_s(&self) -> Option<i64> {
        Some(self.end?.seconds()? - self.start.seconds()?)
    }
}

impl Serialize for TaskSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut task = serializer.serialize_struct("TaskSpan", 7)?;
        task.serialize_field("name", &*self.name)?;
        task.serialize_field("file", &*self.file)?;
        task.serialize_field("line", &self.line)?;
        task.serialize_field("start", &self.start)?;
        task.serialize_field("end", &self.end)?;
        task.serialize_field("duration_s", &self.duration_s())?;
        task.serialize_field("status", &self.status)?;
        task.end()
    }
}

/// The task timeline: the tasks of each log, in log order, kept in the vectors
/// they were collected in (joining a big run's logs into one vector would copy
/// every task). Iterates, compares and serializes as one flat sequence.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    segments: Vec<Vec<TaskSpan>>,
}

impl Timeline {
    /// Appends the tasks of the next log.
    pub fn push_log(&mut self, tasks: Vec<TaskSpan>) {
        if !tasks.is_empty() {
            self.segments.push(tasks);
        }
    }

    /// The tasks in order.
    pub fn iter(&self) -> impl Iterator<Item = &TaskSpan> + '_ {
        self.segments.iter().flatten()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    /// True without any task.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

impl<'a> IntoIterator for &'a Timeline {
    type Item = &'a TaskSpan;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<TaskSpan>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.segments.iter().flatten()
    }
}

impl PartialEq for Timeline {
    fn eq(&self, other: &Timeline) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Serialize for Timeline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Begin and End, no exception.
    Ok,
    /// The wrapper logged `Task X raised an exception`.
    Exception,
    /// No `End Task`: the process stopped inside the task.
    Unterminated,
}

/// A log that was judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSummary {
    /// Path as given or found.
    pub file: String,
    /// Number of lines.
    pub lines: u64,
}

/// The complete judgement of one CASA run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `success` or `failure`.
    pub verdict: Verdict,
    /// For a failure: true when a retry may succeed. Always false for a success.
    pub retryable: bool,
    /// The policy applied.
    pub policy: String,
    /// Every failed rule, in rule order; empty for a success.
    pub reasons: Vec<Finding>,
    /// Things worth knowing that did not fail the run.
    pub warnings: Vec<Finding>,
    /// The exit status given (`--exit-status`), verbatim.
    pub exit_status: Option<i64>,
    /// Logs judged, in order.
    pub logs: Vec<LogSummary>,
    /// Expected products and their checks.
    pub products: Vec<ProductResult>,
    /// Tasks found in the logs, in file and line order.
    pub tasks: Timeline,
}

/// Success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every rule of the standard holds.
    Success,
    /// At least one rule failed.
    Failure,
}

impl Judgement {
    /// Reason codes in order (handy for tests and summaries).
    pub fn reason_codes(&self) -> Vec<&'static str> {
        self.reasons.iter().map(|f| f.code.as_str()).collect()
    }

    /// Warning codes in order.
    pub fn warning_codes(&self) -> Vec<&'static str> {
        self.warnings.iter().map(|f| f.code.as_str()).collect()
    }

    /// The one-line verdict, e.g. `failure (retryable): unterminated_task, killed`.
    pub fn headline(&self) -> String {
        match self.verdict {
            Verdict::Success if self.warnings.is_empty() => "success".to_string(),
            Verdict::Success => {
                format!("success with warnings: {}", self.warning_codes().join(", "))
            }
            Verdict::Failure => format!(
                "failure ({}): {}",
                if self.retryable {
                    "retryable"
                } else {
                    "permanent"
                },
                self.reason_codes().join(", ")
            ),
        }
    }

    /// The text report: the verdict line, then each reason (and with
    /// `verbose` each warning and the task timeline) with `file:line` evidence.
    pub fn to_text(&self, verbose: bool) -> String {
        let mut out = format!("{}\n", self.headline());
        let mut section = |title: &str, findings: &[Finding]| {
            for f in findings {
                out.push_str(&format!("{title} {}: {}\n", f.code.as_str(), f.message));
                for e in &f.evidence {
                    let place = match e.line {
                        Some(l) => format!("{}:{l}", e.file),
                        None => e.file.clone(),
                    };
                    let first_line = e.text.lines().next().unwrap_or("");
                    out.push_str(&format!("    {place}: {first_line}\n"));
                }
                if f.evidence_total > f.evidence.len() {
                    out.push_str(&format!(
                        "    ... {} more\n",
                        f.evidence_total - f.evidence.len()
                    ));
                }
            }
        };
        section("  reason", &self.reasons);
        if verbose {
            section("  warning", &self.warnings);
        } else {
            for w in &self.warnings {
                out.push_str(&format!("  warning {}: {}\n", w.code.as_str(), w.message));
            }
        }
        if verbose {
            for t in &self.tasks {
                out.push_str(&format!(
                    "  task {} {}:{} {} .. {} ({}) {:?}\n",
                    t.name,
                    t.file,
                    t.line,
                    t.start,
                    t.end.map_or("-".to_string(), |e| e.to_string()),
                    t.duration_s().map_or("-".to_string(), |d| format!("{d} s")),
                    t.status
                ));
            }
        }
        out
    }

    /// The task timeline as tab-separated text with a header line.
    pub fn timeline_tsv(&self) -> String {
        let mut out = String::from("task\tstatus\tstart\tend\tduration_s\tfile\tline\n");
        for t in &self.tasks {
            let status = match t.status {
                TaskStatus::Ok => "ok",
                TaskStatus::Exception => "exception",
                TaskStatus::Unterminated => "unterminated",
            };
            out.push_str(&format!(
                "{}\t{status}\t{}\t{}\t{}\t{}\t{}\n",
                t.name,
                t.start,
                t.end.map_or(String::new(), |e| e.to_string()),
                t.duration_s().map_or(String::new(), |d| d.to_string()),
                t.file,
                t.line
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_time_keeps_a_stamp_and_writes_it_as_text() {
        let t = RecordTime::parse(b"2026-11-25 13:30:58").expect("a time stamp");
        assert_eq!(t.text().as_str(), "2026-11-25 13:30:58");
        for stamp in [
            "0000-00-00 00:00:00",
            "9999-99-99 99:99:99",
            "2026-02-31 24:61:60",
        ] {
            let t = RecordTime::parse(stamp.as_bytes()).expect("the shape of a time stamp");
            assert_eq!(t.to_string(), stamp, "kept as written");
        }
        let (a, b) = (
            RecordTime::parse(b"2026-12-31 23:59:58").unwrap(),
            RecordTime::parse(b"2027-01-01 00:00:03").unwrap(),
        );
        assert_eq!(b.seconds().unwrap() - a.seconds().unwrap(), 5);
        assert_eq!(
            RecordTime::parse(b"2026-13-01 00:00:00").unwrap().seconds(),
            None
        );
        assert_eq!(t.to_string(), "2026-11-25 13:30:58");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-25 13:30:58\""
        );
        assert!(RecordTime::parse(b"2026-11-25 13:30:5").is_none());
        assert!(RecordTime::parse(b"2026-11-25 13:30:58\t").is_none());
        assert!(RecordTime::parse(b"2026-11-25T13:30:58").is_none());
    }
}
