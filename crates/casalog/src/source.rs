//! Getting the bytes of a log: finding logs in directories, memory-mapping
//! files or opening them for the streaming read ([`crate::stream`]), and
//! decompressing `.gz`.
//!
//! casa-judge streams every log unless told to map ([`ReadMode::Auto`]):
//! streaming is faster (BENCHMARKS.md) and a file that shrinks while it is
//! streamed is an input error, never a crash.
//!
//! The mapping rule: a file is mapped only when it is a regular file of at
//! least [`MAP_MIN_BYTES`] whose modification time is at least
//! [`ReadOptions::map_min_age`] in the past, and whose size is unchanged after
//! mapping. A file that shrinks while mapped would make the kernel kill the
//! process (SIGBUS) on the next access, and the only files that shrink are ones
//! something is still writing; a CASA log that has not changed for seconds
//! belongs to a finished process. Everything else (pipes, recent files, small
//! files, `.gz`, and every file with [`ReadMode::Read`]) is streamed. Both
//! paths see the same bytes, so the verdict cannot depend on which one was
//! taken.

use crate::stream::StreamInput;
use memmap2::Mmap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Files smaller than this are read: mapping costs more than it saves.
pub const MAP_MIN_BYTES: u64 = 64 * 1024;

/// How log bytes may be obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Map files where it is safe (see the module documentation), stream the rest.
    Auto,
    /// Never map: stream every file.
    Read,
}

/// Options for loading files. The default allows mapping under the rule of the
/// module documentation (the tool's default, [`crate::JudgeRequest::new`], is
/// [`ReadMode::Read`]).
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Map or read.
    pub mode: ReadMode,
    /// A file modified more recently than this is read, never mapped.
    pub map_min_age: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            mode: ReadMode::Auto,
            map_min_age: Duration::from_secs(10),
        }
    }
}

/// A read-only memory map of a log, registered with the SIGBUS guard of
/// [`vlass_fits::exit_cleanly_on_truncated_maps`]: if the tool installed it, a
/// file truncated under the map ends the run with one error line naming the
/// file instead of a crash.
pub struct GuardedMap {
    // Declared first, so it is dropped (unregistered) before the map is unmapped.
    _registration: vlass_fits::MapRegistration,
    map: Mmap,
}

impl GuardedMap {
    fn new(map: Mmap, path: &Path) -> GuardedMap {
        GuardedMap {
            _registration: vlass_fits::MapRegistration::new(map.as_ptr(), map.len(), path),
            map,
        }
    }
}

impl std::ops::Deref for GuardedMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// The bytes of one log, mapped or owned.
pub enum LogBytes {
    /// A read-only memory map of a file that qualified for mapping.
    Mapped(GuardedMap),
    /// Bytes read (and, for `.gz`, decompressed) into memory.
    Owned(Vec<u8>),
}

impl LogBytes {
    /// The content.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            LogBytes::Mapped(m) => m,
            LogBytes::Owned(v) => v,
        }
    }

    /// How the bytes were obtained: `mmap` or `read`.
    pub fn method(&self) -> &'static str {
        match self {
            LogBytes::Mapped(_) => "mmap",
            LogBytes::Owned(_) => "read",
        }
    }
}

/// Why a log could not be loaded. Display: `path: problem`.
#[derive(Debug)]
pub struct SourceError {
    /// The file or directory concerned, as the user named it.
    pub path: PathBuf,
    /// What went wrong.
    pub problem: String,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for SourceError {}

pub(crate) fn source_error(path: &Path, problem: impl std::fmt::Display) -> SourceError {
    SourceError {
        path: path.to_path_buf(),
        problem: vlass_cli::without_os_error(&problem.to_string()).to_string(),
    }
}

/// True for names CASA gives its logs: `casa-*.log`, the sink's fallback
/// `casa.log`, and both with `.gz`.
pub fn is_log_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name == "casa.log" || (name.starts_with("casa-") && name.ends_with(".log"))
}

/// What the search for logs found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The logs to judge, in order.
    pub logs: Vec<PathBuf>,
    /// Files with a log name found by searching a directory that are HTCondor
    /// job event logs, not CASA logs (a submit file's `log = casa.log` makes
    /// one): left out, and said so.
    pub not_casa: Vec<PathBuf>,
}

