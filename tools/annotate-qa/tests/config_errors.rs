//! Configuration and input errors of annotate-qa are one line naming where the problem is:
//! `FILE:LINE` of a CAPO value that does not parse (in a run and in --show-config alike), the
//! PATH of an input that does not exist (without Rust's "(os error N)").

use std::path::Path;
use std::process::Output;

#[path = "../../../tests/sandbox.rs"]
mod sandbox;

const SE_TT0: &str =
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";

fn annotate_qa(cwd: &Path, args: &[&str]) -> Output {
    sandbox::run_isolated(env!("CARGO_BIN_EXE_annotate-qa"), cwd, args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_capo_value_that_does_not_parse_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(
        dir.path().join("site/test.properties"),
        "# thresholds\nedu.nrao.vlass.qa.se.noisewarnjy = 2e-4 Jy\n",
    )
    .unwrap();
    let image = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/images")
        .join(SE_TT0);
    let capo = ["--profile", "test", "--capo-path", "site"];
    let run: Vec<&str> = capo
        .iter()
        .copied()
        .chain([image.to_str().unwrap()])
        .collect();
    let show: Vec<&str> = capo.iter().copied().chain(["--show-config"]).collect();
    for args in [run, show] {
        let out = annotate_qa(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "annotate-qa: site/test.properties:2: edu.nrao.vlass.qa.se.noisewarnjy: \
             value '2e-4 Jy' is not a finite number\n",
            "{args:?}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing printed before the error"
        );
    }
    // The same value from a flag names the flag.
    let out = annotate_qa(
        dir.path(),
        &["--threshold", "se.noisewarnjy=2e-4 Jy", "--show-config"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "annotate-qa: --threshold: edu.nrao.vlass.qa.se.noisewarnjy: \
         value '2e-4 Jy' is not a finite number\n"
    );
}

#[test]
fn a_missing_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nosuch.fits");
    let out = annotate_qa(dir.path(), &[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "annotate-qa: {}: No such file or directory\n",
            missing.display()
        )
    );
    // With an existing directory that holds no FITS file, each PATH gets its own line.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = annotate_qa(dir.path(), &["nosuch.fits", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "annotate-qa: nosuch.fits: No such file or directory\n\
         annotate-qa: empty: nothing to do: no *.fits or *.fits.gz file found\n"
    );
}
