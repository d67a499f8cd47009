//! End-to-end behaviour of annotate-qa: cube plane rejection, outputs, header annotation
//! (including a process killed mid-write) and every bad-input case of the issue.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

const SE_TT0: &str =
    "VLASS3.1.se.T01t01.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";
const SE_RMS: &str =
    "VLASS3.1.se.T01t01.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.rms.subim.fits";
const CUBE: &str = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits";
const SPW6: &str =
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits";
const SPW2: &str =
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw2.I.iter3.image.pbcor.subim.fits";

fn product<'a>(doc: &'a Value, key_part: &str) -> &'a Value {
    doc["products"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| {
                p["product"]["key"]
                    .as_str()
                    .is_some_and(|k| k.contains(key_part))
            })
        })
        .unwrap_or_else(|| panic!("no product {key_part} in {doc}"))
}

/// The product whose key ends with `key_end` (keys of the spw-file products end in
/// `.spws.I` or `.spws.IQU`).
fn product_ending<'a>(doc: &'a Value, key_end: &str) -> &'a Value {
    doc["products"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| {
                p["product"]["key"]
                    .as_str()
                    .is_some_and(|k| k.ends_with(key_end))
            })
        })
        .unwrap_or_else(|| panic!("no product *{key_end} in {doc}"))
}

/// The file of `product` whose path ends with `name`.
fn file_of<'a>(product: &'a Value, name: &str) -> &'a Value {
    product["files"]
        .as_array()
        .and_then(|fs| {
            fs.iter()
                .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        })
        .unwrap_or_else(|| panic!("no file {name} in {product}"))
}

