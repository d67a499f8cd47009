//! `--dry-run`: the logs and expected products a run would find are listed, the outputs
//! named, nothing is written (the directory is unchanged) and the exit code is 0; a
//! configuration a run refuses is refused the same way (exit 2, one line).

use std::path::Path;
use std::process::Output;

#[path = "../../../tests/sandbox.rs"]
mod sandbox;
use sandbox::*;

fn judge(cwd: &Path, args: &[&str]) -> Output {
    sandbox::run_isolated(env!("CARGO_BIN_EXE_casa-judge"), cwd, args)
}

#[test]
fn dry_run_lists_what_a_run_reads_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs/divergence"),
        &run,
    );
    let before = snapshot(tmp.path());
    let args = [
        "--policy",
        "quicklook",
        "--exit-status",
        "0",
        "--expect",
        "products/*.fits",
        "--workdir",
        "run",
        "--stdout",
        "run/stdout.txt",
        "--stderr",
        "run/missing.txt",
        "--json",
        "judge.json",
        "--timeline",
        "timeline.tsv",
        "run",
    ];
    let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
    let out = judge(tmp.path(), &dry);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        snapshot(tmp.path()),
        before,
        "a dry run changed the directory"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"write judge.json"), "{stdout}");
    assert!(lines.contains(&"write timeline.tsv"), "{stdout}");
    assert!(lines.contains(&"read run/stdout.txt"), "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with("skip run/missing.txt")),
        "{stdout}"
    );

    // The real run's own account of the logs and products it read, from its JSON.
    let real = judge(tmp.path(), &args);
    assert_eq!(
        real.status.code(),
        Some(1),
        "the divergence scenario fails for good"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("judge.json")).unwrap()).unwrap();
    let logs = doc["logs"].as_array().unwrap();
    assert!(!logs.is_empty());
    for log in logs {
        let path = log["file"].as_str().expect("a log path");
        assert!(
            lines.contains(&format!("read {path}").as_str()),
            "{path}: {stdout}"
        );
    }
    let products = doc["products"].as_array().unwrap();
    assert_eq!(products.len(), 2, "target.image.fits and target.pb.fits");
    for p in products {
        // The JSON gives the path relative to --workdir; the dry run the path it opens.
        let line = format!(
            "expect products/*.fits: run/{}",
            p["path"].as_str().unwrap()
        );
        assert!(lines.contains(&line.as_str()), "{line}: {stdout}");
    }
}

#[test]
fn dry_run_refuses_what_a_run_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("site")).unwrap();
    std::fs::write(
        tmp.path().join("site/test.properties"),
        "edu.nrao.vlass.casajudge.divergenceratio = lots\n",
    )
    .unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/logs/divergence"),
        &tmp.path().join("run"),
    );
    let before = snapshot(tmp.path());
    for args in [
        &[
            "--profile",
            "test",
            "--capo-path",
            "site",
            "--json",
            "j.json",
            "run",
        ][..],
        &["--set", "nosuchkey=1", "run"][..],
        &["--json", "j.json", "missing-dir"][..],
        &["--policy", "quicklook", "--workdir", "missing-dir", "run"][..],
    ] {
        let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
        let out = judge(tmp.path(), &dry);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("casa-judge: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        let real = judge(tmp.path(), args);
        assert_eq!(
            real.status.code(),
            Some(2),
            "{args:?}: the run refuses it too"
        );
        assert_eq!(real.stderr, out.stderr, "{args:?}: the same line");
    }
    assert_eq!(snapshot(tmp.path()), before);
}
