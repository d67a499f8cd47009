//! `--dry-run`: the inputs' headers are opened and the outputs planned, nothing is written
//! (the directory is unchanged, the output directory not created) and the exit code is 0;
//! a configuration or input a run refuses is refused the same way (exit 2, one line).

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "../../../tests/sandbox.rs"]
mod sandbox;
use sandbox::*;

const SE_TT0: &str =
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";
const CC_CUBE: &str = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits";

fn component_list(cwd: &Path, args: &[&str]) -> Output {
    sandbox::run_isolated(env!("CARGO_BIN_EXE_component-list"), cwd, args)
}

fn images_copy(to: &Path) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images"),
        to,
    );
}

/// Runs `args` with `--dry-run`: exit 0, nothing changed; then for real: the files the real
/// run adds are exactly the dry run's `write` lines. Returns the dry run's stdout.
fn dry_then_real(dir: &Path, args: &[&str]) -> String {
    let before = snapshot(dir);
    let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
    let out = component_list(dir, &dry);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{args:?}");
    assert_eq!(
        snapshot(dir),
        before,
        "{args:?}: a dry run changed the directory"
    );
    let mut planned: Vec<PathBuf> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("write "))
        .map(|p| dir.join(p))
        .collect();
    let real = component_list(dir, args);
    assert_eq!(real.status.code(), Some(0), "{args:?}: {real:?}");
    let mut written: Vec<PathBuf> = snapshot(dir)
        .into_iter()
        .filter(|(p, bytes)| bytes.is_some() && !before.contains_key(p))
        .map(|(p, _)| p)
        .collect();
    planned.sort();
    written.sort();
    assert_eq!(planned, written, "{args:?}: {stdout}");
    stdout
}

#[test]
fn dry_run_plans_exactly_what_a_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    images_copy(&tmp.path().join("in"));
    let image = format!("in/{SE_TT0}");
    let stdout = dry_then_real(
        tmp.path(),
        &[
            "--output-dir",
            "out",
            "--format",
            "csv,fits,ds9,json",
            "--jobs",
            "1",
            &image,
        ],
    );
    assert!(
        stdout.lines().any(|l| l == format!("read {image}")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "mkdir out"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("write ")).count(),
        6
    );

    // Cube mode, measuring the catalogue just written in the coarse cube.
    let catalog = format!("out/{}", SE_TT0.replace(".fits", ".srl.csv"));
    let cube = format!("in/{CC_CUBE}");
    let stdout = dry_then_real(
        tmp.path(),
        &[
            "cube",
            "--catalog",
            &catalog,
            "--output-dir",
            "cube-out",
            "--format",
            "csv,json",
            &cube,
        ],
    );
    assert!(
        stdout.lines().any(|l| l == format!("read {catalog}")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == format!("read {cube}")),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("write ")).count(),
        2
    );
}

#[test]
fn dry_run_refuses_what_a_run_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    images_copy(&tmp.path().join("in"));
    std::fs::create_dir(tmp.path().join("site")).unwrap();
    std::fs::write(
        tmp.path().join("site/test.properties"),
        "edu.nrao.vlass.componentlist.threshpix = five\n",
    )
    .unwrap();
    let image = format!("in/{SE_TT0}");
    let cube = format!("in/{CC_CUBE}");
    for args in [
        &[
            "--capo-profile",
            "test",
            "--capo-path",
            "site",
            "--output-dir",
            "out",
            &image,
        ][..],
        &["--output-dir", "out", "in/missing.fits"][..],
        &["--output-dir", "out", "--format", "csv,png", &image][..],
        &["--output-dir", "out", "--rms-map", &cube, &image][..],
        &["--output-dir", "out", "--prefix", "a/b", &image][..],
        &[
            "cube",
            "--catalog",
            "in/missing.csv",
            "--output-dir",
            "out",
            &cube,
        ][..],
        &[
            "cube",
            "--catalog",
            &image,
            "--output-dir",
            "out",
            "in/missing.fits",
        ][..],
    ] {
        let before = snapshot(tmp.path());
        let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
        let out = component_list(tmp.path(), &dry);
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{args:?}: a dry run changed the directory"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("component-list: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        let real = component_list(tmp.path(), args);
        assert_eq!(
            real.status.code(),
            Some(2),
            "{args:?}: the run refuses it too"
        );
        assert_eq!(real.stderr, out.stderr, "{args:?}: the same line");
    }
}
