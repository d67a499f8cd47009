//! The streaming read gives the judgement of the memory map whatever its buffer
//! size: lines, CRLF pairs and literals cut by the buffer's end are carried
//! over whole, and a line longer than the buffer makes it grow.

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
