//! Agreement with astropy.wcs: every header in `testdata/wcs/` (CASA headers
//! of the casa-sim products and hand-made ones) with the pixel <-> world
//! samples `scripts/wcs_golden.py` computed with astropy. Both directions and
//! the round trip must agree to better than 1 milliarcsecond.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use vlass_wcs::Wcs;

const LIMIT_MAS: f64 = 1.0;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/wcs")
}

/// Header text (one 80-column card per line) -> keyword map of value texts
/// (string values without their quotes).
fn parse_header(text: &str) -> HashMap<String, String> {
    let mut keywords = HashMap::new();
    for line in text.lines() {
        if line.len() < 10 || &line[8..10] != "= " {
            continue;
        }
        let key = line[..8].trim().to_string();
        let field = line[10..].trim_start();
        let value = if let Some(rest) = field.strip_prefix('\'') {
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        out.push('\'');
                        continue;
                    }
                    break;
                }
                out.push(c);
            }
            out.trim_end().to_string()
        } else {
            field.split('/').next().unwrap_or("").trim().to_string()
        };
        keywords.entry(key).or_insert(value);
    }
    keywords
}

fn read_csv(path: &Path) -> Vec<[f64; 4]> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|line| {
            let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

/// Great-circle distance in milliarcseconds (Vincenty formula, stable at all separations).
fn separation_mas(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (ra1, dec1, ra2, dec2) = (
        ra1.to_radians(),
        dec1.to_radians(),
        ra2.to_radians(),
        dec2.to_radians(),
    );
    let dra = ra2 - ra1;
    let num = ((dec2.cos() * dra.sin()).powi(2)
        + (dec1.cos() * dec2.sin() - dec1.sin() * dec2.cos() * dra.cos()).powi(2))
    .sqrt();
    let den = dec1.sin() * dec2.sin() + dec1.cos() * dec2.cos() * dra.cos();
    num.atan2(den).to_degrees() * 3.6e6
}

#[test]
fn agrees_with_astropy_on_every_golden_header() {
    let mut names: Vec<String> = fs::read_dir(golden_dir())
        .expect("testdata/wcs exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".header.txt").map(str::to_string))
        .collect();
    names.sort();
    // 11 casa-sim headers + 17 hand-made ones.
    assert!(names.len() >= 28, "only {} golden headers", names.len());

    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for name in &names {
        let dir = golden_dir();
        let header =
            parse_header(&fs::read_to_string(dir.join(format!("{name}.header.txt"))).unwrap());
        let wcs = Wcs::from_keywords(&header).unwrap_or_else(|e| panic!("{name}: {e}"));
        let scale_mas = wcs.pixel_scale_arcsec() * 1000.0;

        let forward = read_csv(&dir.join(format!("{name}.pix2world.csv")));
        assert!(
            forward.len() > 100,
            "{name}: {} pixel samples",
            forward.len()
        );
        for &[x, y, ra, dec] in &forward {
            let (our_ra, our_dec) = wcs
                .pixel_to_world(x, y)
                .unwrap_or_else(|| panic!("{name}: pixel ({x}, {y}) gave no world"));
            assert!((0.0..360.0).contains(&our_ra), "{name}: ra {our_ra}");
            let err = separation_mas(our_ra, our_dec, ra, dec);
            assert!(
                err < LIMIT_MAS,
                "{name}: pixel ({x}, {y}): {err} mas from astropy"
            );
            worst.0 = worst.0.max(err);
            let (x2, y2) = wcs
                .world_to_pixel(our_ra, our_dec)
                .unwrap_or_else(|| panic!("{name}: round trip of ({x}, {y}) failed"));
            let trip = (x2 - x).hypot(y2 - y) * scale_mas;
            assert!(
                trip < LIMIT_MAS,
                "{name}: round trip of ({x}, {y}) off by {trip} mas"
            );
            worst.2 = worst.2.max(trip);
        }

        let backward = read_csv(&dir.join(format!("{name}.world2pix.csv")));
        assert!(
            backward.len() >= 30,
            "{name}: {} sky samples",
            backward.len()
        );
        for &[ra, dec, x, y] in &backward {
            let (our_x, our_y) = wcs
                .world_to_pixel(ra, dec)
                .unwrap_or_else(|| panic!("{name}: sky ({ra}, {dec}) gave no pixel"));
            let err = (our_x - x).hypot(our_y - y) * scale_mas;
            assert!(
                err < LIMIT_MAS,
                "{name}: sky ({ra}, {dec}): {err} mas from astropy"
            );
            worst.1 = worst.1.max(err);
        }
    }
    println!(
        "worst disagreement with astropy over {} headers: pixel->world {:.2e} mas, \
         world->pixel {:.2e} mas, round trip {:.2e} mas",
        names.len(),
        worst.0,
        worst.1,
        worst.2
    );
}
