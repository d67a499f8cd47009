//! Output naming: files of one name in different directories get different sidecars and
//! previews (mirrored below --output-dir / --previews), and outputs that would still be one
//! file stop the run before anything is written. Also the summary table's deciding reason.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

const SPW6: &str =
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits";
const SPW2: &str =
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw2.I.iter3.image.pbcor.subim.fits";
/// The name both test files get: not a VLASS name, like casa-sim's `target.image.fits`.
const NAME: &str = "target.image.fits";

/// `root/a/target.image.fits` (the spw6 test image) and `root/b/target.image.fits` (the
/// spw2 one): one name, two different images.
fn two_dirs(root: &Path) -> (PathBuf, PathBuf) {
    let a = root.join("a");
    let b = root.join("b");
    for (dir, from) in [(&a, SPW6), (&b, SPW2)] {
        fs::create_dir_all(dir).expect("mkdir");
        fs::copy(testdata("qa").join(from), dir.join(NAME)).expect("copy test file");
    }
    (a, b)
}

/// Every file below `dir`, relative to it, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("below dir");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Peak value of the only file of a one-product document.
fn peak(doc: &Value) -> f64 {
    doc["products"][0]["files"][0]["metrics"]["peak"]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no peak in {doc}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn files_of_one_name_in_two_directories_get_their_own_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("in");
    two_dirs(&root);
    let (side, png) = (dir.path().join("side"), dir.path().join("png"));
    let out = run(&[
        "--no-progress",
        "--sidecar",
        "--output-dir",
        s(&side),
        "--previews",
        s(&png),
        s(&root),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(code(&out), 0 | 1), "{stderr}");
    assert_eq!(
        files_below(&side),
        ["a/target.image.fits.qa.json", "b/target.image.fits.qa.json"]
    );
    assert_eq!(
        files_below(&png),
        ["a/target.image.fits.png", "b/target.image.fits.png"]
    );
    // Each sidecar describes its own input: the peak of a separate run on the original.
    for (sub, original) in [("a", SPW6), ("b", SPW2)] {
        let sidecar: Value = serde_json::from_slice(
            &fs::read(side.join(sub).join(format!("{NAME}.qa.json"))).expect("sidecar"),
        )
        .expect("sidecar JSON");
        let path = sidecar["products"][0]["files"][0]["path"]
            .as_str()
            .expect("path");
        assert!(path.ends_with(&format!("{sub}/{NAME}")), "{path}");
        let (_, reference, _) = run_json(&[s(&testdata("qa").join(original))]);
        assert_eq!(peak(&sidecar), peak(&reference), "{sub}");
        let listed = &sidecar["products"][0]["files"][0]["previews"][0];
        assert_eq!(
            listed.as_str().map(PathBuf::from),
            Some(png.join(sub).join(format!("{NAME}.png")))
        );
    }
    let (pa, pb) = (
        fs::read(png.join("a").join(format!("{NAME}.png"))).expect("png a"),
        fs::read(png.join("b").join(format!("{NAME}.png"))).expect("png b"),
    );
    assert_ne!(pa, pb, "the two previews show different images");
}

#[test]
fn a_single_directory_argument_keeps_top_level_names() {
    // The layout of a flat directory is unchanged: outputs directly in DIR.
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = two_dirs(&dir.path().join("in"));
    let (side, png) = (dir.path().join("side"), dir.path().join("png"));
    let out = run(&[
        "--no-progress",
        "--sidecar",
        "--output-dir",
        s(&side),
        "--previews",
        s(&png),
        s(&a),
    ]);
    assert!(matches!(code(&out), 0 | 1), "{out:?}");
    assert_eq!(files_below(&side), ["target.image.fits.qa.json"]);
    assert_eq!(files_below(&png), ["target.image.fits.png"]);
}

/// Runs with `args`, expects exit 2 and exactly one stderr line containing `needle`.
fn refused(args: &[&str], needle: &str) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(code(&out), 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("annotate-qa: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert!(out.stdout.is_empty(), "no table after a refused run");
    stderr
}

#[test]
fn outputs_that_would_still_clash_stop_the_run_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_dirs(&dir.path().join("in"));
    let (side, png, json) = (
        dir.path().join("side"),
        dir.path().join("png"),
        dir.path().join("qa.json"),
    );
    // Two directory arguments each holding target.image.fits: one relative path.
    let line = refused(
        &[
            "--no-progress",
            "--json",
            s(&json),
            "--sidecar",
            "--output-dir",
            s(&side),
            s(&a),
            s(&b),
        ],
        "would be written twice",
    );
    assert!(line.contains(&format!("{NAME}.qa.json")), "{line}");
    assert!(
        line.contains(s(&a.join(NAME))) && line.contains(s(&b.join(NAME))),
        "{line}"
    );
    // The previews of two file arguments of one name.
    refused(
        &[
            "--no-progress",
            "--json",
            s(&json),
            "--previews",
            s(&png),
            s(&a.join(NAME)),
            s(&b.join(NAME)),
        ],
        "would be written twice",
    );
    assert!(!side.exists() && !png.exists() && !json.exists());
}

#[test]
fn json_or_csv_naming_another_output_or_an_input_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = two_dirs(&dir.path().join("in"));
    let input = a.join(NAME);
    let before = fs::read(&input).expect("read");
    let png = dir.path().join("png");
    // --json over the sidecar written next to the input.
    refused(
        &[
            "--no-progress",
            "--sidecar",
            "--json",
            s(&a.join(format!("{NAME}.qa.json"))),
            s(&a),
        ],
        "would be written twice",
    );
    // --json over the input itself.
    refused(
        &["--no-progress", "--json", s(&input), s(&a)],
        "names the input",
    );
    // --csv over a preview (through a `..` in the path).
    let csv = png.join("x").join("..").join(format!("{NAME}.png"));
    refused(
        &[
            "--no-progress",
            "--previews",
            s(&png),
            "--csv",
            s(&csv),
            s(&a),
        ],
        "names a preview",
    );
    assert_eq!(fs::read(&input).expect("read"), before);
    assert!(!png.exists());
    let names: Vec<String> = files_below(&a);
    assert_eq!(names, [NAME]);
}

