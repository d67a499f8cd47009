//! The judgement does not depend on how the bytes were obtained (memory map or
//! read), on the chunk size of the parallel scan, or on the thread count.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use vlass_casalog::source::{self, ReadMode, ReadOptions};
use vlass_casalog::{judge_run, JudgeRequest, PolicySettings};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

/// A large log made of real records: every scenario log of the test data in turn,
/// repeated, so it holds SEVERE records, continuations, exceptions, divergence and
/// an unterminated task at the end (the killed log comes last).
fn big_log(dir: &Path) -> PathBuf {
    let names = [
        "flagmanager_severe/casa-20261125-133055.log",
        "benign_severe/casa-20261125-133312.log",
        "divergence/casa-20261125-133135.log",
        "success/casa-20261125-133037.log",
    ];
    let mut bytes = Vec::new();
    for _ in 0..40 {
        for n in names {
            bytes.extend(std::fs::read(logs_dir().join(n)).unwrap());
        }
    }
    bytes.extend(std::fs::read(logs_dir().join("killed/casa-20261125-133121.log")).unwrap());
    let path = dir.join("casa-20261125-000000.log");
    std::fs::write(&path, &bytes).unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    path
}

#[test]
fn mapped_and_read_give_the_same_judgement_for_any_chunking_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    assert_eq!(
        source::load(&log, &ReadOptions::default())
            .unwrap()
            .method(),
        "mmap"
    );
    let policy = PolicySettings::builtin("default")
        .unwrap()
        .to_policy()
        .unwrap();
    let mut request = JudgeRequest::new(vec![log.clone()]);
    request.exit_status = Some(0);
    request.jobs = 1;
    request.read = ReadOptions {
        mode: ReadMode::Read,
        ..ReadOptions::default()
    };
    let reference = judge_run(&request, &policy).unwrap();
    assert_eq!(
        reference.reason_codes(),
        vec![
            "severe_flagmanager",
            "task_exception",
            "unterminated_task",
            "divergence"
        ]
    );
    // 40 copies of each of the flagmanager SEVERE pair, exceptions, divergence lines.
    assert_eq!(reference.reasons[0].evidence_total, 80);
    assert_eq!(reference.reasons[1].evidence_total, 40);
    assert_eq!(reference.reasons[3].evidence_total, 80);
    for mode in [ReadMode::Auto, ReadMode::Read] {
        for jobs in [1, 2, 4] {
            for chunk in [1000, 64 << 10, 8 << 20] {
                request.read.mode = mode;
                request.jobs = jobs;
                request.chunk_bytes = chunk;
                let j = judge_run(&request, &policy).unwrap();
                assert_eq!(j, reference, "{mode:?} jobs {jobs} chunk {chunk}");
            }
        }
    }
}

#[test]
fn a_recently_modified_file_is_read_not_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    // Touch it: now it looks like a file something may still be writing or truncating.
    std::fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    assert_eq!(
        source::load(&log, &ReadOptions::default())
            .unwrap()
            .method(),
        "read"
    );
}
