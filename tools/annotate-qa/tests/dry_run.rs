//! `--dry-run`: the products found and every output planned are listed, nothing is written
//! (the directory is unchanged, not even the --json error document) and the exit code is 0;
//! a configuration or input a run refuses is refused the same way (exit 2, one line).

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "../../../tests/sandbox.rs"]
mod sandbox;
use sandbox::*;

fn annotate(cwd: &Path, args: &[&str]) -> Output {
    sandbox::run_isolated(env!("CARGO_BIN_EXE_annotate-qa"), cwd, args)
}

fn images_copy(to: &Path) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images"),
        to,
    );
}

#[test]
fn dry_run_plans_exactly_what_a_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    images_copy(&tmp.path().join("in"));
    let before = snapshot(tmp.path());
    let args = [
        "--json",
        "qa.json",
        "--csv",
        "qa.csv",
        "--sidecar",
        "--output-dir",
        "side",
        "--previews",
        "prev",
        "--no-progress",
        "in",
    ];
    let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
    let out = annotate(tmp.path(), &dry);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        snapshot(tmp.path()),
        before,
        "a dry run changed the directory"
    );
    let planned: Vec<PathBuf> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("write "))
        .map(|p| tmp.path().join(p))
        .collect();
    assert!(planned.len() > 4, "{stdout}");
    let reads = stdout.lines().filter(|l| l.starts_with("read ")).count();
    let fits = before
        .keys()
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".fits") || n.ends_with(".fits.gz")
        })
        .count();
    assert_eq!(reads, fits, "one read line per FITS file: {stdout}");
    for dir in ["side", "prev"] {
        assert!(
            stdout.lines().any(|l| l == format!("mkdir {dir}")),
            "{stdout}"
        );
    }

    // The real run writes exactly the planned files.
    let real = annotate(tmp.path(), &args);
    assert!(matches!(real.status.code(), Some(0 | 1)), "{real:?}");
    let mut written: Vec<PathBuf> = snapshot(tmp.path())
        .into_iter()
        .filter(|(p, bytes)| bytes.is_some() && !before.contains_key(p))
        .map(|(p, _)| p)
        .collect();
    let normal = |p: &Path| p.components().collect::<PathBuf>();
    let mut planned: Vec<PathBuf> = planned.iter().map(|p| normal(p)).collect();
    written.sort();
    planned.sort();
    assert_eq!(planned, written, "{stdout}");
}

#[test]
fn dry_run_refuses_what_a_run_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    images_copy(&tmp.path().join("in"));
    std::fs::create_dir(tmp.path().join("site")).unwrap();
    std::fs::write(
        tmp.path().join("site/test.properties"),
        "edu.nrao.vlass.qa.se.noisewarnjy = quiet\n",
    )
    .unwrap();
    let before = snapshot(tmp.path());
    for args in [
        &["--profile", "test", "--capo-path", "site", "in"][..],
        &["--threshold", "no.such=1", "in"][..],
        &["missing-dir"][..],
        &[
            "--csv",
            "in/VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
            "in",
        ][..],
    ] {
        let with_json: Vec<&str> = ["--json", "qa.json"].iter().chain(args).copied().collect();
        let dry: Vec<&str> = with_json.iter().copied().chain(["--dry-run"]).collect();
        let out = annotate(tmp.path(), &dry);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("annotate-qa: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{args:?}: no error document either"
        );
        let real = annotate(tmp.path(), args);
        assert_eq!(
            real.status.code(),
            Some(2),
            "{args:?}: the run refuses it too"
        );
        assert_eq!(real.stderr, out.stderr, "{args:?}: the same line");
    }
}
