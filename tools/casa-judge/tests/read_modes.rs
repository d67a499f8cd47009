//! End to end: the default streaming read and `--mmap auto` (memory map) give
//! byte-identical JSON and timelines, whatever the thread count.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

/// Runs casa-judge on `log` with `extra` options; returns exit code, JSON and timeline.
fn judge(log: &Path, dir: &Path, extra: &[&str]) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let json = dir.join("judge.json");
    let timeline = dir.join("timeline.tsv");
    let out = Command::new(env!("CARGO_BIN_EXE_casa-judge"))
        .env_remove("CAPO_PROFILE")
        .args(["--exit-status", "0", "-q", "--json"])
        .arg(&json)
        .arg("--timeline")
        .arg(&timeline)
        .args(extra)
        .arg(log)
        .output()
        .expect("run casa-judge");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        std::fs::read(json).unwrap(),
        std::fs::read(timeline).unwrap(),
    )
}

#[test]
fn streamed_and_mapped_logs_give_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for _ in 0..30 {
        for name in [
            "flagmanager_severe/casa-20261125-133055.log",
            "divergence/casa-20261125-133135.log",
            "success/casa-20261125-133037.log",
        ] {
            bytes.extend(std::fs::read(logs_dir().join(name)).unwrap());
        }
    }
    bytes.extend(std::fs::read(logs_dir().join("killed/casa-20261125-133121.log")).unwrap());
    assert!(bytes.len() > 64 << 10, "large enough to be mapped");
    let log = dir.path().join("casa-20261125-000002.log");
    std::fs::write(&log, &bytes).unwrap();
    // Old enough that `--mmap auto` maps it.
    std::fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let streamed = judge(&log, dir.path(), &[]);
    assert_eq!(
        streamed.0,
        Some(1),
        "the flagmanager SEVERE records fail the run"
    );
    for extra in [
        &["--mmap", "auto"][..],
        &["--mmap", "auto", "-j", "3"],
        &["--mmap", "read", "-j", "1"],
    ] {
        assert!(judge(&log, dir.path(), extra) == streamed, "{extra:?}");
    }
}