fn rules(reasons: &Value) -> Vec<String> {
    reasons
        .as_array()
        .map(|r| {
            r.iter()
                .map(|r| r["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn copy_to(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let to = dir.join(n);
            fs::copy(testdata("qa").join(n), &to).expect("copy test file");
            to
        })
        .collect()
}

/// A small SE product (tt0 + rms) with a good beam, noise and a source.
fn good_se(dir: &Path) {
    let (nx, ny) = (64, 64);
    let cards = image_cards(nx, ny, 1, 4, Some((2.6, 2.4, 10.0)));
    write_fits(
        &dir.join(SE_TT0),
        &cards,
        &noise_with_source(nx * ny, 150e-6, 2080, 0.05),
    );
    write_fits(&dir.join(SE_RMS), &cards, &vec![150e-6; nx * ny]);
}

fn header_cards_of(path: &Path) -> Vec<String> {
    let bytes = fs::read(path).expect("read FITS");
    let mut cards = Vec::new();
    for chunk in bytes.chunks(80) {
        let card = String::from_utf8_lossy(chunk).into_owned();
        let end = card.starts_with("END ");
        cards.push(card);
        if end {
            break;
        }
    }
    cards
}

fn card_value(cards: &[String], key: &str) -> Vec<String> {
    cards
        .iter()
        .filter(|c| c.get(..8).map(str::trim_end) == Some(key) && c.get(8..10) == Some("= "))
        .map(|c| c[10..].split(" /").next().unwrap_or("").trim().to_string())
        .collect()
}

/// Bytes after the primary header (the data unit and any extensions).
fn after_header(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).expect("read FITS");
    let cards = header_cards_of(path).len();
    let header_len = cards.div_ceil(36) * 2880;
    bytes[header_len..].to_vec()
}

#[test]
fn cube_rejects_the_bad_plane_and_keeps_the_other_seven() {
    let (code, doc, stderr) = run_json(&[testdata("qa").to_str().expect("path")]);
    assert_eq!(
        code, 0,
        "a rejected plane warns, in a stacked cube as in per-spw files: {stderr}"
    );
    let cube = product(&doc, ".v1.I");
    assert_eq!(cube["status"], "warn");
    let planes = cube["files"][0]["planes"].as_array().expect("planes");
    assert_eq!(planes.len(), 8);
    for (i, p) in planes.iter().enumerate() {
        assert_eq!(p["rejected"], i == 6, "plane {i}: {}", p["reasons"]);
    }
    assert_eq!(
        rules(&planes[6]["reasons"]),
        ["plane_beam_placeholder", "plane_noise_outlier"]
    );
    // File metrics come from the accepted planes only: their peak is not plane 6's.
    let file_noise = cube["files"][0]["metrics"]["robust_noise"]
        .as_f64()
        .expect("noise");
    assert!(
        file_noise < 400e-6,
        "median noise of accepted planes, got {file_noise}"
    );
    assert_eq!(rules(&cube["reasons"]), ["planes_rejected"]);

    // The spw2 and spw6 files are two planes of one product (the stacked cube stays apart):
    // spw6 is a rejected plane of it, with the same reasons as plane 6 of the stacked cube,
    // and the product warns as the stacked cube does.
    let spws = product_ending(&doc, ".v1.spws.I");
    assert_eq!(spws["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(spws["product"]["spw"], "2,6");
    assert_eq!(spws["status"], "warn", "{}", spws["reasons"]);
    let spw6 = file_of(spws, SPW6);
    assert_eq!(spw6["planes"][0]["rejected"], true);
    assert_eq!(spw6["planes"][0]["stokes"], "I");
    assert!(rules(&spw6["planes"][0]["reasons"]).contains(&"plane_beam_placeholder".to_string()));
    assert_eq!(file_of(spws, SPW2)["planes"][0]["rejected"], false);
    assert_eq!(rules(&spws["reasons"]), ["planes_rejected"]);
    assert_eq!(
        spws["reasons"][0]["message"],
        "1 of 2 planes rejected (spw6)"
    );
    assert_eq!(doc["schema"], "vlass-annotate-qa/1");
    assert_eq!(doc["totals"]["products"], 2);
}

#[test]
fn plane_thresholds_are_configuration() {
    // Switching the placeholder rule off and demanding a huge excess keeps every plane.
    let (_, doc, _) = run_json(&[
        "--threshold",
        "cc.rejectplaceholderbeam=false",
        "--threshold",
        "edu.nrao.vlass.qa.cc.noiseexcessmin=3",
        testdata("qa").join(CUBE).to_str().expect("path"),
    ]);
    let planes = doc["products"][0]["files"][0]["planes"]
        .as_array()
        .expect("planes")
        .clone();
    assert!(planes.iter().all(|p| p["rejected"] == false), "{planes:?}");
    assert_eq!(
        doc["config"]["edu.nrao.vlass.qa.cc.noiseexcessmin"]["origin"],
        "flag: --threshold"
    );
}

#[test]
fn csv_table_and_sidecars() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("qa.csv");
    let side = dir.path().join("side");
    let out = run(&[
        "--no-progress",
        "--csv",
        csv.to_str().expect("path"),
        "--sidecar",
        "--output-dir",
        side.to_str().expect("path"),
        testdata("qa").to_str().expect("path"),
    ]);
    assert_eq!(code(&out), 0);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("product"), "{table}");
    assert!(
        table.contains("total: 2 products (3 files): 0 pass, 2 warn, 0 fail; 0 file errors"),
        "{table}"
    );
    let text = fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("product,kind,status,path,image_type,pixels"));
    assert!(lines
        .iter()
        .any(|l| l.contains(SPW6) && l.contains(",warn,")));
    let sidecar: Value =
        serde_json::from_slice(&fs::read(side.join(format!("{CUBE}.qa.json"))).expect("sidecar"))
            .expect("sidecar JSON");
    assert_eq!(sidecar["products"].as_array().map(Vec::len), Some(1));
    assert_eq!(sidecar["products"][0]["status"], "warn");
}

#[test]
fn without_write_header_inputs_are_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = copy_to(dir.path(), &[SPW6]);
    let before = fs::read(&files[0]).expect("read");
    let (code, _, _) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 1);
    assert_eq!(fs::read(&files[0]).expect("read"), before);
}

