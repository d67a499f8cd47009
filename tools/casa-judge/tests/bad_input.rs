//! End to end: bad input gets one clear `casa-judge: ...` line and the
//! documented exit code, never a panic and never a success by accident.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs")
}

fn success_log() -> Vec<u8> {
    std::fs::read(logs_dir().join("success/casa-20261125-133037.log")).unwrap()
}

fn judge(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casa-judge"))
        .env_remove("CAPO_PROFILE")
        .args(args)
        .output()
        .expect("run casa-judge")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Asserts exit 2 with a single `casa-judge:` error line containing `needle`, and no panic.
fn assert_input_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.starts_with("casa-judge: ") || err.starts_with("error: "),
        "{err}"
    );
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(out.stdout.is_empty(), "no verdict may be printed");
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn empty_log_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("casa-20261125-000000.log");
    std::fs::write(&log, b"").unwrap();
    let out = judge(&[os("--exit-status"), os("0"), log.as_os_str()]);
    assert_input_error(&out, "empty file");
}

#[test]
fn binary_garbage_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("casa-20261125-000000.log");
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&log, garbage).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), log.as_os_str()]);
    assert_input_error(&out, "not a CASA log");
}

#[test]
fn hundred_megabyte_single_line() {
    let dir = tempfile::tempdir().unwrap();
    // Not a record: refused.
    let log = dir.path().join("casa-1.log");
    std::fs::write(&log, vec![b'x'; 100 << 20]).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), log.as_os_str()]);
    assert_input_error(&out, "not a CASA log");
    // A record with a 100 MB SEVERE message: judged, and the evidence text is cut.
    let mut record = b"2026-11-25 13:30:58\tSEVERE\tx::y\t".to_vec();
    record.resize(100 << 20, b'y');
    std::fs::write(&log, &record).unwrap();
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--json"),
        os("-"),
        log.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reasons"][0]["code"], "severe");
    let text = doc["reasons"][0]["evidence"][0]["text"].as_str().unwrap();
    assert!(text.len() < 10_000);
    // Only the line's first MiB was read, and the evidence says so.
    assert!(
        text.ends_with(
            "... [line 1 is 104857600 bytes long: casa-judge read only its first 1048576 bytes]"
        ),
        "{text}"
    );
    // A 100 MB line that is no record between two records: only counted.
    let record = b"2026-11-25 13:30:58\tINFO\tx::casa\tsome text\n";
    let mut between = record.to_vec();
    between.resize(record.len() + (100 << 20), b'z');
    between.push(b'\n');
    between.extend_from_slice(record);
    std::fs::write(&log, &between).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), log.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The same line holding a SEVERE record glued in past its first MiB: the
    // rules would need all of it, so the log cannot be judged.
    let glued = b"2026-11-25 13:30:58\tSEVERE\tx::y\tglued";
    let at = record.len() + (50 << 20);
    between[at..at + glued.len()].copy_from_slice(glued);
    std::fs::write(&log, &between).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), log.as_os_str()]);
    assert_input_error(&out, "line 2 is 104857600 bytes long");
    assert_input_error(&out, "cannot judge this log");
}

#[test]
fn crlf_log_is_judged_like_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        std::fs::read(logs_dir().join("flagmanager_severe/casa-20261125-133055.log")).unwrap();
    let mut crlf = Vec::new();
    for line in original.split_inclusive(|&b| b == b'\n') {
        crlf.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        crlf.extend_from_slice(b"\r\n");
    }
    let lf = dir.path().join("lf.log");
    let cr = dir.path().join("crlf.log");
    std::fs::write(&lf, &original).unwrap();
    std::fs::write(&cr, &crlf).unwrap();
    let run = |p: &Path| {
        let out = judge(&[
            os("--exit-status"),
            os("0"),
            os("--json"),
            os("-"),
            p.as_os_str(),
        ]);
        let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Only the file name differs.
        let text = doc.to_string().replace(&p.display().to_string(), "LOG");
        doc = serde_json::from_str(&text).unwrap();
        (out.status.code(), doc)
    };
    let (a, b) = (run(&lf), run(&cr));
    assert_eq!(a, b);
    assert_eq!(a.0, Some(1));
    assert_eq!(a.1["reasons"][0]["evidence"][0]["line"], 25);
    assert!(!a.1["reasons"][0]["evidence"][0]["text"]
        .as_str()
        .unwrap()
        .ends_with('\r'));
}

#[test]
fn gz_logs_work_and_damaged_gz_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&success_log()).unwrap();
    let gz = enc.finish().unwrap();
    let log = dir.path().join("casa-20261125-133037.log.gz");
    std::fs::write(&log, &gz).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    std::fs::write(&log, &gz[..gz.len() * 2 / 3]).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_input_error(&out, "truncated gzip");

    let mut corrupt = gz.clone();
    for b in corrupt.iter_mut().skip(20).take(64) {
        *b = !*b;
    }
    std::fs::write(&log, &corrupt).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_input_error(&out, "gzip");
}

