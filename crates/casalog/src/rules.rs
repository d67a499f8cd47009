//! The standard: from log records, stdout/stderr, products and the exit
//! status to reasons and warnings (rules 1-6 of the README, in that order).

use crate::policy::Policy;
use crate::record::{find_embedded_record, parse_line, strip_cr, Record};
use crate::scan::{FileScan, LineHit};
use crate::stream::{last_line, CutLine, StreamedLog};
use crate::verdict::{
    Code, Evidence, Finding, Judgement, LogSummary, ProductResult, ProductStatus, RecordTime,
    TaskSpan, TaskStatus, Timeline, Verdict, SCHEMA,
};
use memchr::memmem;
use regex::bytes::Regex;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::OnceLock;

/// Longest evidence text kept (longer messages are cut, marked with `...`).
const MAX_TEXT: usize = 2000;

/// One log's lines of interest and where their bytes are: what the rules read
/// of a log.
pub struct ScannedLog<'a> {
    /// Name shown in evidence.
    pub name: String,
    /// Number of lines in the log.
    pub line_count: u64,
    /// The lines of interest in file order, in pieces (line numbers absolute).
    pub pieces: Vec<HitPiece<'a>>,
    /// The log's last line, without its line end.
    pub last_line: &'a [u8],
    /// The lines the streaming read cut (only their start is in `pieces`).
    pub cut_lines: &'a [CutLine],
}

/// Some of a log's lines of interest, in file order, and their bytes.
pub struct HitPiece<'a> {
    /// The lines (numbers and byte ranges in the file).
    pub hits: &'a [LineHit],
    /// Where the lines' bytes are.
    pub text: HitText<'a>,
}

/// Where the bytes of a piece's lines are.
#[derive(Clone, Copy)]
pub enum HitText<'a> {
    /// The whole log (mapped or read): hit `h` is `bytes[h.start..h.end]`.
    File(&'a [u8]),
    /// Copied out by the streaming read: the lines one after another, in order.
    Packed(&'a [u8]),
}

impl<'a> ScannedLog<'a> {
    /// A log whose bytes are all at hand, with the scan of them.
    pub fn from_bytes(name: String, bytes: &'a [u8], scan: &'a FileScan) -> ScannedLog<'a> {
        ScannedLog {
            name,
            line_count: scan.line_count,
            pieces: vec![HitPiece {
                hits: &scan.hits,
                text: HitText::File(bytes),
            }],
            last_line: last_line(bytes),
            cut_lines: &[],
        }
    }

    /// The lines of interest with their bytes, in file order.
    fn lines(&self) -> HitLines<'_, 'a> {
        HitLines {
            pieces: &self.pieces,
            piece: 0,
            index: 0,
            packed_at: 0,
        }
    }

    /// A streamed log: its parts' lines, copied out as they were read.
    pub fn from_streamed(name: String, log: &'a StreamedLog) -> ScannedLog<'a> {
        ScannedLog {
            name,
            line_count: log.line_count,
            pieces: log
                .parts
                .iter()
                .map(|p| HitPiece {
                    hits: &p.hits,
                    text: HitText::Packed(&p.text),
                })
                .collect(),
            last_line: &log.last_line,
            cut_lines: &log.cut_lines,
        }
    }

    fn hit_count(&self) -> usize {
        self.pieces.iter().map(|p| p.hits.len()).sum()
    }
}

/// Iterator over a log's lines of interest: each hit with its bytes.
struct HitLines<'s, 'a> {
    pieces: &'s [HitPiece<'a>],
    piece: usize,
    index: usize,
    /// Offset in a packed piece's text of the next line.
    packed_at: usize,
}

impl<'a> Iterator for HitLines<'_, 'a> {
    type Item = (&'a LineHit, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let piece = self.pieces.get(self.piece)?;
            if let Some(hit) = piece.hits.get(self.index) {
                let i = self.index;
                self.index += 1;
                let line = match piece.text {
                    HitText::File(bytes) => {
                        prefetch_line(bytes, piece.hits.get(i + PREFETCH_AHEAD));
                        &bytes[hit.start..hit.end]
                    }
                    HitText::Packed(text) => {
                        let start = self.packed_at;
                        self.packed_at += hit.end - hit.start;
                        &text[start..self.packed_at]
                    }
                };
                return Some((hit, line));
            }
            self.piece += 1;
            self.index = 0;
            self.packed_at = 0;
        }
    }
}

