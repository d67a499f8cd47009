//! The streaming read gives the judgement of the memory map whatever its buffer
//! size: lines, CRLF pairs and literals cut by the buffer's end are carried
//! over whole, and a line longer than the buffer makes it grow. A line longer
//! than the 1 MiB the read keeps is cut: judged from its start when it is a
//! SEVERE or WARN record (the evidence says so), otherwise the log is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use vlass_casalog::source::{ReadMode, ReadOptions};
use vlass_casalog::{judge_run, JudgeRequest, PolicySettings};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

/// A log of real records (SEVERE pairs, an exception, divergence, an
/// unterminated task at the end), with CRLF line ends every few lines and one
/// SEVERE record longer than most buffers below; old enough to be mapped.
fn log_with_crlf_and_a_long_line(dir: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    for name in [
        "flagmanager_severe/casa-20261125-133055.log",
        "divergence/casa-20261125-133135.log",
        "success/casa-20261125-133037.log",
    ] {
        let text = std::fs::read(logs_dir().join(name)).unwrap();
        for (i, line) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            match line.strip_suffix(b"\n") {
                Some(body) if i % 3 == 0 => {
                    bytes.extend_from_slice(body);
                    bytes.extend_from_slice(b"\r\n");
                }
                _ => bytes.extend_from_slice(line),
            }
        }
    }
    let mut long = b"2026-11-25 13:31:00\tSEVERE\tlong::record\t".to_vec();
    long.resize(70_000, b'z');
    bytes.extend_from_slice(&long);
    bytes.extend_from_slice(b"\r\n");
    bytes.extend(std::fs::read(logs_dir().join("killed/casa-20261125-133121.log")).unwrap());
    let path = dir.join("casa-20261125-000001.log");
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    path
}

#[test]
fn streamed_equals_mapped_for_any_buffer_size() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with_crlf_and_a_long_line(dir.path());
    let policy = PolicySettings::builtin("default")
        .unwrap()
        .to_policy()
        .unwrap();
    let mut request = JudgeRequest::new(vec![log]);
    request.exit_status = Some(0);
    request.read = ReadOptions {
        mode: ReadMode::Auto,
        ..ReadOptions::default()
    };
    let mapped = judge_run(&request, &policy).unwrap();
    assert!(mapped
        .reasons
        .iter()
        .any(|r| r.evidence.iter().any(|e| e.text.len() > 1000)));
    request.read.mode = ReadMode::Read;
    for buffer in [64, 100, 4096, 65_536, 1 << 20] {
        for (jobs, chunk) in [(1, 8 << 20), (2, 3000), (3, 50_000)] {
            request.buffer_bytes = buffer;
            request.jobs = jobs;
            request.chunk_bytes = chunk;
            let streamed = judge_run(&request, &policy).unwrap();
            assert_eq!(
                streamed, mapped,
                "buffer {buffer} jobs {jobs} chunk {chunk}"
            );
        }
    }
}

