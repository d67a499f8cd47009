//! End-to-end tests of `find` on synthetic images with known sources.

use ndarray::Array2;

use crate::errors::condon_errors;
use crate::model::{BeamPix, Detection, IslandOutcome, SCode};
use crate::synth::{add_gaussian, correlated_noise, to_f32};
use crate::{find, FindError, FindOptions};

const BEAM: BeamPix = BeamPix {
    maj_fwhm_pix: 4.0,
    min_fwhm_pix: 3.4,
    pa_deg: 20.0,
};
const RMS: f64 = 1.5e-4;

/// Convolved size of an intrinsic Gaussian (same PA as the beam here).
fn convolved(maj: f64, min: f64) -> (f64, f64) {
    (
        (maj * maj + BEAM.maj_fwhm_pix.powi(2)).sqrt(),
        (min * min + BEAM.min_fwhm_pix.powi(2)).sqrt(),
    )
}

/// Point sources (amplitude in units of the rms) at fixed places on 256 x 256.
const POINTS: [(f64, f64, f64); 6] = [
    (40.3, 50.7, 12.0),
    (200.6, 40.2, 20.0),
    (128.0, 128.0, 50.0),
    (60.5, 200.1, 15.0),
    (210.2, 190.8, 30.0),
    (128.4, 30.6, 10.0),
];

fn point_image(seed: u64) -> Array2<f32> {
    let mut img = correlated_noise(256, 256, BEAM, seed);
    for &(x, y, a) in &POINTS {
        add_gaussian(
            &mut img,
            a,
            x,
            y,
            BEAM.maj_fwhm_pix,
            BEAM.min_fwhm_pix,
            BEAM.pa_deg,
        );
    }
    to_f32(&img, RMS)
}

fn nearest(det: &Detection, x: f64, y: f64) -> Option<&crate::model::Gaussian> {
    det.gaussians
        .iter()
        .filter(|g| ((g.x - x).powi(2) + (g.y - y).powi(2)).sqrt() < 2.0)
        .min_by(|a, b| {
            let da = (a.x - x).powi(2) + (a.y - y).powi(2);
            let db = (b.x - x).powi(2) + (b.y - y).powi(2);
            da.total_cmp(&db)
        })
}

#[test]
fn point_sources_are_found_with_condon_accuracy() {
    let image = point_image(1);
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    assert_eq!(det.sources.len(), POINTS.len(), "{:#?}", det.sources);
    // measured noise close to the input (1/sqrt(2 N_beams) ~ 1% per box)
    assert!(
        (det.median_rms / RMS - 1.0).abs() < 0.05,
        "rms {}",
        det.median_rms
    );
    // beam-correlated noise is far below the emission limit: no box replaced
    assert!(det.warnings.is_empty(), "{:?}", det.warnings);
    // this noise is white noise convolved with the beam: its autocorrelation
    // is the beam convolved with itself, a Gaussian sqrt(2) times wider, so
    // the pixel-to-pixel estimate is low by the model factor of that width
    let wide = BeamPix {
        maj_fwhm_pix: BEAM.maj_fwhm_pix * 2f64.sqrt(),
        min_fwhm_pix: BEAM.min_fwhm_pix * 2f64.sqrt(),
        pa_deg: BEAM.pa_deg,
    };
    let factor = crate::background::correlated_noise_factor(wide);
    let ratio = det.median_rms / det.pixel_noise;
    assert!(
        (ratio / factor - 1.0).abs() < 0.1,
        "rms / pixel noise {ratio}, correlated-noise model {factor}"
    );
    for &(x, y, a) in &POINTS {
        let g = nearest(&det, x, y).unwrap_or_else(|| panic!("no Gaussian near ({x}, {y})"));
        let flux = a * RMS;
        // The fit must agree with the truth within 5 of Condon's sigmas (Condon's
        // errors already allow for beam-correlated noise): a 5-sigma miss in any of
        // 6 x 4 quantities has probability ~1e-5.
        let e = condon_errors(
            flux,
            BEAM.maj_fwhm_pix,
            BEAM.min_fwhm_pix,
            BEAM.pa_deg,
            flux,
            BEAM,
            RMS,
        );
        assert!(
            (g.x - x).abs() < 5.0 * e.e_x,
            "x {} vs {x} (e {})",
            g.x,
            e.e_x
        );
        assert!(
            (g.y - y).abs() < 5.0 * e.e_y,
            "y {} vs {y} (e {})",
            g.y,
            e.e_y
        );
        assert!(
            (g.peak_flux - flux).abs() < 5.0 * e.e_peak,
            "peak {} vs {flux}",
            g.peak_flux
        );
        assert!(
            (g.total_flux - flux).abs() < 5.0 * e.e_total,
            "total {} vs {flux}",
            g.total_flux
        );
        assert!(g.shape.min_fwhm_pix >= BEAM.min_fwhm_pix - 1e-9);
        assert_eq!(g.s_code, SCode::Single);
        // the reported errors are the Condon errors of the fitted values
        assert!(g.e_peak_flux > 0.5 * e.e_peak && g.e_peak_flux < 2.0 * e.e_peak);
    }
    assert!(det
        .islands
        .iter()
        .all(|i| matches!(i.outcome, IslandOutcome::Fitted { gaussians: 1 })));
}