#[test]
fn directory_without_logs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    // Without an exit status there is nothing to judge: input error.
    let out = judge(&[dir.path().as_os_str()]);
    assert_input_error(&out, "no CASA log found");
    // With exit 0 but no product to show the work was done: a failure, not a success.
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no_log"));
    // Exit 1 and a sound product but no log: not a false failure (the product may be
    // left over from an earlier run), a failure.
    std::fs::copy(
        logs_dir().join("success/products/target.pb.fits"),
        dir.path().join("pb.fits"),
    )
    .unwrap();
    let workdir = dir.path().as_os_str();
    let out = judge(&[
        os("--exit-status"),
        os("1"),
        os("--workdir"),
        workdir,
        os("--expect"),
        os("pb.fits"),
        workdir,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nonzero_exit") && text.contains("no CASA log shows"),
        "{text}"
    );
    // Exit 0 and the sound product: success, with the no_log warning.
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--workdir"),
        workdir,
        os("--expect"),
        os("pb.fits"),
        workdir,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning no_log"));
}

#[test]
fn unreadable_files_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A log name pointing nowhere, found in a directory.
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("casa-1.log")).unwrap();
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_input_error(&out, "casa-1.log: No such file");
    // A file the kernel refuses to read from offset 0 (even for root).
    let out = judge(&[os("--exit-status"), os("0"), os("/proc/self/mem")]);
    assert_input_error(&out, "/proc/self/mem");
    // A --stderr file that exists but cannot be read.
    let log = logs_dir().join("success/casa-20261125-133037.log");
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--stderr"),
        os("/proc/self/mem"),
        log.as_os_str(),
    ]);
    assert_input_error(&out, "/proc/self/mem");
}

/// A DAG's POST line names the job's stdout/stderr files whether or not the job
/// ran: one that does not exist is judged without, and said so (a warning); the
/// verdict rests on the rest of the evidence.
#[test]
fn a_missing_stdout_or_stderr_file_is_a_warning() {
    let log = logs_dir().join("success/casa-20261125-133037.log");
    for (status, code) in [("0", 0), ("-1004", 3)] {
        let out = judge(&[
            os("--exit-status"),
            os(status),
            os("--stderr"),
            os("/nonexistent/casa.err"),
            os("--stdout"),
            os("/nonexistent/casa.out"),
            os("--json"),
            os("-"),
            os("-q"),
            log.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(code), "exit status {status}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let skipped: Vec<&serde_json::Value> = doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "skipped_input")
            .collect();
        assert_eq!(skipped.len(), 1, "{doc}");
        let files: Vec<&str> = skipped[0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["file"].as_str().unwrap())
            .collect();
        assert_eq!(files, ["/nonexistent/casa.out", "/nonexistent/casa.err"]);
    }
}

/// HTCondor's job event log under a CASA log name (`log = casa.log` in a submit
/// file) found by the directory search is left out with a warning, not judged
/// as a broken CASA log; named on the command line it is still an input error.
#[test]
fn a_condor_event_log_found_by_the_search_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let src = logs_dir().join("success/casa-20261125-133037.log");
    std::fs::copy(&src, dir.path().join("casa-20261125-133037.log")).unwrap();
    let events =
        "000 (1234.000.000) 2026-11-25 13:30:30 Job submitted from host: <10.0.0.1:9618>\n...\n\
001 (1234.000.000) 2026-11-25 13:30:35 Job executing on host: <10.0.0.2:9618>\n...\n";
    std::fs::write(dir.path().join("casa.log"), events).unwrap();
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--json"),
        os("-"),
        os("-q"),
        dir.path().as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["logs"].as_array().unwrap().len(), 1, "{doc}");
    let warning = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "skipped_input")
        .expect("a skipped_input warning");
    assert!(
        warning["evidence"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("casa.log"),
        "{warning}"
    );
    // Named explicitly, the same file is judged as a log, and is not one.
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        dir.path().join("casa.log").as_os_str(),
    ]);
    assert_input_error(&out, "casa.log");
    // A CASA log whose first line merely starts with digits is still judged.
    std::fs::write(
        dir.path().join("casa.log"),
        "000 not an event (1.2.3) line\n",
    )
    .unwrap();
    let out = judge(&[os("--exit-status"), os("0"), dir.path().as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn glob_matching_nothing_is_a_missing_product_and_a_bad_glob_an_error() {
    let log = logs_dir().join("success/casa-20261125-133037.log");
    let workdir = logs_dir().join("success");
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--workdir"),
        workdir.as_os_str(),
        os("--expect"),
        os("products/*.nothing"),
        log.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing_product"));
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--expect"),
        os("products/[x"),
        log.as_os_str(),
    ]);
    assert_input_error(&out, "bad glob");
}