/// A captured output stream of the CASA process (stdout or stderr).
pub struct Stream<'a> {
    /// Name shown in evidence.
    pub name: String,
    /// Content.
    pub bytes: &'a [u8],
}

/// What the rules found in one log ([`collect_log`]): all they need of it, so
/// the log's bytes can be released before the run is judged.
pub struct LogFindings {
    summary: LogSummary,
    collected: Collected,
}

impl LogFindings {
    /// Takes the log's tasks out, for the caller to join the logs' timelines
    /// ([`RunEvidence::timeline`]).
    pub fn take_tasks(&mut self) -> Vec<TaskSpan> {
        std::mem::take(&mut self.collected.tasks)
    }
}

/// Everything the rules look at.
pub struct RunEvidence<'a> {
    /// The findings in each CASA log, in the order given.
    pub logs: Vec<LogFindings>,
    /// Tasks the caller took out of the logs' findings, in log order; the
    /// timeline is these followed by the tasks still in `logs`.
    pub timeline: Timeline,
    /// stdout/stderr captures.
    pub streams: Vec<Stream<'a>>,
    /// `--exit-status` verbatim.
    pub exit_status: Option<i64>,
    /// Product checks.
    pub products: Vec<ProductResult>,
    /// Inputs not judged, and why (the `skipped_input` warning).
    pub skipped: Vec<Evidence>,
}

fn cut(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return text.to_string();
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A log record kept for the rules, with its place.
#[derive(Debug, Clone)]
struct Kept {
    file: String,
    line: u64,
    time: String,
    priority: &'static str,
    origin: String,
    base_origin: Vec<u8>,
    message: String,
    /// Innermost open task when the record was written (logs only).
    task: Option<String>,
    /// A line of the record that the streaming read cut.
    line_cut: Option<CutLine>,
}

impl Kept {
    fn from_record(file: &str, line: u64, rec: &Record<'_>, task: Option<String>) -> Kept {
        Kept {
            file: file.to_string(),
            line,
            time: rec.time_text().to_string(),
            priority: rec.priority_text(),
            origin: rec.origin_text().to_string(),
            base_origin: rec.base_origin().to_vec(),
            message: rec.message_text().to_string(),
            task,
            line_cut: None,
        }
    }

    fn evidence(&self) -> Evidence {
        Evidence {
            file: self.file.clone(),
            line: Some(self.line),
            time: Some(self.time.clone()),
            priority: Some(self.priority.to_string()),
            origin: Some(self.origin.clone()),
            text: match &self.line_cut {
                None => cut(&self.message),
                Some(line) => cut(&self.message) + &line.note(),
            },
        }
    }

    /// What makes two copies of a record (log and stderr echo) the same record:
    /// time, priority, origin and the first line of the message.
    fn identity(&self) -> (String, &'static str, Vec<u8>, String) {
        (
            self.time.clone(),
            self.priority,
            self.base_origin.clone(),
            first_line(&self.message).to_string(),
        )
    }
}

#[derive(Default)]
struct Collected {
    /// Per log with several sessions: (file, session start lines, judged from line).
    sessions: Vec<(String, Vec<u64>, u64)>,
    /// SEVERE/WARN records of sessions not judged, so their stderr echoes are not judged either.
    skipped: Vec<Kept>,
    severe: Vec<Kept>,
    warn: Vec<Kept>,
    exceptions: Vec<Kept>,
    divergence: Vec<Evidence>,
    unterminated: Vec<Evidence>,
    tasks: Vec<TaskSpan>,
}

struct OpenTask<'a> {
    span_index: usize,
    /// The name as text (borrowed from the log unless it needed replacement characters).
    name: Cow<'a, str>,
}

/// Recently seen task names, so the tasks of one name share one string.
#[derive(Default)]
struct TaskNames(Vec<Arc<str>>);