#[test]
fn resolved_gaussian_size_and_deconvolution() {
    let mut img = correlated_noise(160, 160, BEAM, 7);
    let (maj, min, pa) = (9.0, 5.0, 20.0);
    let (cmaj, cmin) = convolved(maj, min);
    let total = 0.02;
    let amp = total * BEAM.maj_fwhm_pix * BEAM.min_fwhm_pix / (cmaj * cmin);
    add_gaussian(&mut img, amp / RMS, 80.2, 79.6, cmaj, cmin, pa);
    let image = to_f32(&img, RMS);
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    assert_eq!(det.gaussians.len(), 1, "{:#?}", det.gaussians);
    let g = &det.gaussians[0];
    let e = condon_errors(amp, cmaj, cmin, pa, total, BEAM, RMS);
    let checks = [
        ("maj", g.shape.maj_fwhm_pix, cmaj, 5.0 * e.e_maj),
        ("min", g.shape.min_fwhm_pix, cmin, 5.0 * e.e_min),
        ("pa", g.shape.pa_deg, pa, 5.0 * e.e_pa_deg),
        ("total", g.total_flux, total, 5.0 * e.e_total),
        // deconvolution returns the intrinsic size within the size errors
        ("dc maj", g.deconvolved.maj_fwhm_pix, maj, 6.0 * e.e_maj),
        ("dc min", g.deconvolved.min_fwhm_pix, min, 6.0 * e.e_min),
    ];
    for (name, got, want, tolerance) in checks {
        assert!(
            (got - want).abs() < tolerance,
            "{name}: {got} vs {want} (tolerance {tolerance})"
        );
    }
}

#[test]
fn close_pair_in_one_island_gives_two_components() {
    let mut img = correlated_noise(128, 128, BEAM, 3);
    let sep = 1.6 * BEAM.maj_fwhm_pix;
    add_gaussian(
        &mut img,
        30.0,
        60.0,
        64.0,
        BEAM.maj_fwhm_pix,
        BEAM.min_fwhm_pix,
        BEAM.pa_deg,
    );
    add_gaussian(
        &mut img,
        25.0,
        60.0 + sep,
        64.0,
        BEAM.maj_fwhm_pix,
        BEAM.min_fwhm_pix,
        BEAM.pa_deg,
    );
    let image = to_f32(&img, RMS);
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    assert_eq!(det.islands.len(), 1);
    assert_eq!(det.gaussians.len(), 2, "{:#?}", det.gaussians);
    assert_eq!(det.sources.len(), 2);
    assert!(det.sources.iter().all(|s| s.s_code == SCode::Component));
    assert!(nearest(&det, 60.0, 64.0).is_some() && nearest(&det, 60.0 + sep, 64.0).is_some());
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let mut img = correlated_noise(256, 256, BEAM, 11);
    for &(x, y, a) in &POINTS {
        add_gaussian(
            &mut img,
            a,
            x,
            y,
            BEAM.maj_fwhm_pix,
            BEAM.min_fwhm_pix,
            BEAM.pa_deg,
        );
    }
    add_gaussian(&mut img, 20.0, 100.0, 180.0, 10.0, 6.0, 70.0);
    add_gaussian(&mut img, 25.0, 170.0, 100.0, 4.0, 3.4, 20.0);
    add_gaussian(&mut img, 20.0, 176.5, 100.0, 4.0, 3.4, 20.0);
    let image = to_f32(&img, RMS);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| find(image.view(), None, BEAM, &FindOptions::default()).expect("find"))
    };
    let one = run(1);
    let four = run(4);
    assert!(one.gaussians.len() >= POINTS.len() + 2);
    assert_eq!(one, four);
}