/// True when `path` starts like an HTCondor job event log: an event number of
/// three digits and the job id, `NNN (cluster.proc.subproc) `.
fn is_condor_event_log(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(file) = File::open(path) else {
        return false;
    };
    let Ok(got) = read_prefix(&file, &mut head, true) else {
        return false;
    };
    let rest = &head[..got];
    if rest.len() < 6 || !rest[..3].iter().all(u8::is_ascii_digit) || &rest[3..5] != b" (" {
        return false;
    }
    let Some(close) = rest[5..].iter().position(|&b| b == b')') else {
        return false;
    };
    let id = &rest[5..5 + close];
    let parts: Vec<&[u8]> = id.split(|&b| b == b'.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
        && rest.get(5 + close + 1) == Some(&b' ')
}

/// Expands the command-line inputs into log files: files are taken as given
/// (any name), directories are searched recursively for log names, without
/// descending into CASA tables (measurement sets and images hold thousands of
/// files and never a log). Found files are sorted by path; a directory
/// without any log contributes nothing (the caller decides what that means).
/// A found file that is an HTCondor job event log is left out
/// ([`Discovered::not_casa`]); one named on the command line is not.
pub fn discover_logs(inputs: &[PathBuf]) -> Result<Discovered, SourceError> {
    let mut logs = Vec::new();
    let mut not_casa = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| source_error(input, e))?;
        if !meta.is_dir() {
            logs.push(input.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut walker = walkdir::WalkDir::new(input).follow_links(false).into_iter();
        while let Some(entry) = walker.next() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(input).to_path_buf();
                let problem = e
                    .io_error()
                    .map_or_else(|| e.to_string(), |io| io.to_string());
                source_error(&path, problem)
            })?;
            if entry.file_type().is_dir() {
                if entry.depth() > 0 && entry.path().join("table.dat").exists() {
                    walker.skip_current_dir();
                }
                continue;
            }
            if is_log_name(&entry.file_name().to_string_lossy()) {
                if is_condor_event_log(entry.path()) {
                    not_casa.push(entry.into_path());
                } else {
                    found.push(entry.into_path());
                }
            }
        }
        found.sort();
        logs.extend(found);
    }
    // A log named twice (as a file and inside a named directory) is judged once.
    let mut seen = std::collections::HashSet::new();
    logs.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    not_casa.sort();
    Ok(Discovered { logs, not_casa })
}

/// A log opened for judging: mapped, or to be streamed ([`crate::stream`]).
pub enum OpenedLog {
    /// A read-only memory map of a file that qualified for mapping.
    Mapped(GuardedMap),
    /// To be streamed; `gzip` tells how read errors are to be described.
    Stream {
        /// Where the bytes come from.
        input: StreamInput,
        /// The bytes are decompressed gzip.
        gzip: bool,
    },
}

/// Opens one log following `options` (gzip detected by its magic bytes): maps
/// it where `options` allow it and it qualifies, otherwise prepares streaming.
pub fn open(path: &Path, options: &ReadOptions) -> Result<OpenedLog, SourceError> {
    let file = File::open(path).map_err(|e| source_error(path, e))?;
    let meta = file.metadata().map_err(|e| source_error(path, e))?;
    if meta.is_dir() {
        return Err(source_error(path, "is a directory"));
    }
    let mut magic = [0u8; 2];
    // A regular file is read at a position, so it stays at its start for streaming.
    let got = read_prefix(&file, &mut magic, meta.is_file()).map_err(|e| source_error(path, e))?;
    let prefix = std::io::Cursor::new(if meta.is_file() {
        Vec::new()
    } else {
        magic[..got].to_vec()
    });
    if got == 2 && magic == [0x1f, 0x8b] {
        let decoder =
            flate2::read::MultiGzDecoder::new(std::io::BufReader::new(prefix.chain(file)));
        return Ok(OpenedLog::Stream {
            input: StreamInput::Sequential(Box::new(decoder)),
            gzip: true,
        });
    }
    if options.mode == ReadMode::Auto && may_map(&meta, options.map_min_age) {
        // SAFETY: the mapping is read-only and the file qualified under the rule
        // in the module documentation; the size is re-checked below.
        if let Ok(map) = unsafe { Mmap::map(&file) } {
            let unchanged = std::fs::metadata(path).is_ok_and(|m| m.len() == map.len() as u64);
            if unchanged {
                return Ok(OpenedLog::Mapped(GuardedMap::new(map, path)));
            }
        }
    }
    let input = if meta.is_file() {
        StreamInput::File {
            file,
            len: meta.len(),
        }
    } else {
        StreamInput::Sequential(Box::new(prefix.chain(file)))
    };
    Ok(OpenedLog::Stream { input, gzip: false })
}

/// Describes a failed read of a log: gzip damage in words, else the system's message.
pub fn read_problem(error: &std::io::Error, gzip: bool) -> String {
    if !gzip {
        error.to_string()
    } else if error.kind() == std::io::ErrorKind::UnexpectedEof {
        "truncated gzip file (unexpected end of data)".to_string()
    } else {
        format!("corrupt gzip file ({error})")
    }
}

/// Loads one log's bytes whole following `options` (mapped where allowed and
/// safe, otherwise read and, for `.gz`, decompressed into memory).
pub fn load(path: &Path, options: &ReadOptions) -> Result<LogBytes, SourceError> {
    match open(path, options)? {
        OpenedLog::Mapped(map) => Ok(LogBytes::Mapped(map)),
        OpenedLog::Stream { input, gzip } => {
            let mut bytes = Vec::new();
            let result = match input {
                StreamInput::File { mut file, len } => {
                    bytes.reserve(len as usize);
                    file.read_to_end(&mut bytes)
                }
                StreamInput::Sequential(mut reader) => reader.read_to_end(&mut bytes),
            };
            result.map_err(|e| source_error(path, read_problem(&e, gzip)))?;
            Ok(LogBytes::Owned(bytes))
        }
    }
}