impl TaskNames {
    /// A log uses a handful of task names; a few more than that are remembered.
    const REMEMBERED: usize = 16;

    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(found) = self.0.iter().find(|n| ***n == *name) {
            return found.clone();
        }
        if self.0.len() == Self::REMEMBERED {
            self.0.remove(0);
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.push(shared.clone());
        shared
    }
}

fn exception_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^Task (\S+) raised an exception of class (\S+) with the following message: ")
            .expect("fixed regex")
    })
}

fn peak_increase_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"Peak residual \(within the mask\) increased from ([-+0-9.eE]+) to ([-+0-9.eE]+)",
        )
        .expect("fixed regex")
    })
}

fn banner_task<'m>(message: &'m [u8], banner: &[u8]) -> Option<&'m [u8]> {
    let text = message.strip_prefix(b"##### ")?.strip_prefix(banner)?;
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let end = text
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(text.len());
    Some(&text[..end])
}

/// Searchers for the literals of tclean's divergence messages, built once.
struct DivergenceText {
    possible: memmem::Finder<'static>,
    more_than: memmem::Finder<'static>,
    /// Where [`peak_increase_regex`] can match at all.
    peak_increase: memmem::Finder<'static>,
}

fn divergence_text() -> &'static DivergenceText {
    static TEXT: OnceLock<DivergenceText> = OnceLock::new();
    TEXT.get_or_init(|| DivergenceText {
        possible: memmem::Finder::new(b"Possible divergence"),
        more_than: memmem::Finder::new(b"peak residual increased by more than"),
        peak_increase: memmem::Finder::new(b"Peak residual (within the mask) increased from "),
    })
}

fn is_divergence(rec: &Record<'_>, ratio: f64) -> bool {
    let m = rec.message;
    let text = divergence_text();
    if text.possible.find(m).is_some() || text.more_than.find(m).is_some() {
        return true;
    }
    if text.peak_increase.find(m).is_none() {
        return false;
    }
    if let Some(c) = peak_increase_regex().captures(m) {
        let num = |i: usize| -> Option<f64> {
            std::str::from_utf8(c.get(i)?.as_bytes()).ok()?.parse().ok()
        };
        if let (Some(from), Some(to)) = (num(1), num(2)) {
            return to.abs() >= ratio * from.abs();
        }
    }
    false
}

/// The record that starts a CASA session: `::casa` origin, `CASA Version ...` message.
fn is_session_start(line: &[u8]) -> bool {
    line.get(crate::record::TIME_LEN + 1..)
        .is_some_and(|rest| rest.starts_with(b"INFO\t::casa\tCASA Version "))
        && crate::record::starts_with_time(line)
}

/// How many hits ahead of the one being read their lines are prefetched.
const PREFETCH_AHEAD: usize = 64;

/// Asks the CPU to start loading the first and last bytes of a hit line that
/// will be read soon. Hit lines lie scattered over a log far larger than the
/// caches (the scan has moved on long since), so reading them one after the
/// other would wait for memory at every line; a prefetch never faults.
#[inline]
fn prefetch_line(bytes: &[u8], hit: Option<&LineHit>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(hit) = hit {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = bytes.as_ptr();
        // SAFETY: SSE is part of x86-64; a prefetch only hints and never dereferences.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(hit.start).cast());
            _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(hit.end.saturating_sub(1)).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, hit);
}

/// Walks the hit lines of one log (logs are independent, so this runs for
/// several logs at once): what the standard needs of it, in [`LogFindings`].
pub fn collect_log(log: &ScannedLog<'_>, policy: &Policy) -> LogFindings {
    let mut collected = Collected::default();
    walk_log(log, policy, &mut collected);
    LogFindings {
        summary: LogSummary {
            file: log.name.clone(),
            lines: log.line_count,
        },
        collected,
    }
}