#[test]
fn many_logs_give_one_timeline_in_log_order_for_any_thread_count() {
    // All scenario logs at once: the logs are judged in any order on the pool,
    // their tasks joined in the order of the inputs.
    let policy = PolicySettings::builtin("default")
        .unwrap()
        .to_policy()
        .unwrap();
    let mut request = JudgeRequest::new(vec![logs_dir()]);
    request.exit_status = Some(0);
    request.jobs = 1;
    let reference = judge_run(&request, &policy).unwrap();
    assert!(reference.logs.len() >= 10, "{}", reference.logs.len());
    let files: Vec<&str> = reference.tasks.iter().map(|t| &*t.file).collect();
    let mut in_log_order = files.clone();
    in_log_order.dedup();
    let log_names: Vec<&str> = reference.logs.iter().map(|l| l.file.as_str()).collect();
    assert!(
        in_log_order.iter().all(|f| log_names.contains(f)) && in_log_order.len() > 5,
        "{in_log_order:?}"
    );
    let positions: Vec<usize> = in_log_order
        .iter()
        .map(|f| log_names.iter().position(|l| l == f).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    for jobs in [2, 3, 8] {
        for buffer in [64, 4096] {
            request.jobs = jobs;
            request.buffer_bytes = buffer;
            request.chunk_bytes = 2000;
            assert_eq!(
                judge_run(&request, &policy).unwrap(),
                reference,
                "jobs {jobs}"
            );
        }
    }
}

/// Writes `bytes` as a log old enough to be mapped.
fn old_log(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("casa-20261125-000002.log");
    std::fs::write(&path, bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    path
}

#[test]
fn lines_longer_than_the_read_keeps() {
    // The success log, then a leap-second SEVERE record whose message goes on
    // after 2 MiB of spaces (so it is not the benign notice, whose pattern
    // allows only spaces after it), then a 2 MiB line that is no record, then a
    // record. The streaming read keeps the first 1 MiB of a line.
    let mut bytes = std::fs::read(logs_dir().join("success/casa-20261125-133037.log")).unwrap();
    let mut severe = b"2026-11-25 13:30:55\tSEVERE\tMeasTable::dUTC(Double)\tLeap second table TAI_UTC seems out-of-date.".to_vec();
    severe.resize(2 << 20, b' ');
    severe.extend_from_slice(b"and then the disk filled up");
    bytes.extend_from_slice(&severe);
    bytes.push(b'\n');
    bytes.extend_from_slice(&vec![b'x'; 2 << 20]);
    bytes.extend_from_slice(b"\n2026-11-25 13:30:56\tINFO\t::casa\tthe end\n");
    let dir = tempfile::tempdir().unwrap();
    let log = old_log(dir.path(), &bytes);
    let policy = PolicySettings::builtin("default")
        .unwrap()
        .to_policy()
        .unwrap();
    let mut request = JudgeRequest::new(vec![log.clone()]);
    request.exit_status = Some(0);
    request.read.mode = ReadMode::Auto;
    let mapped = judge_run(&request, &policy).unwrap();
    assert_eq!(mapped.reasons.len(), 1, "{mapped:?}");
    assert_eq!(mapped.reasons[0].evidence[0].line, Some(100));
    request.read.mode = ReadMode::Read;
    // The SEVERE record's evidence says that its line was cut; it is fatal as
    // in the mapped read (its kept start alone matches the benign pattern).
    let note = format!(
        " [line 100 is {} bytes long: casa-judge read only its first 1048576 bytes]",
        severe.len()
    );
    for (buffer, jobs, chunk) in [
        (256 << 10, 2, 8 << 20),
        (64, 1, 3 << 20),
        (4096, 3, 500_000),
    ] {
        request.buffer_bytes = buffer;
        request.jobs = jobs;
        request.chunk_bytes = chunk;
        let mut streamed = judge_run(&request, &policy).unwrap();
        let case = format!("buffer {buffer} jobs {jobs} chunk {chunk}");
        let reason = &mut streamed.reasons[0];
        assert!(
            reason.evidence[0].text.ends_with(&note),
            "{case}: {reason:?}"
        );
        reason.evidence[0].text = reason.evidence[0].text.replace(&note, "");
        reason.message = reason.message.replace(&note, "");
        assert_eq!(streamed, mapped, "{case}");
    }

    // A record glued into a 2 MiB INFO line past its first MiB: the mapped read
    // finds it; the streaming read cannot, and refuses the log.
    let mut info = b"2026-11-25 13:30:55\tINFO\ttclean::::casa\t".to_vec();
    info.resize(1536 << 10, b'i');
    info.extend_from_slice(b"2026-11-25 13:30:55\tSEVERE\tx::y\tglued in");
    info.resize(2 << 20, b'i');
    bytes.extend_from_slice(&info);
    bytes.push(b'\n');
    let log = old_log(dir.path(), &bytes);
    request.read.mode = ReadMode::Auto;
    let mapped = judge_run(&request, &policy).unwrap();
    assert!(mapped.reasons[0]
        .evidence
        .iter()
        .any(|e| e.text.starts_with("glued in")));
    request.read.mode = ReadMode::Read;
    let err = judge_run(&request, &policy).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: line 103 is {} bytes long and holds a SEVERE, WARN, task, divergence or \
             session mark, but is not a SEVERE or WARN record; casa-judge reads only the first \
             1048576 bytes of a line, so it cannot judge this log",
            log.display(),
            2 << 20
        )
    );
}