#[test]
fn write_header_adds_the_vlass_keywords_once_and_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = copy_to(dir.path(), &[CUBE, SPW6, SPW2]);
    let data_before: Vec<Vec<u8>> = files.iter().map(|f| after_header(f)).collect();
    let mut own_peaks = Vec::new();
    for round in 0..2 {
        let (code, doc, stderr) = run_json(&["--write-header", dir.path().to_str().expect("path")]);
        assert_eq!(code, 0, "round {round}: {stderr}");
        let spws = product_ending(&doc, ".spws.I");
        assert_eq!(
            file_of(spws, SPW6)["header"]["data_sha256"]
                .as_str()
                .map(str::len),
            Some(64)
        );
        own_peaks = [SPW2, SPW6]
            .map(|n| {
                file_of(spws, n)["metrics"]["peak"]["value"]
                    .as_f64()
                    .expect("peak")
            })
            .to_vec();
    }
    for (f, before) in files.iter().zip(&data_before) {
        assert_eq!(&after_header(f), before, "{}: data changed", f.display());
    }
    let spw6 = header_cards_of(&dir.path().join(SPW6));
    assert_eq!(card_value(&spw6, "VLASSRJ"), ["T"]);
    assert_eq!(card_value(&spw6, "VLASSPT"), ["'CC      '"]);
    assert_eq!(card_value(&spw6, "VLASSBWN"), ["128000000"]);
    assert_eq!(card_value(&spw6, "VLASSTN"), ["'T13t15  '"]);
    assert_eq!(card_value(&spw6, "VLASSEP"), ["'3.1     '"]);
    assert_eq!(card_value(&spw6, "VLASSSPW"), ["'6       '"]);
    // Both spw files belong to one product, which warns for its rejected spw.
    assert_eq!(card_value(&spw6, "VQASTAT"), ["'warn    '"]);
    let spw2 = header_cards_of(&dir.path().join(SPW2));
    assert_eq!(card_value(&spw2, "VLASSRJ"), ["F"]);
    // Each spw file's VLASSPK is its own peak, not that of the product's first file.
    for (cards, own) in [&spw2, &spw6].into_iter().zip(&own_peaks) {
        let pk = card_value(cards, "VLASSPK");
        assert_eq!(pk.len(), 1);
        let pk: f64 = pk[0].parse().expect("VLASSPK number");
        assert!(
            (pk / own - 1.0).abs() < 1e-6,
            "VLASSPK {pk}, own peak {own}"
        );
    }
    assert!((own_peaks[0] / own_peaks[1] - 1.0).abs() > 0.01);
    let cube = header_cards_of(&dir.path().join(CUBE));
    assert!(card_value(&cube, "VLASSRJ").is_empty());
    assert_eq!(card_value(&cube, "VQANRJ"), ["1"]);
    assert_eq!(card_value(&cube, "VQARJ006"), ["T"]);
    assert_eq!(card_value(&cube, "VQARJ005"), ["F"]);
    let peak = card_value(&cube, "VLASSPK");
    assert_eq!(peak.len(), 1);
}

#[test]
fn se_product_gets_vlassrms_from_its_rms_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let (code, doc, stderr) = run_json(&["--write-header", dir.path().to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}\n{doc}");
    assert_eq!(
        doc["products"][0]["status"], "pass",
        "{}",
        doc["products"][0]["reasons"]
    );
    for name in [SE_TT0, SE_RMS] {
        let cards = header_cards_of(&dir.path().join(name));
        let rms: f64 = card_value(&cards, "VLASSRMS")[0]
            .parse()
            .expect("VLASSRMS number");
        assert!((rms / 150e-6 - 1.0).abs() < 1e-6, "{name}: {rms}");
        assert_eq!(card_value(&cards, "VLASSBWN"), ["2000000000"]);
        assert_eq!(card_value(&cards, "VLASSPT"), ["'SE      '"]);
    }
    let tt0 = header_cards_of(&dir.path().join(SE_TT0));
    assert_eq!(card_value(&tt0, "VLASSITY"), ["'INTENSITY_PBCOR_TT0'"]);
    let peak: f64 = card_value(&tt0, "VLASSPK")[0]
        .parse()
        .expect("VLASSPK number");
    assert!((peak - 0.05).abs() < 1e-9);
}

