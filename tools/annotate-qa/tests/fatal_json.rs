//! annotate-qa as a DAG node: the named --json output exists even after a fatal
//! error, and the version is logged with -v.

mod common;
use common::*;

/// A DAG node names its --json output in the submit file: after a fatal error the
/// file still holds a document saying why, so HTCondor hands exit 2 to DAGMan
/// instead of holding the job for a missing output.
#[test]
fn a_fatal_error_still_writes_the_named_json_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("qa.json");
    let images = testdata("images");
    let out = run(&[
        "--no-progress",
        "--json",
        json.to_str().unwrap(),
        "--threshold",
        "nosuchkey=1",
        images.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("qa.json written")).unwrap();
    assert_eq!(doc["schema"], "vlass-annotate-qa/1");
    assert!(
        doc["error"].as_str().unwrap().contains("nosuchkey"),
        "{doc}"
    );
    assert_eq!(doc["products"], serde_json::json!([]));
    // A path that exists and is not a .json file is never overwritten by it.
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "keep me").unwrap();
    let out = run(&[
        "--json",
        other.to_str().unwrap(),
        "--threshold",
        "nosuchkey=1",
    ]);
    assert_eq!(code(&out), 2);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
}

#[test]
fn version_with_commit_on_v_and_at_start_with_verbose() {
    for flag in ["--version", "-V"] {
        let out = run(&[flag]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("(commit "),
            "{flag}"
        );
    }
    let out = run(&["-v", "--no-progress"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .next()
            .is_some_and(|l| l.starts_with("annotate-qa ") && l.contains("(commit ")),
        "{err}"
    );
}

/// A VLASS product whose header has no usable sky coordinates fails QA with a
/// reason naming the keyword (it used to pass with the WCS rules skipped); the
/// same image under a non-VLASS name is only measured.
#[test]
fn a_product_without_sky_coordinates_fails_naming_the_keyword() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits";
    let cards: Vec<String> = image_cards(64, 64, 1, 4, Some((2.5, 2.0, 10.0)))
        .into_iter()
        .filter(|c| !c.starts_with("CDELT1 "))
        .collect();
    let pixels = noise_with_source(64 * 64, 1e-4, 64 * 32 + 32, 0.05);
    write_fits(&dir.path().join(name), &cards, &pixels);
    let path = dir.path().join(name);
    let (status, doc, _) = run_json(&[path.to_str().unwrap()]);
    assert_eq!(status, 1, "{doc}");
    let reasons = doc["products"][0]["reasons"].as_array().unwrap();
    let wcs = reasons
        .iter()
        .find(|r| r["rule"] == "wcs_invalid")
        .unwrap_or_else(|| panic!("no wcs_invalid in {reasons:?}"));
    assert_eq!(wcs["severity"], "fail");
    assert!(wcs["message"].as_str().unwrap().contains("CDELT1"), "{wcs}");
    let other = dir.path().join("plain.fits");
    std::fs::copy(&path, &other).unwrap();
    let (status, doc, _) = run_json(&[other.to_str().unwrap()]);
    assert_ne!(status, 2, "{doc}");
    let reasons = doc["products"][0]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().all(|r| r["rule"] != "wcs_invalid"),
        "{reasons:?}"
    );
}
