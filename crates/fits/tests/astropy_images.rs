//! The CASA cut-outs in `testdata/images/` read through `vlass_fits::Image`
//! must match what astropy reads (`astropy_expected.json`, written by
//! `scripts/make_testdata.py`): axes, units, per-plane frequency, Stokes,
//! beam (header or BEAMS table), finite-pixel count and sum, pixel values
//! (compared as f32: serde_json may round the last f64 bit) and
//! the position of the peak. Also checks `verify_file` on every file.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vlass_fits::{verify_file, Image};

fn images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(images_dir().join("astropy_expected.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(map) => map,
        other => panic!("unexpected JSON {other}"),
    }
}

#[test]
fn every_cutout_reads_as_astropy_reads_it() {
    let expected = expected();
    assert_eq!(expected.len(), 10);
    for (name, want) in &expected {
        let path = images_dir().join(name);
        let naxis: Vec<usize> = want["naxis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let summary = verify_file(&path).unwrap();
        assert_eq!(summary.naxis, naxis, "{name}");
        assert_eq!(summary.gzip, name.ends_with(".gz"), "{name}");

        let mut image = Image::open(&path).unwrap();
        assert_eq!((image.nx(), image.ny()), (naxis[0], naxis[1]), "{name}");
        assert_eq!(image.bunit().as_deref(), want["bunit"].as_str(), "{name}");
        let planes = want["planes"].as_array().unwrap();
        assert_eq!(image.plane_count(), planes.len(), "{name}");
        for (index, want_plane) in planes.iter().enumerate() {
            let info = image.planes()[index].clone();
            assert_eq!(info.index, index);
            let freq = want_plane["frequency_hz"].as_f64().unwrap();
            assert!(
                (info.frequency_hz.unwrap() - freq).abs() < 1e-3,
                "{name} plane {index}"
            );
            assert_eq!(
                info.stokes,
                Some(want_plane["stokes"].as_i64().unwrap() as i32)
            );
            match want_plane["beam"].as_array() {
                Some(beam) => {
                    let got = info
                        .beam
                        .unwrap_or_else(|| panic!("{name} plane {index}: no beam"));
                    let b: Vec<f64> = beam.iter().map(|v| v.as_f64().unwrap()).collect();
                    assert!((got.bmaj_arcsec - b[0]).abs() < 1e-9, "{name} {index}");
                    assert!((got.bmin_arcsec - b[1]).abs() < 1e-9, "{name} {index}");
                    assert!((got.bpa_deg - b[2]).abs() < 1e-9, "{name} {index}");
                }
                None => assert_eq!(info.beam, None, "{name} plane {index}"),
            }

            let plane = image.read_plane(index).unwrap();
            assert_eq!(plane.dim(), (naxis[1], naxis[0]));
            let finite: Vec<f64> = plane
                .iter()
                .filter(|v| v.is_finite())
                .map(|&v| v as f64)
                .collect();
            assert_eq!(
                finite.len() as u64,
                want_plane["finite"].as_u64().unwrap(),
                "{name} {index}"
            );
            let sum: f64 = finite.iter().sum();
            let want_sum = want_plane["sum"].as_f64().unwrap();
            assert!(
                (sum - want_sum).abs() <= 1e-9 * (1.0 + want_sum.abs()),
                "{name} {index}: {sum} vs {want_sum}"
            );
            for sample in want_plane["samples"].as_array().unwrap() {
                let x = sample[0].as_u64().unwrap() as usize;
                let y = sample[1].as_u64().unwrap() as usize;
                match sample[2].as_f64() {
                    Some(v) => assert_eq!(plane[[y, x]], v as f32, "{name} {index} ({x}, {y})"),
                    None => assert!(plane[[y, x]].is_nan(), "{name} {index} ({x}, {y})"),
                }
            }
            if let Some(peak) = want_plane["peak_xy"].as_array() {
                let (mut best, mut at) = (f32::NEG_INFINITY, (0, 0));
                for ((y, x), &v) in plane.indexed_iter() {
                    if v > best {
                        best = v;
                        at = (x, y);
                    }
                }
                let want_at = (
                    peak[0].as_u64().unwrap() as usize,
                    peak[1].as_u64().unwrap() as usize,
                );
                assert_eq!(at, want_at, "{name} {index}");
            }
        }
        image.wcs().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn cube_plane_six_is_the_placeholder_beam() {
    let name = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits";
    let image = Image::open(&images_dir().join(name)).unwrap();
    assert!(image.header().get_bool("CASAMBM").unwrap());
    let beam = image.planes()[6].beam.unwrap();
    assert_eq!(
        (beam.bmaj_arcsec, beam.bmin_arcsec, beam.bpa_deg),
        (1.5, 1.5, 0.0)
    );
    let plane5 = image.planes()[5].beam.unwrap();
    assert!(plane5.bmaj_arcsec > 2.0);
}

#[test]
fn primary_header_text_matches_the_astropy_dump() {
    for name in expected().keys() {
        let image = Image::open(&images_dir().join(name)).unwrap();
        let dump =
            std::fs::read_to_string(images_dir().join(format!("{name}.header.txt"))).unwrap();
        let primary = dump.split("# HDU 1").next().unwrap();
        let (first_line, cards) = primary.split_once('\n').unwrap();
        assert!(first_line.starts_with("# HDU 0"), "{name}");
        assert_eq!(image.header().to_text(), cards, "{name}");
        assert_eq!(
            image.header().cards().len(),
            cards.lines().count(),
            "{name}"
        );
    }
}

#[test]
fn images_opened_per_thread_read_in_parallel() {
    let names: Vec<String> = expected().keys().cloned().collect();
    let sums: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                scope.spawn(move || {
                    let mut image = Image::open(&images_dir().join(name)).unwrap();
                    let mut total = 0.0;
                    for index in 0..image.plane_count() {
                        let plane = image.read_plane(index).unwrap();
                        total += plane
                            .iter()
                            .filter(|v| v.is_finite())
                            .map(|&v| v as f64)
                            .sum::<f64>();
                    }
                    total
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let expected = expected();
    for (name, sum) in names.iter().zip(sums) {
        let want: f64 = expected[name]["planes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sum"].as_f64().unwrap())
            .sum();
        assert!((sum - want).abs() <= 1e-9 * (1.0 + want.abs()), "{name}");
    }
}
