//! Helpers of the component-list end-to-end tests: running the binary,
//! writing small synthetic CASA-like FITS images, reading our CSV output.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The committed test images (cut from casa-sim, see testdata/images/README.md).
pub fn images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images")
}

/// This tool's own test data (golden files).
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/component-list")
}

pub const SE: &str = "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.";
pub const QL: &str = "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.";
pub const CC: &str = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.";

pub fn se(kind: &str) -> PathBuf {
    images().join(format!("{SE}{kind}"))
}

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_component-list"))
        .args(args)
        .output()
        .expect("run component-list")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Header keywords of a synthetic image.
pub struct Geometry {
    pub n: usize,
    pub ra: f64,
    pub dec: f64,
    pub cdelt_arcsec: f64,
    pub beam_arcsec: f64,
    /// BMIN / BMAJ.
    pub beam_ratio: f64,
    pub bpa_deg: f64,
    pub frequency_hz: f64,
    /// Planes on the STOKES axis (1 = I only; 3 = I, Q, U).
    pub stokes: usize,
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            n: 128,
            ra: 150.0,
            dec: 30.0,
            cdelt_arcsec: 0.6,
            beam_arcsec: 2.4,
            beam_ratio: 1.0,
            bpa_deg: 0.0,
            frequency_hz: 3.0e9,
            stokes: 1,
        }
    }
}

/// Writes a 4-axis CASA-like image (`data` is [stokes][y][x] row-major).
pub fn write_image(path: &Path, g: &Geometry, data: &[f32]) {
    use fitsio::images::{ImageDescription, ImageType};
    let desc = ImageDescription {
        data_type: ImageType::Float,
        dimensions: &[g.stokes, 1, g.n, g.n],
    };
    let _ = std::fs::remove_file(path);
    let mut f = fitsio::FitsFile::create(path)
        .with_custom_primary(&desc)
        .open()
        .expect("create fits");
    let hdu = f.primary_hdu().expect("hdu");
    let crpix = (g.n / 2 + 1) as f64;
    let d = g.cdelt_arcsec / 3600.0;
    let b = g.beam_arcsec / 3600.0;
    let reals: [(&str, f64); 15] = [
        ("BMAJ", b),
        ("BMIN", b * g.beam_ratio),
        ("BPA", g.bpa_deg),
        ("CRVAL1", g.ra),
        ("CRVAL2", g.dec),
        ("CRPIX1", crpix),
        ("CRPIX2", crpix),
        ("CDELT1", -d),
        ("CDELT2", d),
        ("CRVAL3", g.frequency_hz),
        ("CDELT3", 2.0e9),
        ("CRPIX3", 1.0),
        ("CRVAL4", 1.0),
        ("CDELT4", 1.0),
        ("CRPIX4", 1.0),
    ];
    for (k, v) in reals {
        hdu.write_key(&mut f, k, v).expect("key");
    }
    for (k, v) in [
        ("CTYPE1", "RA---SIN"),
        ("CTYPE2", "DEC--SIN"),
        ("CTYPE3", "FREQ"),
        ("CTYPE4", "STOKES"),
        ("CUNIT1", "deg"),
        ("CUNIT2", "deg"),
        ("CUNIT3", "Hz"),
        ("BUNIT", "Jy/beam"),
        ("RADESYS", "ICRS"),
    ] {
        hdu.write_key(&mut f, k, v).expect("key");
    }
    hdu.write_key(&mut f, "EQUINOX", 2000.0f64).expect("key");
    hdu.write_key(&mut f, "LONPOLE", 180.0f64).expect("key");
    hdu.write_key(&mut f, "LATPOLE", g.dec).expect("key");
    hdu.write_image(&mut f, data).expect("data");
}

/// Deterministic Gaussian noise of unit rms (LCG + Box-Muller).
pub fn noise(n: usize, seed: u64, rms: f32) -> Vec<f32> {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n * n)
        .map(|_| {
            let (a, b) = (uniform(), uniform());
            ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32 * rms
        })
        .collect()
}

/// Adds a circular Gaussian of `peak` Jy/beam and FWHM `fwhm_pix` at (x0, y0).
pub fn add_gaussian(data: &mut [f32], n: usize, x0: f64, y0: f64, peak: f64, fwhm_pix: f64) {
    let s = fwhm_pix / 2.354_820_045;
    for y in 0..n {
        for x in 0..n {
            let r2 = (x as f64 - x0).powi(2) + (y as f64 - y0).powi(2);
            data[y * n + x] += (peak * (-r2 / (2.0 * s * s)).exp()) as f32;
        }
    }
}

/// A PyBDSF-layout CSV as (column names, rows of cells).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("read csv");
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix("# ") {
            if c.contains(", ") && rows.is_empty() {
                names = c.split(", ").map(str::to_string).collect();
            }
            continue;
        }
        rows.push(line.split(", ").map(|s| s.trim().to_string()).collect());
    }
    (names, rows)
}

/// Column `name` of a CSV as floats.
pub fn column(names: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let k = names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.iter()
        .map(|r| r[k].parse::<f64>().unwrap_or(f64::NAN))
        .collect()
}
