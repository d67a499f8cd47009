//! Helpers shared by the end-to-end tests: running the binary, locating test data and
//! writing small FITS files (header cards + big-endian float32 data) for bad-input cases.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `testdata/<sub>` of the repository.
pub fn testdata(sub: &str) -> PathBuf {
    repo_root().join("testdata").join(sub)
}

/// The shared CASA simulation beside the repository, if present.
pub fn casa_sim() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/casa-sim");
    dir.is_dir().then_some(dir)
}

/// Runs annotate-qa with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_annotate-qa"))
        .args(args)
        .output()
        .expect("annotate-qa runs")
}

/// Exit code of an output.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Runs annotate-qa with `--json -` plus `args`; returns (exit code, JSON, stderr).
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--json", "-", "--no-progress"];
    all.extend_from_slice(args);
    let out = run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}); stderr: {stderr}"));
    (code(&out), json, stderr)
}

/// One header card, padded to 80 characters.
fn card(text: &str) -> String {
    assert!(text.len() <= 80, "card too long: {text}");
    format!("{text:<80}")
}

/// A value card `KEY = value`.
pub fn value_card(key: &str, value: &str) -> String {
    card(&format!("{key:<8}= {value:>20}"))
}

/// Cards of a CASA-like image header for an `nx` x `ny` x `planes` (FREQ) x 1 (STOKES)
/// image with a SIN WCS at RA 150, Dec 30, 0.6 arcsec pixels, 3 GHz; `beam` as
/// (BMAJ, BMIN, BPA) in arcsec/deg, `None` for none; `axes` 2 gives a 2-axis image.
pub fn image_cards(
    nx: usize,
    ny: usize,
    planes: usize,
    axes: usize,
    beam: Option<(f64, f64, f64)>,
) -> Vec<String> {
    let mut c = vec![
        value_card("SIMPLE", "T"),
        value_card("BITPIX", "-32"),
        value_card("NAXIS", &axes.to_string()),
        value_card("NAXIS1", &nx.to_string()),
        value_card("NAXIS2", &ny.to_string()),
    ];
    if axes == 4 {
        c.push(value_card("NAXIS3", &planes.to_string()));
        c.push(value_card("NAXIS4", "1"));
    }
    if let Some((bmaj, bmin, bpa)) = beam {
        c.push(value_card("BMAJ", &format!("{:.10E}", bmaj / 3600.0)));
        c.push(value_card("BMIN", &format!("{:.10E}", bmin / 3600.0)));
        c.push(value_card("BPA", &format!("{bpa:.6}")));
    }
    c.push(card("BUNIT   = 'Jy/beam '"));
    c.push(card("CTYPE1  = 'RA---SIN'"));
    c.push(value_card("CRVAL1", "150.0"));
    c.push(value_card("CDELT1", "-1.666666666667E-04"));
    c.push(value_card("CRPIX1", &format!("{}.0", nx / 2 + 1)));
    c.push(card("CUNIT1  = 'deg     '"));
    c.push(card("CTYPE2  = 'DEC--SIN'"));
    c.push(value_card("CRVAL2", "30.0"));
    c.push(value_card("CDELT2", "1.666666666667E-04"));
    c.push(value_card("CRPIX2", &format!("{}.0", ny / 2 + 1)));
    c.push(card("CUNIT2  = 'deg     '"));
    if axes == 4 {
        c.push(card("CTYPE3  = 'FREQ    '"));
        c.push(value_card("CRVAL3", "3.0E9"));
        c.push(value_card("CDELT3", "1.28E8"));
        c.push(value_card("CRPIX3", "1.0"));
        c.push(card("CUNIT3  = 'Hz      '"));
        c.push(card("CTYPE4  = 'STOKES  '"));
        c.push(value_card("CRVAL4", "1.0"));
        c.push(value_card("CDELT4", "1.0"));
        c.push(value_card("CRPIX4", "1.0"));
    }
    c
}

/// Writes a FITS file from header cards (END added, padded) and float32 pixels.
pub fn write_fits(path: &Path, cards: &[String], pixels: &[f32]) {
    let mut bytes = Vec::new();
    for c in cards {
        bytes.extend_from_slice(c.as_bytes());
    }
    bytes.extend_from_slice(card("END").as_bytes());
    while bytes.len() % 2880 != 0 {
        bytes.push(b' ');
    }
    for p in pixels {
        bytes.extend_from_slice(&p.to_be_bytes());
    }
    while bytes.len() % 2880 != 0 {
        bytes.push(0);
    }
    std::fs::write(path, bytes).expect("write test FITS");
}

/// Gaussian-ish noise (deterministic) with one bright pixel, `n` values.
pub fn noise_with_source(n: usize, sigma: f32, peak_at: usize, peak: f32) -> Vec<f32> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v: Vec<f32> = (0..n)
        .map(|_| {
            // Sum of 4 uniforms: close enough to Gaussian for QA thresholds.
            let mut acc = 0.0f64;
            for _ in 0..4 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                acc += (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            }
            (acc * 1.732 * sigma as f64) as f32
        })
        .collect();
    v[peak_at] = peak;
    v
}
