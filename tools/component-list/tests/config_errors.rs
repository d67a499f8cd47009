//! A CAPO value component-list cannot use is an error, exit 2, with one line
//! `component-list: FILE:LINE: key: problem`, in --show-config exactly as in a run.

use std::path::Path;
use std::process::Output;

#[path = "../../../tests/sandbox.rs"]
mod sandbox;

const SE_TT0: &str =
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";

fn component_list(cwd: &Path, args: &[&str]) -> Output {
    sandbox::run_isolated(env!("CARGO_BIN_EXE_component-list"), cwd, args)
}

#[test]
fn bad_capo_values_fail_show_config_and_runs_alike() {
    let image = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/images")
        .join(SE_TT0);
    for (content, line) in [
        (
            "edu.nrao.vlass.componentlist.threshisl = 3\nedu.nrao.vlass.componentlist.threshpix = five\n",
            "site/test.properties:2: edu.nrao.vlass.componentlist.threshpix: value 'five' is not a finite number",
        ),
        (
            "edu.nrao.vlass.componentlist.rmsbox = 10\n",
            "site/test.properties:1: edu.nrao.vlass.componentlist.rmsbox: value '10' is not \
             SIZE,STEP in pixels with SIZE >= 3 and 1 <= STEP <= SIZE, or auto",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(dir.path().join("site/test.properties"), content).unwrap();
        let capo = ["--capo-profile", "test", "--capo-path", "site"];
        let out_dir = dir.path().join("out");
        let run: Vec<&str> = capo
            .iter()
            .copied()
            .chain(["--output-dir", out_dir.to_str().unwrap(), image.to_str().unwrap()])
            .collect();
        let show: Vec<&str> = capo.iter().copied().chain(["--show-config"]).collect();
        for args in [show, run] {
            let out = component_list(dir.path(), &args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!("component-list: {line}\n"),
                "{args:?}"
            );
            assert!(out.stdout.is_empty(), "{args:?}");
        }
        assert!(!out_dir.exists(), "no catalogue after a configuration error");
    }
}

#[test]
fn valid_capo_values_are_shown_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(
        dir.path().join("site/test.properties"),
        "edu.nrao.vlass.componentlist.threshpix = 6\n",
    )
    .unwrap();
    let out = component_list(
        dir.path(),
        &["--profile", "test", "--capo-path", "site", "--show-config"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "edu.nrao.vlass.componentlist.threshpix = 6     [capo: site/test.properties:1]"
        ),
        "{text}"
    );
}
