//! End-to-end behaviour of `component-list`: outputs and their layout, exit
//! codes and one-line errors for bad input, zero-source images, the sky
//! conversion at RA 0/360 and at the pole, thread-count independence, and
//! cube mode on the committed cube cut-out.

mod common;

use common::*;
use std::path::Path;

fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn help_and_version_follow_the_toolkit_conventions() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Exit codes"));
    for flag in [
        "--rms-map",
        "--thresh-isl",
        "--thresh-pix",
        "--rms-box",
        "--tt1",
        "--alpha-error",
        "--output-dir",
        "--prefix",
        "--format",
        "--jobs",
        "--capo-profile",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
    let o = run(&["cube", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("--catalog") && text.contains("Exit codes"));
    for flag in ["--version", "-V"] {
        let o = run(&[flag]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("commit"),
            "{flag}"
        );
    }
    // -v logs the version line on stderr at start (here before a usage error).
    let o = run(&["-v", "/nonexistent.fits"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .next()
            .is_some_and(|l| l.starts_with("component-list ") && l.contains("(commit ")),
        "{err}"
    );
}

#[test]
fn se_cutout_writes_every_output_with_pybdsf_columns_and_alpha() {
    let dir = out_dir();
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--tt1",
        p(&se("tt1.subim.fits")),
        p(&se("tt0.subim.fits")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stem = format!("{SE}tt0.subim");
    for suffix in [
        ".gaul.csv",
        ".srl.csv",
        ".gaul.fits",
        ".srl.fits",
        ".reg",
        ".json",
    ] {
        assert!(
            dir.path().join(format!("{stem}{suffix}")).exists(),
            "missing {suffix}"
        );
    }
    // no temporary files left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6);

    let (names, rows) = read_csv(&dir.path().join(format!("{stem}.gaul.csv")));
    assert_eq!(names.len(), 49 + 2 + 4, "{names:?}");
    assert_eq!(names[0], "Gaus_id");
    assert_eq!(names[48], "S_Code");
    assert_eq!(&names[49..51], &["Alpha", "AlphaErr"]);
    let (snames, srows) = read_csv(&dir.path().join(format!("{stem}.srl.csv")));
    assert_eq!(snames.len(), 45 + 2 + 4);

    // sources 28 (46 mJy, alpha -0.563) and 29 (27 mJy, alpha -0.359) at their true pixels
    let ra = column(&snames, &srows, "RA");
    let dec = column(&snames, &srows, "DEC");
    let flux = column(&snames, &srows, "Total_flux");
    let alpha = column(&snames, &srows, "Alpha");
    for (ra_t, dec_t, flux_t, alpha_t) in [
        (150.0732313, 30.0451862_f64, 0.0464211, -0.563),
        (150.0659857, 30.0819031, 0.0274056, -0.359),
    ] {
        let k = (0..ra.len())
            .min_by(|&a, &b| {
                let d =
                    |i: usize| ((ra[i] - ra_t) * dec_t.to_radians().cos()).hypot(dec[i] - dec_t);
                d(a).total_cmp(&d(b))
            })
            .expect("sources");
        let sep = ((ra[k] - ra_t) * dec_t.to_radians().cos()).hypot(dec[k] - dec_t) * 3600.0;
        assert!(sep < 0.5, "offset {sep}\"");
        assert!(
            (flux[k] / flux_t - 1.0).abs() < 0.1,
            "flux {} vs {flux_t}",
            flux[k]
        );
        assert!(
            (alpha[k] - alpha_t).abs() < 0.2,
            "alpha {} vs {alpha_t}",
            alpha[k]
        );
    }
    assert!(!rows.is_empty());

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(format!("{stem}.json"))).unwrap())
            .unwrap();
    assert_eq!(
        json["counts"]["sources"].as_u64().unwrap() as usize,
        srows.len()
    );
    assert_eq!(
        json["counts"]["gaussians"].as_u64().unwrap() as usize,
        rows.len()
    );
    assert_eq!(json["outputs"].as_array().unwrap().len(), 6);

    let reg = std::fs::read_to_string(dir.path().join(format!("{stem}.reg"))).unwrap();
    assert_eq!(reg.lines().nth(2), Some("fk5")); // RADESYS = FK5 in these images
    assert_eq!(
        reg.lines()
            .filter(|l| l.starts_with("ellipse(") || l.starts_with("point("))
            .count(),
        srows.len()
    );
}

#[test]
fn output_is_the_same_for_one_and_two_threads() {
    let (a, b) = (out_dir(), out_dir());
    for (dir, jobs) in [(&a, "1"), (&b, "2")] {
        let o = run(&[
            "--jobs",
            jobs,
            "--format",
            "csv,fits",
            "--output-dir",
            p(dir.path()),
            p(&se("tt0.subim.fits")),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for suffix in [".gaul.csv", ".srl.csv", ".gaul.fits", ".srl.fits"] {
        let name = format!("{SE}tt0.subim{suffix}");
        assert_eq!(
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap(),
            "{suffix} differs between --jobs 1 and 2"
        );
    }
}

#[test]
fn noise_only_image_gives_zero_components_and_exit_0() {
    let dir = out_dir();
    let g = Geometry::default();
    let img = dir.path().join("noise.fits");
    write_image(&img, &g, &noise(g.n, 7, 1e-4));
    let o = run(&["--output-dir", p(dir.path()), p(&img)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 components"));
    let (names, rows) = read_csv(&dir.path().join("noise.srl.csv"));
    assert_eq!(names.len(), 49);
    assert!(rows.is_empty());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("noise.json")).unwrap()).unwrap();
    assert_eq!(json["counts"]["sources"], 0);
}

#[test]
fn all_nan_image_is_an_input_error() {
    let dir = out_dir();
    let g = Geometry::default();
    let img = dir.path().join("blank.fits");
    write_image(&img, &g, &vec![f32::NAN; g.n * g.n]);
    let out = dir.path().join("out");
    let o = run(&["--output-dir", p(&out), p(&img)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("component-list: ") && err.contains("blank.fits"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // nothing half-written
    assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn constant_image_is_an_input_error_that_says_so() {
    let dir = out_dir();
    let g = Geometry::default();
    let img = dir.path().join("const.fits");
    let mut data = vec![0.25f32; g.n * g.n];
    data[0] = f32::NAN; // blanks do not change the diagnosis
    write_image(&img, &g, &data);
    let o = run(&["--output-dir", p(dir.path()), p(&img)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("component-list: ") && err.contains("const.fits"),
        "{err}"
    );
    assert!(err.contains("image is constant"), "{err}");
    assert!(!err.contains("blank"), "{err}");
}

#[test]
fn rms_map_of_another_size_or_wcs_or_missing_is_an_input_error() {
    let dir = out_dir();
    let tt0 = se("tt0.subim.fits");
    let ql_rms = images().join(format!("{QL}tt0.rms.subim.fits.gz"));
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--rms-map",
        p(&ql_rms),
        p(&tt0),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is 192x192 pixels but the image"),
        "{}",
        stderr(&o)
    );

    let g = Geometry::default();
    let (a, b) = (dir.path().join("a.fits"), dir.path().join("b.fits"));
    write_image(&a, &g, &noise(g.n, 1, 1e-4));
    write_image(
        &b,
        &Geometry {
            ra: 150.01,
            ..Geometry::default()
        },
        &vec![1e-4; g.n * g.n],
    );
    let o = run(&["--output-dir", p(dir.path()), "--rms-map", p(&b), p(&a)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("another WCS"), "{}", stderr(&o));

    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--rms-map",
        "no-such-rms.fits",
        p(&a),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-rms.fits"), "{}", stderr(&o));
}

#[test]
fn tt1_of_another_shape_is_an_input_error() {
    let dir = out_dir();
    let ql = images().join(format!("{QL}tt0.subim.fits"));
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--tt1",
        p(&ql),
        p(&se("tt0.subim.fits")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("tt1 image is 192x192"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let tt0 = se("tt0.subim.fits");
    for args in [
        vec!["--rms-box", "10", p(&tt0)],
        vec!["--format", "csv,xml", p(&tt0)],
        vec!["--alpha", "a.fits", p(&tt0)],
        vec!["--thresh-isl", "6", "--thresh-pix", "5", p(&tt0)],
    ] {
        let dir = out_dir();
        let mut full = vec!["--output-dir", p(dir.path())];
        full.extend(args.iter().copied());
        let o = run(&full);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

/// A source straddling RA 0/360 and one at the north pole come out at the
/// right sky position with finite sizes and angles.
#[test]
fn sources_at_ra_zero_and_at_the_pole() {
    for (ra, dec) in [(0.0, 20.0), (120.0, 90.0)] {
        let dir = out_dir();
        let g = Geometry {
            ra,
            dec,
            ..Geometry::default()
        };
        let mut data = noise(g.n, 3, 1e-4);
        let beam_pix = g.beam_arcsec / g.cdelt_arcsec;
        // at the reference pixel (0-based 64, 64) and one 5 px to the west (RA < 0 -> 359.99...)
        add_gaussian(&mut data, g.n, 64.0, 64.0, 0.01, beam_pix);
        add_gaussian(&mut data, g.n, 90.0, 40.0, 0.005, beam_pix);
        let img = dir.path().join("sky.fits");
        write_image(&img, &g, &data);
        let o = run(&["--output-dir", p(dir.path()), p(&img)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (names, rows) = read_csv(&dir.path().join("sky.srl.csv"));
        assert_eq!(rows.len(), 2, "at ({ra}, {dec})");
        let ras = column(&names, &rows, "RA");
        let decs = column(&names, &rows, "DEC");
        let pas = column(&names, &rows, "PA");
        let majs = column(&names, &rows, "Maj");
        for k in 0..2 {
            assert!((0.0..360.0).contains(&ras[k]), "RA {}", ras[k]);
            assert!(pas[k].is_finite() && majs[k] > 0.0);
            assert!(
                (majs[k] * 3600.0 - g.beam_arcsec).abs() < 0.5,
                "Maj {}",
                majs[k] * 3600.0
            );
        }
        let centre = (0..2)
            .find(|&k| (decs[k] - dec).abs() < 1e-3)
            .expect("centre source");
        let d_ra = ((ras[centre] - ra + 180.0).rem_euclid(360.0) - 180.0) * dec.to_radians().cos();
        assert!(
            dec > 89.9 || d_ra.abs() * 3600.0 < 0.2,
            "RA {} vs {ra}",
            ras[centre]
        );
        if ra == 0.0 {
            let west = 1 - centre;
            assert!(ras[west] > 359.9, "west source RA {}", ras[west]);
        }
    }
}

/// A plain CSV catalogue (column names on the first line, no `#`, as CIRADA
/// and pandas write it) is read by cube mode: positions only, point sources.
#[test]
fn cube_mode_reads_a_plain_csv_header() {
    let dir = out_dir();
    let catalog = dir.path().join("plain.csv");
    // source 28 (46 mJy) and a position outside the cube
    std::fs::write(&catalog, "RA,DEC\n150.0732313,30.0451862\n150,31\n").unwrap();
    let cube = images().join(format!("{CC}I.iter3.image.pbcor.subim.fits"));
    let o = run(&[
        "cube",
        "--catalog",
        p(&catalog),
        "--output-dir",
        p(dir.path()),
        "--prefix",
        "out",
        p(&cube),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, rows) = read_csv(&dir.path().join("out.csv"));
    assert_eq!(rows.len(), 2);
    let ra = column(&names, &rows, "RA");
    let flux = column(&names, &rows, "Total_flux_ch1");
    assert!((ra[0] - 150.0732313).abs() < 1e-9, "{ra:?}");
    assert!(flux[0] > 0.02 && flux[0] < 0.1, "{flux:?}");
}

fn continuum_catalogue(dir: &Path) -> std::path::PathBuf {
    let o = run(&[
        "--output-dir",
        p(dir),
        "--format",
        "csv",
        p(&se("tt0.subim.fits")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    dir.join(format!("{SE}tt0.subim.srl.csv"))
}

#[test]
fn cube_mode_rejects_the_bad_plane_and_fits_a_spectral_index() {
    let dir = out_dir();
    let catalog = continuum_catalogue(dir.path());
    let cube = images().join(format!("{CC}I.iter3.image.pbcor.subim.fits"));
    let o = run(&[
        "cube",
        "--catalog",
        p(&catalog),
        "--output-dir",
        p(dir.path()),
        p(&cube),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stem = format!("{CC}I.iter3.image.pbcor.subim.cube");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(format!("{stem}.json"))).unwrap())
            .unwrap();
    let planes = json["planes"].as_array().unwrap();
    assert_eq!(planes.len(), 8);
    let rejected: Vec<usize> = planes
        .iter()
        .enumerate()
        .filter(|(_, p)| !p["rejected"].is_null())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(rejected, vec![6], "{planes:?}");

    let (names, rows) = read_csv(&dir.path().join(format!("{stem}.csv")));
    assert!(
        names.contains(&"Total_flux_ch8".to_string()) && names.contains(&"Freq_ch1".to_string())
    );
    let ra = column(&names, &rows, "RA");
    let alpha = column(&names, &rows, "Spec_Indx");
    let ch7 = column(&names, &rows, "Total_flux_ch7");
    let used = column(&names, &rows, "N_planes_fit");
    // source 28: 46 mJy, alpha -0.563
    let k = (0..ra.len())
        .min_by(|&a, &b| {
            (ra[a] - 150.0732313)
                .abs()
                .total_cmp(&(ra[b] - 150.0732313).abs())
        })
        .unwrap();
    assert!((alpha[k] + 0.563).abs() < 0.1, "Spec_Indx {}", alpha[k]);
    assert!(ch7[k].is_nan(), "rejected plane must be blank");
    assert_eq!(used[k], 7.0);
}

#[test]
fn cube_with_catalogue_outside_its_footprint_is_an_input_error() {
    let dir = out_dir();
    let catalog = dir.path().join("far.csv");
    std::fs::write(
        &catalog,
        "# Source list for x.fits\n\n# Source_id, RA, DEC\n   0, 10.0, -40.0\n   1, 10.1, -40.0\n",
    )
    .unwrap();
    let cube = images().join(format!("{CC}I.iter3.image.pbcor.subim.fits"));
    let o = run(&[
        "cube",
        "--catalog",
        p(&catalog),
        "--output-dir",
        p(dir.path()),
        p(&cube),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("footprint"), "{}", stderr(&o));
    let o = run(&[
        "cube",
        "--catalog",
        "none.csv",
        "--output-dir",
        p(dir.path()),
        p(&cube),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["cube", "--output-dir", p(dir.path()), p(&cube)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--catalog"), "{}", stderr(&o));
    let o = run(&["cube", "--catalog", p(&catalog)]);
    assert_eq!(o.status.code(), Some(2));
}

/// VLASS cube files are one file per spw with Stokes I, Q, U: only the I
/// planes are measured, and the power law of a point source at S/N 1000 is
/// recovered from planes whose (elliptical) beam shrinks with frequency.
#[test]
fn cube_files_per_spw_use_only_stokes_i() {
    let dir = out_dir();
    let n = 96;
    let (s0, alpha) = (0.01, -0.7);
    let (x0, y0, ratio, bpa) = (40.0, 50.0, 0.9, 10.0_f64);

    // the continuum catalogue: the same point source in a 3 GHz image
    let g = Geometry {
        n,
        beam_ratio: ratio,
        bpa_deg: bpa,
        ..Geometry::default()
    };
    let mut img = noise(n, 5, 1e-5);
    add_gaussian(&mut img, n, x0, y0, s0, g.beam_arcsec / g.cdelt_arcsec);
    let continuum = dir.path().join("i.fits");
    write_image(&continuum, &g, &img);
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--format",
        "csv",
        "--prefix",
        "cat",
        p(&continuum),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let mut files = Vec::new();
    for (k, f) in [2.5e9, 3.0e9, 3.5e9_f64].into_iter().enumerate() {
        let g = Geometry {
            n,
            beam_arcsec: 2.4 * 3.0e9 / f,
            beam_ratio: ratio,
            bpa_deg: bpa,
            frequency_hz: f,
            stokes: 3,
            ..Geometry::default()
        };
        let (sa, sb) = (
            g.beam_arcsec / g.cdelt_arcsec / 2.354_820_045,
            g.beam_arcsec * ratio / g.cdelt_arcsec / 2.354_820_045,
        );
        let flux = s0 * (f / 3.0e9).powf(alpha); // a point: peak per beam = flux
        let t = bpa.to_radians();
        let mut data = noise(n, 11 + k as u64, 1e-5);
        data.resize(3 * n * n, 0.0);
        for y in 0..n {
            for x in 0..n {
                let (dx, dy) = (x as f64 - x0, y as f64 - y0);
                // along the major axis (PA east of north, east = -x) and across it
                let (u, v) = (-dx * t.sin() + dy * t.cos(), dx * t.cos() + dy * t.sin());
                data[y * n + x] +=
                    (flux * (-(u * u / (2.0 * sa * sa) + v * v / (2.0 * sb * sb))).exp()) as f32;
                // Q and U: values that would wreck the fit if they were used
                data[n * n + y * n + x] = 5.0;
                data[2 * n * n + y * n + x] = -5.0;
            }
        }
        let path = dir.path().join(format!("spw{k}.IQU.fits"));
        write_image(&path, &g, &data);
        files.push(path);
    }
    let catalog = dir.path().join("cat.srl.csv");
    let mut args = vec![
        "cube",
        "--catalog",
        p(&catalog),
        "--output-dir",
        p(dir.path()),
        "--prefix",
        "iqu",
    ];
    args.extend(files.iter().map(|f| p(f)));
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, rows) = read_csv(&dir.path().join("iqu.csv"));
    assert!(
        names.contains(&"Freq_ch3".to_string()) && !names.contains(&"Freq_ch4".to_string()),
        "{names:?}"
    );
    assert_eq!(rows.len(), 1);
    let fitted = column(&names, &rows, "Spec_Indx")[0];
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        (fitted - alpha).abs() < 0.02,
        "Spec_Indx {fitted}\n{report}"
    );
}

/// A bright extended source filling the image (one huge island) is found at
/// its position with its flux, the rms stays at the noise and a warning says
/// how (with the default box and with one box over the whole image); a source
/// cut by a NaN border ends in a written catalogue, not a hang or a panic.
#[test]
fn huge_island_and_nan_border_are_handled() {
    let dir = out_dir();
    // A 0.5 Jy/beam Gaussian of sigma 60 pixels on 256 x 256 pixels of white
    // noise (1e-4): brighter than 50 sigma everywhere, so every background box
    // measures the source.
    let g = Geometry {
        n: 256,
        ..Geometry::default()
    };
    let (rms, peak, sigma) = (1e-4, 0.5, 60.0);
    let mut data = noise(g.n, 9, rms as f32);
    let fwhm = sigma * 2.354_820_045;
    let (x0, y0) = (128.0, 128.0);
    add_gaussian(&mut data, g.n, x0, y0, peak, fwhm);
    let huge = dir.path().join("huge.fits");
    write_image(&huge, &g, &data);
    let beam_pix = g.beam_arcsec / g.cdelt_arcsec;
    // total flux = peak x source area / beam area (both circular Gaussians)
    let true_flux = peak * (fwhm / beam_pix).powi(2);
    for rms_box in [None, Some("256,256")] {
        let started = std::time::Instant::now();
        let mut args = vec!["--output-dir", p(dir.path()), "--format", "csv,json"];
        if let Some(b) = rms_box {
            args.extend(["--rms-box", b]);
        }
        args.push(p(&huge));
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(started.elapsed().as_secs() < 60, "bounded work per island");
        let err = stderr(&o);
        assert!(
            err.lines()
                .any(|l| l.starts_with("component-list: warning: huge.fits: emission fills every")),
            "{err}"
        );
        let (names, rows) = read_csv(&dir.path().join("huge.srl.csv"));
        assert_eq!(rows.len(), 1, "{rows:?}");
        let ra = column(&names, &rows, "RA")[0];
        let dec = column(&names, &rows, "DEC")[0];
        let flux = column(&names, &rows, "Total_flux")[0];
        // pixel (128, 128) 0-based is CRPIX 129 = reference pixel + 0 offset
        // in y and x: the image centre is CRVAL
        let sep = ((ra - g.ra) * g.dec.to_radians().cos()).hypot(dec - g.dec) * 3600.0;
        assert!(sep < g.cdelt_arcsec, "offset {sep}\"");
        assert!(
            (flux / true_flux - 1.0).abs() < 0.05,
            "flux {flux} vs {true_flux}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("huge.json")).unwrap()).unwrap();
        let median_rms = json["noise"]["median_rms_jy_per_beam"].as_f64().unwrap();
        assert!(
            (median_rms / rms - 1.0).abs() < 0.1,
            "median rms {median_rms}"
        );
        assert!(json["warnings"][0]
            .as_str()
            .unwrap()
            .contains("emission fills every"));
    }
    let g = Geometry::default();

    let mut data = noise(g.n, 10, 1e-4);
    let beam_pix = g.beam_arcsec / g.cdelt_arcsec;
    add_gaussian(&mut data, g.n, 20.0, 64.0, 0.01, beam_pix);
    add_gaussian(&mut data, g.n, 80.0, 80.0, 0.01, beam_pix);
    for y in 0..g.n {
        for x in 0..20 {
            data[y * g.n + x] = f32::NAN; // the first source is cut in half
        }
    }
    let border = dir.path().join("border.fits");
    write_image(&border, &g, &data);
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--format",
        "csv,json",
        p(&border),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, rows) = read_csv(&dir.path().join("border.srl.csv"));
    let ra = column(&names, &rows, "RA");
    assert!(!rows.is_empty() && ra.iter().all(|r| r.is_finite()));
}

/// `--tt1` gives the same Alpha as CASA's own alpha image (tt1/tt0 per pixel,
/// made by widebandpbcor) at the components of the SE cut-out.
#[test]
fn alpha_from_tt1_equals_casa_alpha_image() {
    let (a, b) = (out_dir(), out_dir());
    let tt0 = se("tt0.subim.fits");
    let o = run(&[
        "--output-dir",
        p(a.path()),
        "--format",
        "csv",
        "--tt1",
        p(&se("tt1.subim.fits")),
        p(&tt0),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "--output-dir",
        p(b.path()),
        "--format",
        "csv",
        "--alpha",
        p(&se("alpha.subim.fits.gz")),
        "--alpha-error",
        p(&se("alpha.error.subim.fits.gz")),
        p(&tt0),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let name = format!("{SE}tt0.subim.srl.csv");
    let (na, ra) = read_csv(&a.path().join(&name));
    let (nb, rb) = read_csv(&b.path().join(&name));
    let (alpha_tt1, alpha_casa) = (column(&na, &ra, "Alpha"), column(&nb, &rb, "Alpha"));
    let finite: Vec<usize> = (0..alpha_casa.len())
        .filter(|&k| alpha_casa[k].is_finite())
        .collect();
    assert!(finite.len() >= 2, "{alpha_casa:?}");
    for k in finite {
        assert!(
            (alpha_tt1[k] - alpha_casa[k]).abs() < 1e-4,
            "{} vs {}",
            alpha_tt1[k],
            alpha_casa[k]
        );
    }
}

/// The FITS tables read back with cfitsio (an independent reader) hold the
/// CSV's columns and values.
#[test]
fn fits_tables_read_back_with_cfitsio() {
    let dir = out_dir();
    let o = run(&[
        "--output-dir",
        p(dir.path()),
        "--format",
        "csv,fits",
        p(&se("tt0.subim.fits")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for list in ["gaul", "srl"] {
        let (names, rows) = read_csv(&dir.path().join(format!("{SE}tt0.subim.{list}.csv")));
        let mut f =
            fitsio::FitsFile::open(dir.path().join(format!("{SE}tt0.subim.{list}.fits"))).unwrap();
        let hdu = f.hdu(1).unwrap();
        // (INIMAGE is a long string in the CONTINUE convention, which astropy
        // reads whole; cfitsio's plain key reader stops at the first card)
        let freq: f64 = hdu.read_key(&mut f, "FREQ0").unwrap();
        assert_eq!(freq, 3.0e9);
        let ra: Vec<f64> = hdu.read_col(&mut f, "RA").unwrap();
        let ids: Vec<i32> = hdu.read_col(&mut f, "Isl_id").unwrap();
        let codes: Vec<String> = hdu.read_col(&mut f, "S_Code").unwrap();
        let flags: Vec<i32> = hdu.read_col(&mut f, "Quality_flag").unwrap();
        assert_eq!(ra.len(), rows.len());
        let csv_ra = column(&names, &rows, "RA");
        let csv_isl = column(&names, &rows, "Isl_id");
        let csv_flags = column(&names, &rows, "Quality_flag");
        for k in 0..rows.len() {
            assert!((ra[k] - csv_ra[k]).abs() < 1e-12);
            assert_eq!(ids[k] as f64, csv_isl[k]);
            assert_eq!(flags[k] as f64, csv_flags[k]);
            assert_eq!(
                codes[k].trim(),
                rows[k][names.iter().position(|n| n == "S_Code").unwrap()]
            );
        }
    }
}