/// Walks the hit lines of one log in order: assembles continuation records,
/// tracks the task stack, keeps SEVERE/WARN records, divergence messages.
fn walk_log(log: &ScannedLog<'_>, policy: &Policy, out: &mut Collected) {
    // Lines where a CASA session starts. Only `lastsessiononly` needs them before
    // the walk below; otherwise the walk notes them as it goes.
    let mut starts: Vec<u64> = Vec::new();
    let mut judged_from = 1;
    if policy.last_session_only {
        starts = log
            .lines()
            .filter(|(_, line)| is_session_start(line))
            .map(|(h, _)| h.line)
            .collect();
        if starts.len() > 1 {
            // The session's start-up block precedes its "CASA Version" record;
            // it holds only INFO records, so starting at that record loses nothing.
            judged_from = starts[starts.len() - 1];
        }
    }
    // Hits are in line order: those before `judged_from` come first.
    let judged_hits: usize = log
        .pieces
        .iter()
        .map(|p| p.hits.partition_point(|h| h.line < judged_from))
        .sum();
    let mut lines = log.lines();
    for (hit, line) in lines.by_ref().take(judged_hits) {
        if let Some(rec) = parse_line(line) {
            if rec.is_severe() || rec.is_warn() {
                out.skipped
                    .push(Kept::from_record(&log.name, hit.line, &rec, None));
            }
        }
    }
    // At most one task per hit: reserving that much avoids copying a growing
    // timeline (untouched capacity costs address space, not memory).
    out.tasks.reserve(log.hit_count() - judged_hits);
    let mut stack: Vec<OpenTask<'_>> = Vec::new();
    let file: Arc<str> = Arc::from(log.name.as_str());
    let mut task_names = TaskNames::default();
    // Index into out.severe / out.warn of the last SEVERE or WARN record, for continuations.
    let mut last_kept: Option<(bool, usize)> = None;
    for (hit, line) in lines {
        if !policy.last_session_only && is_session_start(line) {
            starts.push(hit.line);
        }
        // The line's record and a record glued into it, in that order.
        let records: [Option<Record<'_>>; 2] = match parse_line(line) {
            Some(rec) => {
                // A glued record needs a TAB inside the message; banners have none.
                let plain = !(rec.is_severe() || rec.is_warn())
                    && memchr::memchr(b'\t', rec.message).is_some();
                let embedded = if plain {
                    find_embedded_record(line)
                } else {
                    None
                };
                [Some(rec), embedded]
            }
            None => [find_embedded_record(line), None],
        };
        for rec in records.into_iter().flatten() {
            if rec.is_severe() || rec.is_warn() {
                let severe = rec.is_severe();
                let line_cut = log.cut_lines.iter().find(|c| c.line == hit.line).copied();
                if rec.is_continuation() {
                    if let Some((was_severe, idx)) = last_kept {
                        let list = if was_severe {
                            &mut out.severe
                        } else {
                            &mut out.warn
                        };
                        let prev = &mut list[idx];
                        if was_severe == severe
                            && prev.time.as_bytes() == rec.time
                            && prev.base_origin == rec.base_origin()
                        {
                            prev.message.push('\n');
                            prev.message.push_str(&rec.message_text());
                            prev.line_cut = prev.line_cut.or(line_cut);
                            continue;
                        }
                    }
                }
                let task = stack.last().map(|t| t.name.to_string());
                let mut kept = Kept::from_record(&log.name, hit.line, &rec, task);
                kept.line_cut = line_cut;
                if severe {
                    if let Some(c) = exception_regex().captures(rec.message) {
                        let name = String::from_utf8_lossy(&c[1]).to_string();
                        if let Some(open) = stack.iter().rev().find(|t| t.name == name) {
                            out.tasks[open.span_index].status = TaskStatus::Exception;
                        }
                    }
                    out.severe.push(kept);
                    last_kept = Some((true, out.severe.len() - 1));
                } else {
                    out.warn.push(kept);
                    last_kept = Some((false, out.warn.len() - 1));
                }
                continue;
            }
            if let Some(name) = banner_task(rec.message, b"Begin Task:") {
                let Some(start) = RecordTime::parse(rec.time) else {
                    continue; // parse_line checked the time stamp
                };
                let name = String::from_utf8_lossy(name);
                out.tasks.push(TaskSpan {
                    name: task_names.get(&name),
                    file: file.clone(),
                    line: hit.line,
                    start,
                    end: None,
                    status: TaskStatus::Ok,
                });
                stack.push(OpenTask {
                    span_index: out.tasks.len() - 1,
                    name,
                });
            } else if let Some(name) = banner_task(rec.message, b"End Task:") {
                if let Some(pos) = stack.iter().rposition(|t| t.name.as_bytes() == name) {
                    let open = stack.remove(pos);
                    out.tasks[open.span_index].end = RecordTime::parse(rec.time);
                }
            } else if is_divergence(&rec, policy.divergence_ratio) {
                out.divergence
                    .push(Kept::from_record(&log.name, hit.line, &rec, None).evidence());
            }
        }
    }
    if starts.len() > 1 {
        out.sessions.push((log.name.clone(), starts, judged_from));
    }
    for open in stack {
        let span = &mut out.tasks[open.span_index];
        span.status = TaskStatus::Unterminated;
        out.unterminated.push(Evidence {
            file: span.file.to_string(),
            line: Some(span.line),
            time: Some(span.start.to_string()),
            priority: Some("INFO".to_string()),
            origin: None,
            text: format!("Begin Task: {} has no End Task", span.name),
        });
    }
    if !out.unterminated.is_empty() && log.line_count > 0 {
        let last = log.last_line;
        let tail = Evidence {
            file: log.name.clone(),
            line: Some(log.line_count),
            time: parse_line(last).map(|r| r.time_text().to_string()),
            priority: parse_line(last).map(|r| r.priority_text().to_string()),
            origin: parse_line(last).map(|r| r.origin_text().to_string()),
            text: format!(
                "the log stops here: {}",
                cut(&String::from_utf8_lossy(
                    parse_line(last).map_or(last, |r| r.message)
                ))
            ),
        };
        if !out.unterminated.contains(&tail) {
            out.unterminated.push(tail);
        }
    }
}

