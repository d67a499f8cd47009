//! annotate-qa's metrics against independent numpy/astropy values (testdata/qa/golden*.json,
//! made by scripts/qa_golden.py): exact statistics to 1e-6 relative, peak pixel exactly,
//! peak sky position within 1 mas.

mod common;

use common::{casa_sim, run_json, testdata};
use serde_json::Value;
use std::collections::BTreeMap;

const RELATIVE: f64 = 1e-6;
const MAS_DEG: f64 = 1.0 / 3.6e6;

fn close(ours: &Value, want: &Value, what: &str) {
    let (a, b) = (ours.as_f64(), want.as_f64());
    let (Some(a), Some(b)) = (a, b) else {
        panic!("{what}: ours {ours}, golden {want}");
    };
    assert!(
        (a - b).abs() <= RELATIVE * b.abs() + 1e-300,
        "{what}: ours {a:e}, golden {b:e}"
    );
}

fn separation_deg(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (r1, d1, r2, d2) = (
        ra1.to_radians(),
        dec1.to_radians(),
        ra2.to_radians(),
        dec2.to_radians(),
    );
    let h = ((d2 - d1) / 2.0).sin().powi(2) + d1.cos() * d2.cos() * ((r2 - r1) / 2.0).sin().powi(2);
    (2.0 * h.sqrt().asin()).to_degrees()
}

fn compare_metrics(ours: &Value, want: &Value, what: &str) {
    assert_eq!(ours["pixels"], want["pixels"], "{what}: pixels");
    assert_eq!(
        ours["total_pixels"], want["total_pixels"],
        "{what}: total_pixels"
    );
    close(
        &ours["finite_fraction"],
        &want["finite_fraction"],
        &format!("{what}: finite_fraction"),
    );
    for key in ["min", "max", "mean", "std", "median", "robust_noise"] {
        close(&ours[key], &want[key], &format!("{what}: {key}"));
    }
    let (p, g) = (&ours["peak"], &want["peak"]);
    close(&p["value"], &g["value"], &format!("{what}: peak value"));
    assert_eq!((&p["x"], &p["y"]), (&g["x"], &g["y"]), "{what}: peak pixel");
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let sep = separation_deg(
        f(&p["ra_deg"]),
        f(&p["dec_deg"]),
        f(&g["ra_deg"]),
        f(&g["dec_deg"]),
    );
    assert!(
        sep < MAS_DEG,
        "{what}: peak sky position {:.3} mas from astropy",
        sep / MAS_DEG
    );
    let dr = f(&g["peak"]["value"]) / f(&g["robust_noise"]);
    if dr.is_finite() {
        close(
            &ours["dynamic_range"],
            &serde_json::json!(dr),
            &format!("{what}: dynamic_range"),
        );
    }
}

/// Our metrics per file path and plane: single-plane continuum files report in `metrics`,
/// cubes and spw files in `planes` (with the plane's Stokes label in `stokes`).
fn ours_by_file(doc: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for product in doc["products"].as_array().expect("products") {
        for file in product["files"].as_array().expect("files") {
            let name = file["path"].as_str().expect("path").to_string();
            let planes: Vec<Value> = match file["planes"].as_array() {
                Some(p) if !p.is_empty() => p
                    .iter()
                    .map(|p| {
                        let mut m = p["metrics"].clone();
                        m["stokes"] = p["stokes"].clone();
                        m
                    })
                    .collect(),
                _ => vec![file["metrics"].clone()],
            };
            out.insert(name, planes);
        }
    }
    out
}

/// Our entry for the golden file `rel` (a path relative to the directory the test passed).
fn find<'a>(ours: &'a BTreeMap<String, Vec<Value>>, rel: &str) -> &'a Vec<Value> {
    let suffix = format!("/{rel}");
    let hits: Vec<_> = ours
        .iter()
        .filter(|(path, _)| path.ends_with(&suffix))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{rel}: expected exactly one file in our report"
    );
    hits[0].1
}

fn check(golden_file: &str, args: &[String]) -> (Value, BTreeMap<String, Vec<Value>>) {
    let golden: Value = serde_json::from_slice(
        &std::fs::read(testdata("qa").join(golden_file)).expect("golden file"),
    )
    .expect("golden JSON");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, doc, stderr) = run_json(&args);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    let ours = ours_by_file(&doc);
    let files = golden["files"].as_array().expect("golden files");
    assert!(!files.is_empty());
    for g in files {
        let name = g["file"].as_str().expect("file");
        let planes = find(&ours, name);
        let want = g["planes"].as_array().expect("planes");
        assert_eq!(planes.len(), want.len(), "{name}: plane count");
        for (i, (o, w)) in planes.iter().zip(want).enumerate() {
            compare_metrics(o, w, &format!("{name} plane {i}"));
            // Plane entries carry their Stokes: astropy's, from the STOKES axis.
            if let Some(stokes) = o.get("stokes") {
                assert_eq!(stokes, &w["stokes"], "{name} plane {i}: stokes");
            }
        }
    }
    (golden, ours)
}

#[test]
fn metrics_match_numpy_and_astropy_on_committed_images() {
    let args = vec![
        testdata("images").display().to_string(),
        testdata("qa").display().to_string(),
        testdata("qa-iqu").display().to_string(),
    ];
    check("golden.json", &args);
}

#[test]
fn metrics_match_on_the_full_casa_sim_images() {
    let Some(sim) = casa_sim() else {
        eprintln!("skipped: ../shared/casa-sim is not present beside the repository");
        return;
    };
    let args = ["ql", "se", "cube"]
        .map(|d| sim.join(d).display().to_string())
        .to_vec();
    let (golden, ours) = check("golden_casa_sim.json", &args);
    let alpha_golden = golden["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f.get("alpha").is_some()))
        .expect("golden alpha");
    let name = alpha_golden["file"].as_str().expect("file");
    let alpha = &find(&ours, name)[0]["alpha"];
    assert_eq!(alpha["count"], alpha_golden["alpha"]["count"]);
    assert_eq!(alpha["selection"], "tt0_snr_above_10");
    close(
        &alpha["median"],
        &alpha_golden["alpha"]["median"],
        "alpha median",
    );
    close(
        &alpha["spread"],
        &alpha_golden["alpha"]["spread"],
        "alpha spread",
    );
}