#[test]
fn killed_during_write_header_leaves_old_or_new_file() {
    // A large file makes the copy take long enough to be killed in the middle.
    let dir = tempfile::tempdir().expect("tempdir");
    let (nx, ny) = (2048, 1024);
    let cards = image_cards(nx, ny, 1, 4, Some((2.6, 2.4, 10.0)));
    let target = dir.path().join(SE_TT0);
    write_fits(
        &target,
        &cards,
        &noise_with_source(nx * ny, 150e-6, 5000, 0.05),
    );
    let original = fs::read(&target).expect("read");
    let data = after_header(&target);
    let mut saw_old = 0;
    let mut saw_new = 0;
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 160, 320, 640] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_annotate-qa"))
            .args([
                "--no-progress",
                "--write-header",
                target.to_str().expect("path"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = fs::read(&target).expect("target still readable");
        if now == original {
            saw_old += 1;
        } else {
            let cards = header_cards_of(&target);
            assert_eq!(
                card_value(&cards, "VLASSITY").len(),
                1,
                "delay {delay_ms}: partial header"
            );
            assert_eq!(
                card_value(&cards, "VQASTAT").len(),
                1,
                "delay {delay_ms}: partial header"
            );
            assert_eq!(
                after_header(&target),
                data,
                "delay {delay_ms}: data changed"
            );
            saw_new += 1;
            fs::write(&target, &original).expect("restore");
        }
    }
    assert!(
        saw_old + saw_new == 10 && saw_old > 0,
        "old {saw_old}, new {saw_new}"
    );
}

#[test]
fn read_only_file_with_write_header_is_a_soft_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let tt0 = dir.path().join(SE_TT0);
    let before = fs::read(&tt0).expect("read");
    let mut perms = fs::metadata(&tt0).expect("meta").permissions();
    perms.set_readonly(true);
    fs::set_permissions(&tt0, perms).expect("chmod");
    let (code, doc, stderr) = run_json(&["--write-header", dir.path().to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("annotate-qa: --write-header: ") && stderr.contains(SE_TT0),
        "{stderr}"
    );
    assert_eq!(fs::read(&tt0).expect("read"), before);
    // The rms file of the same product was still annotated.
    assert_eq!(
        card_value(&header_cards_of(&dir.path().join(SE_RMS)), "VQASTAT").len(),
        1
    );
    assert_eq!(doc["totals"]["file_errors"], 1);
}

#[test]
fn nan_only_image_fails_with_nulls_and_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan_only.fits");
    write_fits(
        &path,
        &image_cards(16, 16, 1, 4, Some((2.5, 2.5, 1.0))),
        &[f32::NAN; 256],
    );
    let (code, doc, _) = run_json(&[path.to_str().expect("path")]);
    assert_eq!(code, 1);
    let p = &doc["products"][0];
    assert_eq!(p["product"]["kind"], "unknown");
    assert!(rules(&p["reasons"]).contains(&"no_finite_pixels".to_string()));
    assert!(rules(&p["reasons"]).contains(&"unknown_name".to_string()));
    let m = &p["files"][0]["metrics"];
    assert!(m["median"].is_null() && m["peak"].is_null());
    assert_eq!(m["null_reasons"]["median"], "no finite pixel");
    assert_eq!(m["finite_fraction"], 0.0);
}

#[test]
fn constant_image_fails_on_zero_noise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("constant.fits");
    write_fits(
        &path,
        &image_cards(16, 16, 1, 4, Some((2.5, 2.5, 1.0))),
        &[0.5; 256],
    );
    let (code, doc, _) = run_json(&[path.to_str().expect("path")]);
    assert_eq!(code, 1);
    let p = &doc["products"][0];
    assert!(rules(&p["reasons"]).contains(&"noise_zero".to_string()));
    assert!(p["files"][0]["metrics"]["dynamic_range"].is_null());
    assert!(p["files"][0]["metrics"]["null_reasons"]["dynamic_range"].is_string());
}