#[test]
fn a_file_reached_twice_is_measured_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = two_dirs(&dir.path().join("in"));
    let png = dir.path().join("png");
    let input = a.join(NAME);
    let (code, doc, stderr) = run_json(&[
        "--previews",
        s(&png),
        s(&a),
        s(&input),
        s(&a.join(".").join(NAME)),
    ]);
    assert!(matches!(code, 0 | 1), "{stderr}");
    assert_eq!(doc["totals"]["files"], 1, "{doc}");
    assert_eq!(files_below(&png), ["target.image.fits.png"]);
}

#[test]
fn the_table_shows_the_data_problem_before_the_missing_rms_image() {
    // An SE tt0 image that is all NaN, without its rms image: both fail; the table names
    // the empty image, which explains the product, not the missing companion.
    let dir = tempfile::tempdir().expect("tempdir");
    let tt0 = "VLASS3.1.se.T01t01.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";
    let (nx, ny) = (32, 32);
    write_fits(
        &dir.path().join(tt0),
        &image_cards(nx, ny, 1, 4, Some((2.6, 2.4, 10.0))),
        &vec![f32::NAN; nx * ny],
    );
    let out = run(&["--no-progress", s(dir.path())]);
    assert_eq!(code(&out), 1, "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("VLASS3.1.se"))
        .unwrap_or_else(|| panic!("no SE row in {table}"));
    let reason = row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .last();
    let reason = reason.unwrap_or_default();
    assert!(reason.starts_with("no_finite_pixels: "), "{row}");
    assert!(row.contains(" fail "), "{row}");
    // The JSON keeps both reasons, the missing rms image among them.
    let (_, doc, _) = run_json(&[s(dir.path())]);
    let rules: Vec<&str> = doc["products"][0]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(rules.contains(&"rms_image_missing"), "{rules:?}");
    assert!(
        reason.ends_with(&format!("(+{} more)", rules.len() - 1)),
        "{row}"
    );
}