#[test]
fn exit_status_must_be_a_number() {
    let log = logs_dir().join("success/casa-20261125-133037.log");
    for bad in ["abc", "1.5", "", "0x1"] {
        let out = judge(&[os("--exit-status"), os(bad), log.as_os_str()]);
        assert_input_error(&out, "--exit-status");
    }
    // Negative values are taken verbatim (DAGMan's $RETURN).
    let out = judge(&[os("--exit-status"), os("-1002"), log.as_os_str()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dagman_job_removed"));
}

#[test]
fn unknown_policy_and_bad_setting_are_configuration_errors() {
    let log = logs_dir().join("success/casa-20261125-133037.log");
    let out = judge(&[
        os("--policy"),
        os("nosuch"),
        os("--exit-status"),
        os("0"),
        log.as_os_str(),
    ]);
    assert_input_error(&out, "unknown policy 'nosuch'");
    let out = judge(&[
        os("--set"),
        os("divergenceratio=lots"),
        os("--exit-status"),
        os("0"),
        log.as_os_str(),
    ]);
    assert_input_error(&out, "divergenceratio");
    // The hint names casa-judge's own listing flag, which then really lists the keys.
    let out = judge(&[
        os("--set"),
        os("divergenceration=10"),
        os("--exit-status"),
        os("0"),
        log.as_os_str(),
    ]);
    assert_input_error(
        &out,
        "unknown setting 'edu.nrao.vlass.casajudge.divergenceration' (flag: --set); \
         --show-policy default lists the known keys",
    );
    let out = judge(&[os("--show-policy"), os("default")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("edu.nrao.vlass.casajudge.divergenceratio = 10    [default]"));
}

#[test]
fn no_half_written_json_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("judge.json");
    std::fs::write(&json, b"previous").unwrap();
    let empty = dir.path().join("casa-x.log");
    std::fs::write(&empty, b"").unwrap();
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--json"),
        json.as_os_str(),
        empty.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&json).unwrap(), b"previous");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
}

#[test]
fn reused_log_name_with_two_sessions() {
    // A failed run and its successful retry appended to the same file, with the
    // first run's SEVERE echo on stderr.
    let dir = tempfile::tempdir().unwrap();
    let failed = logs_dir().join("task_exception_swallowed");
    let mut bytes = std::fs::read(failed.join("casa-20261125-133118.log")).unwrap();
    bytes.extend(success_log());
    let log = dir.path().join("casa.log");
    std::fs::write(&log, bytes).unwrap();
    let err = failed.join("stderr.txt");
    let run = |extra: &[&str]| {
        let mut args = vec![
            os("--exit-status"),
            os("0"),
            os("--stderr"),
            err.as_os_str(),
            os("--json"),
            os("-"),
        ];
        args.extend(extra.iter().map(|s| os(s)));
        args.push(log.as_os_str());
        let out = judge(&args);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), doc)
    };
    // Default: every session counts, the earlier failure included.
    let (code, doc) = run(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["reasons"][0]["code"], "task_exception");
    assert_eq!(doc["warnings"][0]["code"], "multiple_sessions");
    // Last session only: the retry succeeded; the stderr echo of the first run is not judged.
    let (code, doc) = run(&["--set", "lastsessiononly=true"]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["warnings"][0]["code"], "multiple_sessions");
    assert_eq!(doc["tasks"].as_array().unwrap().len(), 3);
}

#[test]
fn version_with_commit_on_v_and_at_start_with_verbose() {
    for flag in ["--version", "-V"] {
        let out = judge(&[os(flag)]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("(commit "),
            "{flag}"
        );
    }
    let log = logs_dir().join("success/casa-20261125-133037.log");
    let out = judge(&[os("-v"), os("--exit-status"), os("0"), log.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.lines()
            .next()
            .is_some_and(|l| l.starts_with("casa-judge ") && l.contains("(commit ")),
        "{err}"
    );
}

#[test]
fn a_work_directory_that_does_not_exist_is_a_usage_error() {
    let log = logs_dir().join("success/casa-20261125-133037.log");
    let out = judge(&[
        os("--exit-status"),
        os("0"),
        os("--workdir"),
        os("/nonexistent/run"),
        os("--expect"),
        os("products/*.fits"),
        log.as_os_str(),
    ]);
    assert_input_error(&out, "/nonexistent/run: the work directory");
}

#[test]
fn a_missing_log_is_one_plain_line() {
    let out = judge(&[os("--exit-status"), os("0"), os("/nonexistent/casa-1.log")]);
    assert_input_error(&out, "/nonexistent/casa-1.log: No such file or directory");
    assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}