#[test]
fn image_without_beam_keywords_fails_a_vlass_product() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let (nx, ny) = (64, 64);
    write_fits(
        &dir.path().join(SE_TT0),
        &image_cards(nx, ny, 1, 4, None),
        &noise_with_source(nx * ny, 150e-6, 100, 0.05),
    );
    let (code, doc, _) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 1);
    assert_eq!(rules(&doc["products"][0]["reasons"]), ["beam_missing"]);
    let tt0 = doc["products"][0]["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["image_type"] == "tt0"))
        .expect("tt0");
    assert!(tt0["metrics"]["beam"].is_null());
    assert!(tt0["metrics"]["null_reasons"]["beam"].is_string());
}

#[test]
fn two_axis_image_and_one_plane_cube_are_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flat = dir.path().join("two_axis.fits");
    write_fits(
        &flat,
        &image_cards(32, 16, 1, 2, Some((2.5, 2.4, 3.0))),
        &noise_with_source(512, 1e-4, 40, 0.01),
    );
    let cube = dir
        .path()
        .join("VLASS3.1.cc.T01t01.J100000+300000.06.2048.v1.spw9.I.iter3.image.pbcor.subim.fits");
    write_fits(
        &cube,
        &image_cards(32, 32, 1, 4, Some((2.5, 2.4, 3.0))),
        &noise_with_source(1024, 3e-4, 40, 0.01),
    );
    let (code, doc, stderr) = run_json(&[dir.path().to_str().expect("path")]);
    assert!(code == 0 || code == 1, "{stderr}");
    let flat_report = product(&doc, "two_axis");
    assert_eq!(
        flat_report["files"][0]["shape"],
        serde_json::json!([32, 16])
    );
    assert_eq!(flat_report["files"][0]["metrics"]["peak"]["x"], 8);
    assert_eq!(flat_report["files"][0]["metrics"]["peak"]["y"], 1);
    let one = product(&doc, ".spws.I");
    assert_eq!(one["product"]["kind"], "CC");
    let planes = one["files"][0]["planes"].as_array().expect("planes");
    assert_eq!(planes.len(), 1);
    assert_eq!(planes[0]["rejected"], false, "{}", planes[0]["reasons"]);
    assert_eq!(planes[0]["frequency_hz"], 3.0e9);
}

#[test]
fn unreadable_files_are_soft_errors_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let truncated = dir.path().join("truncated.fits");
    let good = fs::read(dir.path().join(SE_TT0)).expect("read");
    fs::write(&truncated, &good[..good.len() / 2]).expect("write");
    let not_fits = dir
        .path()
        .join("VLASS3.1.ql.T01t01.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits");
    fs::write(&not_fits, b"this is a text file, not FITS\n").expect("write");
    let (code, doc, stderr) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    // With --json - the table goes to stderr too; the error lines come first.
    let lines: Vec<&str> = stderr
        .lines()
        .take_while(|l| !l.starts_with("product"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines.iter().all(|l| l.starts_with("annotate-qa: ")));
    assert!(lines.iter().any(|l| l.contains("truncated.fits")));
    assert!(lines.iter().any(|l| l.contains(".ql.T01t01")));
    assert_eq!(product(&doc, ".se.")["status"], "pass");
    let ql = product(&doc, ".ql.");
    assert_eq!(ql["status"], "fail");
    assert!(ql["files"][0]["error"].is_string());
    assert_eq!(rules(&ql["reasons"]), ["file_unreadable"]);
    assert_eq!(doc["totals"]["file_errors"], 2);
}

