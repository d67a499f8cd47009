//! Golden-file tests on the committed QL and SE cut-outs (testdata/images):
//!
//! 1. against PyBDSF 1.14.1 run on the same files with the same thresholds
//!    (testdata/component-list/pybdsf/, made by scripts/compare_pybdsf_golden.py):
//!    the same sources, positions within 0.1", fluxes within 2%, sizes within
//!    10%, errors and island rms within 25%, the sky correction of the PA
//!    within 0.001 deg;
//! 2. a snapshot of our own CSV output (testdata/component-list/snapshot/):
//!    the same header lines (except the version line), column names and rows,
//!    numbers equal to 1e-6 relative. After a reviewed change of the output,
//!    regenerate with `UPDATE_GOLDEN=1 cargo test -p component-list --test golden`.

mod common;

use common::*;
use std::path::Path;

const IMAGES: [&str; 2] = [
    "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim",
];

fn catalogue(dir: &Path, stem: &str) {
    let image = images().join(format!("{stem}.fits"));
    let o = run(&[
        "--output-dir",
        dir.to_str().unwrap(),
        "--format",
        "csv",
        image.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(a.abs())
}

#[test]
fn sources_agree_with_pybdsf_on_the_same_cutouts() {
    let dir = tempfile::tempdir().unwrap();
    for stem in IMAGES {
        catalogue(dir.path(), stem);
        let (on, orows) = read_csv(&dir.path().join(format!("{stem}.srl.csv")));
        let (pn, prows) = read_csv(&golden_dir().join(format!("pybdsf/{stem}.pybdsf.srl.csv")));
        assert_eq!(orows.len(), prows.len(), "{stem}: source count");
        // the 45 PyBDSF columns come first, in PyBDSF's order
        assert_eq!(&on[..45], &pn[..], "{stem}: columns");
        let o = |name: &str| column(&on, &orows, name);
        let p = |name: &str| column(&pn, &prows, name);
        let (ora, odec, pra, pdec) = (o("RA"), o("DEC"), p("RA"), p("DEC"));
        for k in 0..prows.len() {
            let j = (0..orows.len())
                .min_by(|&a, &b| {
                    let d = |i: usize| (ora[i] - pra[k]).hypot(odec[i] - pdec[k]);
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            let sep =
                ((ora[j] - pra[k]) * pdec[k].to_radians().cos()).hypot(odec[j] - pdec[k]) * 3600.0;
            assert!(sep < 0.1, "{stem} source {k}: {sep}\" from PyBDSF");
            for (name, rel) in [
                ("Total_flux", 0.02),
                ("Peak_flux", 0.02),
                ("Maj", 0.1),
                ("Min", 0.1),
                ("E_Total_flux", 0.25),
                ("E_Peak_flux", 0.25),
                ("Isl_rms", 0.25),
            ] {
                let (a, b) = (o(name)[j], p(name)[k]);
                assert!(
                    close(a, b, rel),
                    "{stem} source {k} {name}: ours {a}, PyBDSF {b}"
                );
            }
            // the WCS correction of the position angle (meridian convergence,
            // a few hundredths of a degree here) is PyBDSF's to 0.001 deg
            let ours = o("PA")[j] - o("PA_img_plane")[j];
            let theirs = p("PA")[k] - p("PA_img_plane")[k];
            assert!(
                theirs.abs() > 0.01,
                "{stem}: the test needs a visible correction"
            );
            assert!(
                (ours - theirs).abs() < 1e-3,
                "{stem} source {k}: PA correction {ours} vs {theirs}"
            );
            assert_eq!(orows[j][44], prows[k][44], "{stem}: S_Code");
        }
    }
}

fn numbers_match(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_nan() && y.is_nan() => true,
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()) + 1e-12,
        _ => a == b,
    }
}

#[test]
fn our_csv_matches_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for stem in IMAGES {
        catalogue(dir.path(), stem);
        for list in ["gaul", "srl"] {
            let name = format!("{stem}.{list}.csv");
            let got = std::fs::read_to_string(dir.path().join(&name)).unwrap();
            let snapshot = golden_dir().join("snapshot").join(&name);
            if update {
                std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
                std::fs::write(&snapshot, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&snapshot).unwrap_or_else(|e| {
                panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", snapshot.display())
            });
            let (gl, wl): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
            assert_eq!(gl.len(), wl.len(), "{name}: line count");
            for (n, (g, w)) in gl.iter().zip(&wl).enumerate() {
                if w.starts_with("# Generated by") {
                    assert!(g.starts_with("# Generated by component-list version"));
                    continue;
                }
                if w.starts_with('#') || w.is_empty() {
                    assert_eq!(g, w, "{name} line {}", n + 1);
                    continue;
                }
                let (gc, wc): (Vec<&str>, Vec<&str>) =
                    (g.split(", ").collect(), w.split(", ").collect());
                assert_eq!(gc.len(), wc.len(), "{name} line {}", n + 1);
                for (c, (a, b)) in gc.iter().zip(&wc).enumerate() {
                    assert!(
                        numbers_match(a, b),
                        "{name} line {} column {}: {a} vs snapshot {b}",
                        n + 1,
                        c + 1
                    );
                }
            }
        }
    }
}