#[test]
fn pure_noise_gives_no_sources() {
    let image = to_f32(&correlated_noise(200, 200, BEAM, 5), RMS);
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    // P(>5 sigma peak) over ~2700 beams is ~1e-3
    assert!(det.sources.is_empty(), "{:#?}", det.sources);
    assert!(det.islands.is_empty());
}

#[test]
fn all_blank_and_bad_inputs_are_errors() {
    let blank = Array2::<f32>::from_elem((50, 60), f32::NAN);
    let err = find(blank.view(), None, BEAM, &FindOptions::default()).unwrap_err();
    assert_eq!(err, FindError::NoValidPixels);
    assert_eq!(err.to_string(), "image has no finite pixels (all blank)");
    let image = to_f32(&correlated_noise(40, 40, BEAM, 2), RMS);
    let small_rms = Array2::<f32>::from_elem((30, 40), 1e-4);
    let err = find(
        image.view(),
        Some(small_rms.view()),
        BEAM,
        &FindOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rms map is 40x30 pixels but the image is 40x40"
    );
    let bad_beam = BeamPix {
        maj_fwhm_pix: 0.0,
        ..BEAM
    };
    assert!(matches!(
        find(image.view(), None, bad_beam, &FindOptions::default()),
        Err(FindError::BadBeam(_))
    ));
    let huge_beam = BeamPix {
        maj_fwhm_pix: 1e300,
        min_fwhm_pix: 41.0,
        ..BEAM
    };
    for beam in [
        huge_beam,
        BeamPix {
            maj_fwhm_pix: 41.0,
            ..BEAM
        },
    ] {
        let err = find(image.view(), None, beam, &FindOptions::default()).unwrap_err();
        assert!(
            matches!(err, FindError::BeamLargerThanImage(_, 40)),
            "{err}"
        );
        assert!(err.to_string().contains("check BMAJ/BMIN"), "{err}");
    }
    let empty = Array2::<f32>::zeros((0, 10));
    assert_eq!(
        find(empty.view(), None, BEAM, &FindOptions::default()).unwrap_err(),
        FindError::EmptyImage
    );
}

#[test]
fn huge_island_is_fitted_with_bounded_work() {
    // a bright extended source filling most of the image and running off its
    // left edge, with a supplied rms
    let n = 150;
    let mut img = correlated_noise(n, n, BEAM, 9);
    add_gaussian(&mut img, 200.0, 30.0, 75.0, 90.0, 70.0, 30.0);
    let image = to_f32(&img, RMS);
    let rms = Array2::<f32>::from_elem((n, n), RMS as f32);
    let opts = FindOptions {
        rms_box: Some((n, n)),
        ..FindOptions::default()
    };
    let det = find(image.view(), Some(rms.view()), BEAM, &opts).expect("find");
    let big = det
        .islands
        .iter()
        .max_by_key(|i| i.npix)
        .expect("an island");
    assert!(big.npix > opts.max_joint_fit_pixels, "npix {}", big.npix);
    assert!(big.touches_edge, "{big:?}");
    match &big.outcome {
        IslandOutcome::Fitted { gaussians } => {
            assert!(*gaussians >= 1 && *gaussians <= opts.max_gaussians_per_island)
        }
        IslandOutcome::Failed { reason } => panic!("{reason}"),
    }
}