#[test]
fn file_without_read_permission_is_a_soft_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let locked = dir.path().join("locked.fits");
    fs::copy(dir.path().join(SE_TT0), &locked).expect("copy");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    if fs::File::open(&locked).is_ok() {
        eprintln!("skipped: running as a user who can read a mode-000 file (root)");
        return;
    }
    let (code, doc, stderr) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("locked.fits"), "{stderr}");
    assert_eq!(product(&doc, ".se.")["status"], "pass");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().to_str().expect("path");
    for (args, needle) in [
        (vec![empty], "nothing to do"),
        (vec!["--threshold", "se.nosuchkey=1", empty], "unknown key"),
        (
            vec!["--threshold", "se.noisewarnjy=abc", empty],
            "se.noisewarnjy",
        ),
        (vec!["--threshold", "novalue", empty], "expected KEY=VALUE"),
        (vec![], "no PATH"),
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("annotate-qa: ") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
    }
    let missing = dir.path().join("missing.fits");
    let out = run(&["--no-progress", missing.to_str().expect("path")]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.fits"));
}

#[test]
fn same_report_for_one_or_many_threads() {
    let path = testdata("qa");
    let (_, one, _) = run_json(&["--jobs", "1", path.to_str().expect("path")]);
    let (_, many, _) = run_json(&["--jobs", "4", path.to_str().expect("path")]);
    assert_eq!(one, many);
}

#[test]
fn show_config_lists_every_threshold_with_origin() {
    let out = run(&["--show-config", "--threshold", "se.noisewarnjy=0.0002"]);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("edu.nrao.vlass.qa.cc.noiseoutlierz"),
        "{text}"
    );
    assert!(
        text.contains("0.0002") && text.contains("flag: --threshold"),
        "{text}"
    );
}