/// Evidence of the process's own end found in stdout/stderr.
#[derive(Default)]
struct StreamFindings {
    /// Final lines of Python tracebacks and casashell's exit line.
    exit_evidence: Vec<Evidence>,
}

fn collect_stream(
    stream: &Stream<'_>,
    seen_in_logs: &HashSet<(String, &'static str, Vec<u8>, String)>,
    out: &mut Collected,
    found: &mut StreamFindings,
) {
    let mut in_traceback = false;
    // Time and base origin of the last SEVERE record, and where it was kept
    // (`None` when it duplicated a log record), for continuation lines.
    let mut last: Option<(Vec<u8>, Vec<u8>, Option<usize>)> = None;
    for (i, raw) in stream.bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = strip_cr(raw);
        if let Some(rec) = parse_line(line) {
            in_traceback = false;
            if !rec.is_severe() {
                continue;
            }
            if rec.is_continuation() {
                if let Some((time, origin, kept_at)) = &last {
                    if time.as_slice() == rec.time && origin.as_slice() == rec.base_origin() {
                        if let Some(idx) = kept_at {
                            let prev = &mut out.severe[*idx];
                            prev.message.push('\n');
                            prev.message.push_str(&rec.message_text());
                        }
                        continue;
                    }
                }
            }
            let kept = Kept::from_record(&stream.name, line_no, &rec, None);
            let duplicate = seen_in_logs.contains(&kept.identity());
            let kept_at = if duplicate {
                None
            } else {
                out.severe.push(kept);
                Some(out.severe.len() - 1)
            };
            last = Some((rec.time.to_vec(), rec.base_origin().to_vec(), kept_at));
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with("Traceback (most recent call last):") {
            in_traceback = true;
            continue;
        }
        if in_traceback && !text.is_empty() && !text.starts_with([' ', '\t']) {
            in_traceback = false;
            found
                .exit_evidence
                .push(plain_evidence(&stream.name, line_no, &text));
        }
        if text.starts_with("CASA exits with a non-zero status") {
            found
                .exit_evidence
                .push(plain_evidence(&stream.name, line_no, &text));
        }
    }
}

fn plain_evidence(file: &str, line: u64, text: &str) -> Evidence {
    Evidence {
        file: file.to_string(),
        line: Some(line),
        time: None,
        priority: None,
        origin: None,
        text: cut(text),
    }
}

/// A finding keeping the first `policy.max_evidence` pieces of `evidence`
/// (only those are built when `evidence` is a lazy iterator).
fn finding<I>(code: Code, message: String, evidence: I, policy: &Policy) -> Finding
where
    I: IntoIterator<Item = Evidence>,
    I::IntoIter: ExactSizeIterator,
{
    let evidence = evidence.into_iter();
    let total = evidence.len();
    Finding {
        code,
        message,
        evidence: evidence.take(policy.max_evidence).collect(),
        evidence_total: total,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn signal_name(n: i64) -> &'static str {
    match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => "signal",
    }
}

fn is_flagmanager(k: &Kept) -> bool {
    k.origin.starts_with("flagmanager::") || k.task.as_deref() == Some("flagmanager")
}

/// Applies the standard to the evidence under `policy`.
pub fn judge(evidence: RunEvidence<'_>, policy: &Policy) -> Judgement {
    // Merge the per-log findings in input order.
    let mut c = Collected::default();
    let mut timeline = evidence.timeline;
    let mut log_summaries = Vec::with_capacity(evidence.logs.len());
    for LogFindings {
        summary,
        collected: one,
    } in evidence.logs
    {
        log_summaries.push(summary);
        c.severe.extend(one.severe);
        c.warn.extend(one.warn);
        c.exceptions.extend(one.exceptions);
        c.divergence.extend(one.divergence);
        c.unterminated.extend(one.unterminated);
        timeline.push_log(one.tasks);
        c.sessions.extend(one.sessions);
        c.skipped.extend(one.skipped);
    }
    let seen: HashSet<_> = c
        .severe
        .iter()
        .chain(&c.warn)
        .chain(&c.skipped)
        .map(Kept::identity)
        .collect();
    let mut streams = StreamFindings::default();
    for stream in &evidence.streams {
        collect_stream(stream, &seen, &mut c, &mut streams);
    }

    let mut reasons: Vec<Finding> = Vec::new();
    let mut warnings: Vec<Finding> = Vec::new();

    // Rules 1 and 2: SEVERE records.
    let mut flag_severe = Vec::new();
    let mut fatal = Vec::new();
    let mut benign: BTreeMap<String, (String, Vec<Evidence>)> = BTreeMap::new();
    for k in &c.severe {
        if exception_regex().is_match(k.message.as_bytes()) {
            c.exceptions.push(k.clone());
        } else if is_flagmanager(k) {
            flag_severe.push(k.evidence());
        } else if let Some(p) = policy.benign.iter().find(|p| {
            // A cut record is never benign: its start alone may match a pattern.
            k.line_cut.is_none()
                && p.message.is_match(first_line(&k.message).as_bytes())
                && p.origin.as_ref().is_none_or(|o| o.is_match(&k.base_origin))
        }) {
            benign
                .entry(p.id.clone())
                .or_insert_with(|| (p.reason.clone(), Vec::new()))
                .1
                .push(k.evidence());
        } else {
            fatal.push(k.evidence());
        }
    }
    if !flag_severe.is_empty() {
        let msg = format!(
            "{} SEVERE record(s) from flagmanager or its flagging tools (always fatal): {}",
            flag_severe.len(),
            first_line(&flag_severe[0].text)
        );
        reasons.push(finding(Code::SevereFlagmanager, msg, flag_severe, policy));
    }
    if !fatal.is_empty() {
        let msg = format!(
            "{} SEVERE record(s) not on the benign list: {}",
            fatal.len(),
            first_line(&fatal[0].text)
        );
        reasons.push(finding(Code::Severe, msg, fatal, policy));
    }
    if !c.exceptions.is_empty() {
        let first = &c.exceptions[0].message;
        let summary = exception_regex()
            .captures(first.as_bytes())
            .map_or(String::new(), |m| {
                format!(
                    "task {} raised {}",
                    String::from_utf8_lossy(&m[1]),
                    String::from_utf8_lossy(&m[2])
                )
            });
        let msg = format!(
            "{} task exception(s), the first: {summary}: {}",
            c.exceptions.len(),
            first_line(
                first
                    .split(": ")
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(": ")
                    .as_str()
            )
        );
        let ev = c.exceptions.iter().map(Kept::evidence);
        reasons.push(finding(Code::TaskException, msg, ev, policy));
    }
    // Rule 3.
    let unterminated: Vec<&TaskSpan> = timeline
        .iter()
        .filter(|t| t.status == TaskStatus::Unterminated)
        .collect();
    if !unterminated.is_empty() {
        let names: Vec<String> = unterminated
            .iter()
            .map(|t| format!("{} ({}:{})", t.name, t.file, t.line))
            .collect();
        let msg = format!(
            "task(s) began but never ended, the run was cut off: {}",
            names.join(", ")
        );
        reasons.push(finding(
            Code::UnterminatedTask,
            msg,
            c.unterminated.clone(),
            policy,
        ));
    }
    // Rule 4.
    if !c.divergence.is_empty() {
        let msg = format!(
            "tclean diverged ({} message(s)): {}",
            c.divergence.len(),
            first_line(&c.divergence[0].text)
        );
        let f = finding(Code::Divergence, msg, c.divergence.iter().cloned(), policy);
        if policy.divergence_is_failure {
            reasons.push(f);
        } else {
            warnings.push(f);
        }
    }
    // Rule 5.
    let missing: Vec<Evidence> = evidence
        .products
        .iter()
        .filter(|p| p.status == ProductStatus::Missing)
        .map(|p| product_evidence(p, &p.pattern))
        .collect();
    if !missing.is_empty() {
        let pats: Vec<&str> = evidence
            .products
            .iter()
            .filter(|p| p.status == ProductStatus::Missing)
            .map(|p| p.pattern.as_str())
            .collect();
        let msg = format!("expected product(s) not found: {}", pats.join(", "));
        reasons.push(finding(Code::MissingProduct, msg, missing, policy));
    }
    let invalid: Vec<Evidence> = evidence
        .products
        .iter()
        .filter(|p| p.status == ProductStatus::Invalid)
        .map(|p| product_evidence(p, p.path.as_deref().unwrap_or(&p.pattern)))
        .collect();
    if !invalid.is_empty() {
        let msg = format!(
            "{} product(s) not sound, the first: {}: {}",
            invalid.len(),
            invalid[0].file,
            invalid[0].text
        );
        reasons.push(finding(Code::InvalidProduct, msg, invalid, policy));
    }
    // Rule 6 and the no-log case.
    let products_all_sound = !evidence.products.is_empty()
        && evidence
            .products
            .iter()
            .all(|p| p.status == ProductStatus::Ok);
    let mut traceback_used = false;
    match evidence.exit_status {
        None | Some(0) => {}
        Some(n) if n < 0 => {
            let (code, msg) = match n {
                -1001 => (Code::DagmanSubmitFailed, "DAGMan $RETURN -1001: the job's submission failed".to_string()),
                -1002 => (Code::DagmanJobRemoved, "DAGMan $RETURN -1002: the job was removed from the queue (condor_rm or a policy)".to_string()),
                -1004 => (Code::DagmanJobSkipped, "DAGMan $RETURN -1004: the job was skipped because its PRE script failed".to_string()),
                n if n >= -64 => (Code::Killed, format!("the process was killed by {} ({})", signal_name(-n), -n)),
                n => (Code::DagmanError, format!("DAGMan $RETURN {n}: an error of DAGMan itself")),
            };
            reasons.push(finding(code, msg, Vec::new(), policy));
        }
        Some(n) => {
            traceback_used = true;
            let others_hold = reasons.is_empty();
            let ev = streams.exit_evidence.clone();
            if others_hold
                && products_all_sound
                && !policy.nonzero_exit_is_fatal
                && !log_summaries.is_empty()
            {
                let msg = format!(
                    "exit status {n}, but the logs show no failure and all {} expected product(s) are sound: judged a success",
                    evidence.products.len()
                );
                warnings.push(finding(Code::FalseFailure, msg, ev, policy));
            } else {
                let why = if policy.nonzero_exit_is_fatal {
                    "the policy makes any non-zero exit fatal"
                } else if log_summaries.is_empty() {
                    "no CASA log shows that the work was done"
                } else if evidence.products.is_empty() {
                    "no expected products were given to show otherwise"
                } else if !products_all_sound {
                    "not all expected products are sound"
                } else {
                    "other rules failed too"
                };
                let msg = format!("exit status {n} ({why})");
                reasons.push(finding(Code::NonzeroExit, msg, ev, policy));
            }
        }
    }
    if !traceback_used && !streams.exit_evidence.is_empty() {
        let msg = format!(
            "the output streams show {} uncaught Python exception(s) or CASA exit message(s)",
            streams.exit_evidence.len()
        );
        warnings.push(finding(
            Code::PythonTraceback,
            msg,
            streams.exit_evidence.clone(),
            policy,
        ));
    }
    if log_summaries.is_empty() {
        let exit_ok = evidence.exit_status == Some(0);
        if reasons.is_empty() && !(exit_ok && products_all_sound) {
            let msg = "no CASA log, and nothing else shows the run worked (an exit status of 0 and sound expected products would)".to_string();
            reasons.push(finding(Code::NoLog, msg, Vec::new(), policy));
        } else {
            warnings.push(finding(
                Code::NoLog,
                "no CASA log was found; the verdict rests on the exit status, stdout/stderr and products".to_string(),
                Vec::new(),
                policy,
            ));
        }
    }
    for (id, (reason, ev)) in benign {
        let msg = format!(
            "{} SEVERE record(s) on the benign list ({id}): {reason}",
            ev.len()
        );
        warnings.push(finding(Code::BenignSevere, msg, ev, policy));
    }
    for (file, starts, from) in &c.sessions {
        let mut lines = String::new();
        for (i, line) in starts.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            // Writing into a String cannot fail.
            let _ = write!(lines, "{separator}{line}");
        }
        let judged = if *from > 1 {
            format!("only the last one, from line {from}, was judged (lastsessiononly)")
        } else {
            "all were judged".to_string()
        };
        let msg = format!(
            "{file} holds {} CASA sessions (a re-used log name; sessions start at lines {lines}): {judged}",
            starts.len(),
        );
        let ev = starts
            .iter()
            .map(|&l| plain_evidence(file, l, "CASA Version record: a session starts"));
        warnings.push(finding(Code::MultipleSessions, msg, ev, policy));
    }
    if !evidence.skipped.is_empty() {
        let msg = format!(
            "{} input(s) not judged: {}",
            evidence.skipped.len(),
            evidence.skipped[0].text
        );
        warnings.push(finding(
            Code::SkippedInput,
            msg,
            evidence.skipped.clone(),
            policy,
        ));
    }
    if !c.warn.is_empty() {
        let msg = format!(
            "{} WARN record(s), the first: {}",
            c.warn.len(),
            first_line(&c.warn[0].message)
        );
        let ev = c.warn.iter().map(Kept::evidence);
        warnings.push(finding(Code::CasaWarn, msg, ev, policy));
    }

    reasons.sort_by_key(|f| f.code);
    warnings.sort_by_key(|f| f.code);
    let verdict = if reasons.is_empty() {
        Verdict::Success
    } else {
        Verdict::Failure
    };
    let retryable = verdict == Verdict::Failure
        && reasons.iter().any(|r| r.code.is_cut_off())
        && !reasons.iter().any(|r| r.code.is_permanent_cause());
    Judgement {
        schema: SCHEMA,
        verdict,
        retryable,
        policy: policy.name.clone(),
        reasons,
        warnings,
        exit_status: evidence.exit_status,
        logs: log_summaries,
        products: evidence.products,
        tasks: timeline,
    }
}

fn product_evidence(p: &ProductResult, file: &str) -> Evidence {
    Evidence {
        file: file.to_string(),
        line: None,
        time: None,
        priority: None,
        origin: None,
        text: p.problem.clone().unwrap_or_default(),
    }
}