#[test]
fn sources_at_the_edge_and_next_to_blanks_are_fitted_and_marked() {
    let mut img = correlated_noise(120, 120, BEAM, 13);
    add_gaussian(
        &mut img,
        40.0,
        1.0,
        60.0,
        BEAM.maj_fwhm_pix,
        BEAM.min_fwhm_pix,
        BEAM.pa_deg,
    );
    add_gaussian(
        &mut img,
        40.0,
        92.0,
        30.0,
        BEAM.maj_fwhm_pix,
        BEAM.min_fwhm_pix,
        BEAM.pa_deg,
    );
    let mut image = to_f32(&img, RMS);
    // blank the right edge from x = 96: the second source's island reaches it
    for y in 0..120 {
        for x in 96..120 {
            image[[y, x]] = f32::NAN;
        }
    }
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    let at_edge = nearest(&det, 1.0, 60.0).expect("edge source");
    let by_blank = nearest(&det, 92.0, 30.0).expect("source by the blank column");
    for g in [at_edge, by_blank] {
        let isl = &det.islands[g.isl_id];
        assert!(isl.touches_edge, "{isl:?}");
        assert!(g.x.is_finite() && g.peak_flux > 20.0 * RMS);
    }
}

#[test]
fn unconverged_fits_are_reported_not_dropped() {
    let image = point_image(1);
    let opts = FindOptions {
        max_iterations: 1,
        ..FindOptions::default()
    };
    let det = find(image.view(), None, BEAM, &opts).expect("find");
    assert_eq!(det.islands.len(), POINTS.len());
    for isl in &det.islands {
        match &isl.outcome {
            IslandOutcome::Failed { reason } => {
                assert!(reason.contains("did not converge"), "{reason}")
            }
            IslandOutcome::Fitted { .. } => panic!("one LM iteration cannot converge: {isl:?}"),
        }
        assert!(!isl.touches_edge);
    }
    assert!(det.gaussians.is_empty() && det.sources.is_empty());
}

#[test]
fn background_follows_a_noise_gradient_and_skips_blanks() {
    // rms rising linearly from 1x to 3x across the image, a blank block inside
    let (nx, ny) = (300, 200);
    let noise = correlated_noise(nx, ny, BEAM, 21);
    let scale = |x: usize| 1.0 + 2.0 * x as f64 / (nx - 1) as f64;
    let mut image =
        Array2::from_shape_fn((ny, nx), |(y, x)| (noise[[y, x]] * scale(x) * RMS) as f32);
    for y in 80..120 {
        for x in 140..180 {
            image[[y, x]] = f32::NAN;
        }
    }
    let bg = crate::background(image.view(), BEAM, &FindOptions::default()).expect("background");
    assert!(bg.rms_varies);
    for x in [70, 150, 230] {
        let want = scale(x) * RMS;
        let got = bg.rms_at(x as f64, 100.0);
        // box rms good to ~3% (about 700 beams per box) plus the linear
        // interpolation between box centres
        assert!((got / want - 1.0).abs() < 0.08, "x {x}: {got} vs {want}");
    }
    let (mean, rms) = bg.maps(image.view());
    assert!(rms[[100, 150]].is_nan() && mean[[100, 150]].is_nan());
    assert!(rms[[100, 130]].is_finite() && rms[[100, 130]] > 0.0);
}

#[test]
fn extended_complex_island_is_tiled_not_lost() {
    // overlapping blobs much larger than the beam: PyBDSF's 25-beam size flag
    // rejects a joint fit, the windowed fallback must represent the emission
    let mut img = correlated_noise(160, 160, BEAM, 17);
    let mut rng = crate::synth::Rng::new(99);
    for _ in 0..20 {
        let (x, y) = (
            80.0 + 50.0 * (rng.uniform() - 0.5),
            80.0 + 50.0 * (rng.uniform() - 0.5),
        );
        let size = 10.0 + 15.0 * rng.uniform();
        add_gaussian(
            &mut img,
            5.0 + 20.0 * rng.uniform(),
            x,
            y,
            size,
            size * 0.8,
            180.0 * rng.uniform(),
        );
    }
    let image = to_f32(&img, RMS);
    let opts = FindOptions::default();
    let det = find(image.view(), None, BEAM, &opts).expect("find");
    let big = det
        .islands
        .iter()
        .max_by_key(|i| i.npix)
        .expect("an island");
    assert!(
        big.npix as f64 > 25.0 * crate::background::beam_area_pix(BEAM),
        "{big:?}"
    );
    match &big.outcome {
        IslandOutcome::Fitted { gaussians } => {
            assert!(
                *gaussians >= 2 && *gaussians <= opts.max_gaussians_per_island,
                "{big:?}"
            )
        }
        IslandOutcome::Failed { reason } => panic!("{reason}"),
    }
}