#[test]
fn previews_are_written_per_image_and_per_cube_plane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("png");
    let (code, doc, stderr) = run_json(&[
        "--previews",
        png.to_str().expect("path"),
        testdata("qa").to_str().expect("path"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<String> = fs::read_dir(&png)
        .expect("preview dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&format!("{CUBE}.plane6.png")));
    assert!(names.contains(&format!("{SPW6}.png")));
    for n in &names {
        let bytes = fs::read(png.join(n)).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{n}");
    }
    let listed = file_of(product_ending(&doc, ".spws.I"), SPW6)["previews"]
        .as_array()
        .map(Vec::len);
    assert_eq!(listed, Some(1));
}

#[test]
fn header_keywords_that_contradict_the_name_are_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_se(dir.path());
    let (nx, ny) = (64, 64);
    let mut cards = image_cards(nx, ny, 1, 4, Some((2.6, 2.4, 10.0)));
    cards.push(format!("{:<80}", "VLASSPT = 'VLASS-QL'"));
    cards.push(format!("{:<80}", "VLASSITY= 'ALPHA   '"));
    write_fits(
        &dir.path().join(SE_TT0),
        &cards,
        &noise_with_source(nx * ny, 150e-6, 2080, 0.05),
    );
    let (code, doc, _) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 0);
    let p = &doc["products"][0];
    assert_eq!(p["status"], "warn");
    assert_eq!(
        rules(&p["reasons"]),
        ["name_header_kind", "name_header_type"]
    );
}

const IQU: &str =
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw{}.IQU.iter3.image.pbcor.subim.fits";

fn iqu_name(spw: usize) -> String {
    IQU.replace("{}", &spw.to_string())
}

#[test]
fn iqu_spw_files_are_one_product_judged_per_stokes() {
    // testdata/qa-iqu: spws 0-7 of one tile, one IQU file each (scripts/qa_golden.py iqu):
    // Stokes I from the casa-sim cube (spw 6 bad), Q and U noise at half the I noise, Q of
    // spw 4 twice as noisy as the other Q planes.
    let (code, doc, stderr) = run_json(&[testdata("qa-iqu").to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["totals"]["products"], 1);
    let p = &doc["products"][0];
    assert!(p["product"]["key"]
        .as_str()
        .is_some_and(|k| k.ends_with(".v1.spws.IQU")));
    assert_eq!(p["product"]["spw"], "0,1,2,3,4,5,6,7");
    assert_eq!(p["status"], "warn", "{}", p["reasons"]);
    let golden: Value =
        serde_json::from_slice(&fs::read(testdata("qa").join("golden.json")).expect("golden"))
            .expect("golden JSON");
    let golden_planes = |spw: usize| -> Vec<Value> {
        let file = format!("testdata/qa-iqu/{}", iqu_name(spw));
        golden["files"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["file"] == file.as_str()))
            .and_then(|f| f["planes"].as_array().cloned())
            .unwrap_or_else(|| panic!("{file} not in golden.json"))
    };
    let files = p["files"].as_array().expect("files");
    assert_eq!(files.len(), 8);
    let mut last_frequency = 0.0;
    for (spw, f) in files.iter().enumerate() {
        // Frequency order, which is spw order here.
        assert!(f["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(&iqu_name(spw))));
        let planes = f["planes"].as_array().expect("planes");
        let stokes: Vec<&str> = planes
            .iter()
            .map(|pl| pl["stokes"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(stokes, ["I", "Q", "U"], "spw {spw}");
        let frequency = planes[0]["frequency_hz"].as_f64().expect("frequency");
        assert!(frequency > last_frequency);
        last_frequency = frequency;
        // The file's headline metrics are those of Stokes I (numpy: golden.json plane 0).
        let g = &golden_planes(spw)[0];
        assert_eq!(g["stokes"], "I");
        let m = &f["metrics"];
        for key in ["robust_noise", "median", "mean", "std"] {
            let (ours, want) = (m[key].as_f64().expect(key), g[key].as_f64().expect(key));
            assert!(
                (ours - want).abs() <= 1e-6 * want.abs(),
                "spw {spw} {key}: {ours} vs Stokes I {want}"
            );
        }
        assert_eq!(m["peak"]["value"], g["peak"]["value"], "spw {spw} peak");
        assert_eq!(m["pixels"], g["pixels"]);
        // Rejection per Stokes: I and U lose only spw 6, Q loses spw 4 (its own noise
        // among the Q planes) and spw 6. Pooled with I's (twice theirs), Q/U noise would
        // make the mix bimodal: its MAD would hide both spw 4's Q and spw 6's I noise.
        let expected = [spw == 6, spw == 4 || spw == 6, spw == 6];
        for (pl, want) in planes.iter().zip(expected) {
            assert_eq!(
                pl["rejected"], want,
                "spw {spw} {}: {}",
                pl["stokes"], pl["reasons"]
            );
        }
    }
    assert_eq!(
        rules(&files[4]["planes"][1]["reasons"]),
        ["plane_noise_outlier"]
    );
    assert_eq!(
        rules(&files[6]["planes"][0]["reasons"]),
        ["plane_beam_placeholder", "plane_noise_outlier"]
    );
    let plane_messages: Vec<&str> = p["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|r| r["rule"] == "planes_rejected")
        .map(|r| r["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        plane_messages,
        [
            "Stokes I: 1 of 8 planes rejected (spw6)",
            "Stokes Q: 2 of 8 planes rejected (spw4, spw6)",
            "Stokes U: 1 of 8 planes rejected (spw6)"
        ]
    );
    assert!(!rules(&p["reasons"]).contains(&"all_planes_rejected".to_string()));

    // VLASSRJ of an spw file follows its Stokes I plane: spw 4 (only Q rejected) keeps F.
    let dir = tempfile::tempdir().expect("tempdir");
    for spw in [3, 4, 6] {
        let name = iqu_name(spw);
        fs::copy(testdata("qa-iqu").join(&name), dir.path().join(&name)).expect("copy");
    }
    let (code, _, stderr) = run_json(&["--write-header", dir.path().to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    for (spw, rj) in [(3, "F"), (4, "F"), (6, "T")] {
        let cards = header_cards_of(&dir.path().join(iqu_name(spw)));
        assert_eq!(card_value(&cards, "VLASSRJ"), [rj], "spw {spw}");
        assert!(card_value(&cards, "VQANRJ").is_empty(), "spw {spw}");
    }
}

#[test]
fn the_same_product_in_two_directories_is_two_products() {
    // A complete SE product in a/, a copy of its tt0 alone in b/.
    let top = tempfile::tempdir().expect("tempdir");
    let (a, b) = (top.path().join("a"), top.path().join("b"));
    fs::create_dir_all(&a).expect("mkdir");
    fs::create_dir_all(&b).expect("mkdir");
    good_se(&a);
    fs::copy(a.join(SE_TT0), b.join(SE_TT0)).expect("copy");
    let (code, doc, stderr) = run_json(&[a.to_str().expect("path"), b.to_str().expect("path")]);
    assert_eq!(code, 1, "b's product has no rms image: {stderr}");
    let products = doc["products"].as_array().expect("products");
    assert_eq!(products.len(), 2, "{doc}");
    for (p, dir, files) in [(&products[0], &a, 2), (&products[1], &b, 1)] {
        assert_eq!(p["product"]["directory"], dir.to_str().expect("path"));
        let paths: Vec<&str> = p["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f["path"].as_str())
            .collect();
        assert_eq!(paths.len(), files, "{paths:?}");
        assert!(paths
            .iter()
            .all(|f| Path::new(f).parent() == Some(dir.as_path())));
    }
    assert_eq!(products[0]["status"], "pass", "{}", products[0]["reasons"]);
    assert_eq!(rules(&products[1]["reasons"]), ["rms_image_missing"]);
    // b's tt0 gets no VLASSRMS from a's rms image.
    assert!(products[1]["files"][0]["metrics"]["rms_median"].is_null());
}

#[test]
fn common_beam_copies_of_the_spw_files_are_measured_not_judged() {
    // The cube release's `.com` files repeat each spw plane at one common beam, which does
    // not scale with frequency: pooled with the native planes they would double the planes
    // and fail the beam rule.
    let dir = tempfile::tempdir().expect("tempdir");
    for spw in 0..8 {
        let name = iqu_name(spw);
        let from = testdata("qa-iqu").join(&name);
        fs::copy(&from, dir.path().join(&name)).expect("copy");
        // The copy at half the brightness, so that its peak differs from the native file's.
        let mut bytes = fs::read(&from).expect("read");
        let start = bytes.len() - after_header(&from).len();
        for value in bytes[start..].chunks_exact_mut(4) {
            let half = 0.5 * f32::from_be_bytes([value[0], value[1], value[2], value[3]]);
            value.copy_from_slice(&half.to_be_bytes());
        }
        let com = name.replace(".subim.fits", ".subim.com.fits");
        fs::write(dir.path().join(com), bytes).expect("write");
    }
    let (code, doc, stderr) = run_json(&[dir.path().to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["totals"]["products"], 1);
    let p = &doc["products"][0];
    assert_eq!(p["files"].as_array().map(Vec::len), Some(16));
    let messages: Vec<&str> = p["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|r| r["rule"] == "planes_rejected")
        .map(|r| r["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        messages,
        [
            "Stokes I: 1 of 8 planes rejected (spw6)",
            "Stokes Q: 2 of 8 planes rejected (spw4, spw6)",
            "Stokes U: 1 of 8 planes rejected (spw6)"
        ]
    );
    for f in p["files"].as_array().expect("files") {
        if f["path"].as_str().is_some_and(|p| p.ends_with(".com.fits")) {
            let planes = f["planes"].as_array().expect("planes");
            assert_eq!(planes.len(), 3);
            assert!(planes
                .iter()
                .all(|pl| pl["rejected"] == false && pl["stokes"].is_string()));
        }
    }
    // Each file's VLASSPK is its own Stokes I peak, a `.com` copy's included.
    let (code, doc, stderr) = run_json(&["--write-header", dir.path().to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    for f in doc["products"][0]["files"].as_array().expect("files") {
        let path = Path::new(f["path"].as_str().expect("path"));
        let pk: f64 = card_value(&header_cards_of(path), "VLASSPK")[0]
            .parse()
            .expect("VLASSPK");
        let own = f["metrics"]["peak"]["value"].as_f64().expect("peak");
        assert!(
            (pk / own - 1.0).abs() < 1e-6,
            "{}: {pk} vs {own}",
            path.display()
        );
    }
}