/// Reads up to `buf.len()` bytes from the start: with `positioned`, without
/// moving the file's position.
fn read_prefix(mut file: &File, buf: &mut [u8], positioned: bool) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut got = 0;
    while got < buf.len() {
        let n = if positioned {
            file.read_at(&mut buf[got..], got as u64)?
        } else {
            file.read(&mut buf[got..])?
        };
        match n {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn may_map(meta: &std::fs::Metadata, min_age: Duration) -> bool {
    if !meta.is_file() || meta.len() < MAP_MIN_BYTES {
        return false;
    }
    let Ok(modified) = meta.modified() else {
        return false;
    };
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age >= min_age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// In a child process (this test binary run again with `CHILD_ENV` set):
    /// install the guard, map an old log, cut it short under the map, then read
    /// the lost pages. The child must end with one line naming the file and exit 2.
    #[test]
    fn log_truncated_while_mapped_ends_in_one_error_line() {
        const CHILD_ENV: &str = "VLASS_CASALOG_TRUNCATED_MAP_CHILD";
        if let Some(path) = std::env::var_os(CHILD_ENV) {
            let path = PathBuf::from(path);
            assert!(crate::exit_cleanly_on_truncated_maps("casalog-test", 2));
            let options = ReadOptions {
                mode: ReadMode::Auto,
                map_min_age: Duration::ZERO,
            };
            let bytes = load(&path, &options).unwrap();
            assert_eq!(bytes.method(), "mmap");
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(100)
                .unwrap();
            let sum: u64 = bytes.as_slice().iter().map(|&b| u64::from(b)).sum();
            unreachable!("the truncated pages were read: {sum}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casa-cut.log");
        let line = b"2026-11-25 13:30:58\tINFO\tx::casa\tsome ordinary message text\n";
        std::fs::write(&path, line.repeat(4 * MAP_MIN_BYTES as usize / line.len())).unwrap();
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "source::tests::log_truncated_while_mapped_ends_in_one_error_line",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "child: {stderr}");
        let expected = format!(
            "casalog-test: {}: the file was truncated by another process while it was being read",
            path.display()
        );
        assert!(stderr.lines().any(|l| l == expected), "child: {stderr}");
    }

    #[test]
    fn log_names() {
        assert!(is_log_name("casa-20261125-133037.log"));
        assert!(is_log_name("casa-20261125-133037.log.gz"));
        assert!(is_log_name("casa.log"));
        assert!(!is_log_name("stderr.txt"));
        assert!(!is_log_name("casa-notes.txt"));
    }

    #[test]
    fn old_large_files_are_mapped_and_recent_ones_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casa-1.log");
        std::fs::write(&path, vec![b'x'; MAP_MIN_BYTES as usize]).unwrap();
        let recent = load(&path, &ReadOptions::default()).unwrap();
        assert_eq!(recent.method(), "read");
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mapped = load(&path, &ReadOptions::default()).unwrap();
        assert_eq!(mapped.method(), "mmap");
        assert_eq!(mapped.as_slice(), recent.as_slice());
        let read = load(
            &path,
            &ReadOptions {
                mode: ReadMode::Read,
                ..ReadOptions::default()
            },
        )
        .unwrap();
        assert_eq!(read.method(), "read");
    }

    #[test]
    fn gzip_is_decompressed_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casa-1.log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"2026-11-25 13:30:58\tINFO\t::casa\thello\n")
            .unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&path, &gz).unwrap();
        let bytes = load(&path, &ReadOptions::default()).unwrap();
        assert!(bytes.as_slice().ends_with(b"hello\n"));

        std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let err = load(&path, &ReadOptions::default()).err().unwrap();
        assert!(err.to_string().contains("truncated gzip"), "{err}");

        let mut corrupt = gz.clone();
        for b in corrupt.iter_mut().skip(12).take(8) {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &corrupt).unwrap();
        assert!(load(&path, &ReadOptions::default()).is_err());
    }

    #[test]
    fn directories_are_searched_but_casa_tables_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("work/target.image")).unwrap();
        std::fs::write(dir.path().join("work/target.image/table.dat"), b"x").unwrap();
        std::fs::write(dir.path().join("work/target.image/casa-9.log"), b"x").unwrap();
        std::fs::write(dir.path().join("work/casa-2.log"), b"x").unwrap();
        std::fs::write(dir.path().join("casa-1.log"), b"x").unwrap();
        std::fs::write(dir.path().join("stdout.txt"), b"x").unwrap();
        let logs = discover_logs(&[dir.path().to_path_buf()]).unwrap().logs;
        let names: Vec<_> = logs
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("casa-1.log"),
                PathBuf::from("work/casa-2.log")
            ]
        );
        assert!(discover_logs(&[dir.path().join("nope")]).is_err());
        let twice = discover_logs(&[dir.path().join("casa-1.log"), dir.path().to_path_buf()])
            .unwrap()
            .logs;
        assert_eq!(twice.len(), 2, "{twice:?}");
    }
}