/// A source far larger than the background boxes (sigma 60 pixels on 256 x 256,
/// 0.5 Jy/beam over white noise of 1e-4): every box's clipped rms measures the
/// source, not the noise. The background must fall back to the pixel-to-pixel
/// noise, the source must be found where it was put, with its flux, and the
/// finder must say what it did.
#[test]
fn source_filling_every_box_is_found_with_the_pixel_noise() {
    let beam = BeamPix {
        maj_fwhm_pix: 4.0,
        min_fwhm_pix: 4.0,
        pa_deg: 0.0,
    };
    let noise = 1e-4;
    let mut rng = crate::synth::Rng::new(36);
    let mut img = Array2::from_shape_fn((256, 256), |_| rng.normal());
    let (x0, y0, sigma, amp) = (128.0, 128.0, 60.0, 0.5);
    let fwhm = sigma * crate::errors::FWSIG;
    add_gaussian(&mut img, amp / noise, x0, y0, fwhm, fwhm, 0.0);
    let image = to_f32(&img, noise);
    // true total flux: amplitude x source area / beam area = A (fwhm / beam)^2
    let true_flux = amp * (fwhm / beam.maj_fwhm_pix).powi(2);
    for rms_box in [None, Some((256, 256))] {
        let opts = FindOptions {
            rms_box,
            ..FindOptions::default()
        };
        let det = find(image.view(), None, beam, &opts).expect("find");
        assert!(
            (det.median_rms / noise - 1.0).abs() < 0.1,
            "{rms_box:?}: median rms {} for noise {noise}",
            det.median_rms
        );
        assert!((det.pixel_noise / noise - 1.0).abs() < 0.1);
        assert!(
            det.warnings
                .iter()
                .any(|w| w.contains("emission fills every")),
            "{:?}",
            det.warnings
        );
        let brightest = det
            .sources
            .iter()
            .max_by(|a, b| a.total_flux.total_cmp(&b.total_flux))
            .unwrap_or_else(|| panic!("no source; islands {:?}", det.islands));
        let (x, y) = (brightest.x, brightest.y);
        assert!((x - x0).hypot(y - y0) < 2.0, "at ({x}, {y})");
        assert!(
            (brightest.total_flux / true_flux - 1.0).abs() < 0.05,
            "flux {} vs {true_flux}",
            brightest.total_flux
        );
    }
}

/// A source filling some boxes but not all, on beam-correlated noise: the
/// boxes it fills are replaced from their noise-only neighbours, so the rms
/// far from it is the true noise, the source is found with its flux, and a
/// warning counts the replaced boxes.
#[test]
fn boxes_filled_by_a_large_source_are_replaced_from_their_neighbours() {
    let (n, sigma, amp) = (400, 20.0, 2000.0); // amplitude in units of the rms
    let mut img = correlated_noise(n, n, BEAM, 7);
    let fwhm = sigma * crate::errors::FWSIG;
    let (x0, y0) = (100.0, 110.0);
    add_gaussian(&mut img, amp, x0, y0, fwhm, fwhm, 0.0);
    let image = to_f32(&img, RMS);
    let det = find(image.view(), None, BEAM, &FindOptions::default()).expect("find");
    assert!(
        det.warnings
            .iter()
            .any(|w| w.contains("background boxes measured emission")),
        "{:?}",
        det.warnings
    );
    assert!(
        (det.median_rms / RMS - 1.0).abs() < 0.1,
        "median rms {}",
        det.median_rms
    );
    let brightest = det
        .sources
        .iter()
        .max_by(|a, b| a.total_flux.total_cmp(&b.total_flux))
        .expect("the source is found");
    // total flux of the source convolved with nothing: A (fwhm^2) / beam area
    let true_flux = amp * RMS * fwhm * fwhm / (BEAM.maj_fwhm_pix * BEAM.min_fwhm_pix);
    assert!(
        (brightest.x - x0).hypot(brightest.y - y0) < 1.0,
        "at ({}, {})",
        brightest.x,
        brightest.y
    );
    assert!(
        (brightest.total_flux / true_flux - 1.0).abs() < 0.05,
        "flux {} vs {true_flux}",
        brightest.total_flux
    );
}
