//! Accuracy and speed check of the finder against a list of true sources:
//! `cargo run --release -p vlass-sourcefind --example evaluate -- IMAGE TRUTH.csv [--rms RMS] [--jobs N]`.
//!
//! Matches every true source (`id,ra_deg,dec_deg,flux_jy,...,shape,maj_arcsec,min_arcsec,pa_deg`)
//! to the nearest found source within 2", and prints completeness in true-S/N bins
//! (S/N = true flux / local rms) and in expected-peak-S/N bins, false detections (apart
//! from those within 60" of the brightest true source), the flux ratio and position error of
//! S/N > 10 point sources, fitted vs true sizes of resolved ones, and the time taken.

use std::path::Path;
use std::time::Instant;

use vlass_sourcefind::model::BeamPix;
use vlass_sourcefind::{find, FindOptions};

struct Truth {
    id: u32,
    ra: f64,
    dec: f64,
    flux: f64,
    gaussian: bool,
    maj: f64,
    min: f64,
    pa: f64,
}

fn read_truth(path: &str) -> Result<Vec<Truth>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| -> Result<f64, String> {
            f.get(i)
                .ok_or_else(|| format!("{path}: short line {line}"))?
                .parse::<f64>()
                .map_err(|e| format!("{path}: {e} in {line}"))
        };
        out.push(Truth {
            id: num(0)? as u32,
            ra: num(1)?,
            dec: num(2)?,
            flux: num(3)?,
            gaussian: f.get(6) == Some(&"gaussian"),
            maj: num(7)?,
            min: num(8)?,
            pa: num(9)?,
        });
    }
    Ok(out)
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// CPU seconds used by this process so far (Linux /proc; NaN elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut positional, mut rms_path, mut jobs) = (Vec::new(), None, 0usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rms" => rms_path = it.next().cloned(),
            "--jobs" => jobs = it.next().and_then(|j| j.parse().ok()).unwrap_or(0),
            _ => positional.push(a.clone()),
        }
    }
    let [image_path, truth_path] = positional.as_slice() else {
        return Err("usage: evaluate IMAGE TRUTH.csv [--rms RMS] [--jobs N]".into());
    };
    let t0 = Instant::now();
    let mut image = vlass_fits::Image::open(Path::new(image_path)).map_err(|e| e.to_string())?;
    let data = image.read_plane(0).map_err(|e| e.to_string())?;
    let wcs = image.wcs().map_err(|e| e.to_string())?;
    let beam = image.beam().ok_or("image has no beam")?;
    let scale = wcs.pixel_scale_arcsec();
    let beam_pix = BeamPix {
        maj_fwhm_pix: beam.bmaj_arcsec / scale,
        min_fwhm_pix: beam.bmin_arcsec / scale,
        pa_deg: beam.bpa_deg
            - wcs.north_angle_deg(data.dim().1 as f64 / 2.0, data.dim().0 as f64 / 2.0),
    };
    let rms = match &rms_path {
        Some(p) => {
            let mut r = vlass_fits::Image::open(Path::new(p)).map_err(|e| e.to_string())?;
            Some(r.read_plane(0).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let t_read = t0.elapsed();
    let opts = FindOptions::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| e.to_string())?;
    let t1 = Instant::now();
    let c1 = cpu_seconds();
    let det = pool
        .install(|| find(data.view(), rms.as_ref().map(|r| r.view()), beam_pix, &opts))
        .map_err(|e| e.to_string())?;
    let t_find = t1.elapsed();
    let cpu_find = cpu_seconds() - c1;
    let c2 = cpu_seconds();
    let bg =
        vlass_sourcefind::background(data.view(), beam_pix, &opts).map_err(|e| e.to_string())?;
    let cpu_background = cpu_seconds() - c2;
    let truth = read_truth(truth_path)?;
    let failed = det
        .islands
        .iter()
        .filter(|i| {
            matches!(
                i.outcome,
                vlass_sourcefind::model::IslandOutcome::Failed { .. }
            )
        })
        .count();
    println!(
        "{image_path}\n  beam {:.2} x {:.2} px, box {} step {}, median rms {:.1} uJy; {} islands ({failed} failed), {} Gaussians, {} sources; read {:.2}s, find {:.2}s (CPU {:.2}s, of which background {:.2}s)",
        beam_pix.maj_fwhm_pix,
        beam_pix.min_fwhm_pix,
        bg.box_size,
        bg.step,
        det.median_rms * 1e6,
        det.islands.len(),
        det.gaussians.len(),
        det.sources.len(),
        t_read.as_secs_f64(),
        t_find.as_secs_f64(),
        cpu_find,
        cpu_background
    );
    let match_radius = 2.0 / scale;
    let bright = truth
        .iter()
        .max_by(|a, b| a.flux.total_cmp(&b.flux))
        .ok_or("empty truth list")?;
    let bright_px = wcs
        .world_to_pixel(bright.ra, bright.dec)
        .ok_or("bright source off the sky")?;
    let bins = [0.0, 5.0, 7.0, 10.0, 20.0, f64::INFINITY];
    let mut found_by_bin = [[0usize; 2]; 5];
    let mut found_by_peak_bin = [[0usize; 2]; 5];
    let mut matched_sources = vec![false; det.sources.len()];
    let (mut ratios, mut pos2, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let (ny, nx) = data.dim();
    for isl in &det.islands {
        if let vlass_sourcefind::model::IslandOutcome::Failed { reason } = &isl.outcome {
            println!(
                "  island {} ({} px, bbox {:?}, peak S/N {:.1}) failed: {reason}",
                isl.isl_id, isl.npix, isl.bbox, isl.peak_snr
            );
        }
    }
    println!(
        "  id  flux(mJy)  S/N  peakS/N  found  ratio  dpos(\")  peak_ratio  fit maj x min (\")"
    );
    for t in &truth {
        let Some((x, y)) = wcs.world_to_pixel(t.ra, t.dec) else {
            continue;
        };
        if x < 0.0 || y < 0.0 || x > nx as f64 - 1.0 || y > ny as f64 - 1.0 {
            continue;
        }
        if !data[[y.round() as usize, x.round() as usize]].is_finite() {
            continue;
        }
        let rms_here = bg.rms_at(x, y);
        let snr = t.flux / rms_here;
        let (bmaj, bmin) = (beam.bmaj_arcsec, beam.bmin_arcsec);
        let peak_snr = if t.gaussian {
            snr * bmaj * bmin
                / ((bmaj * bmaj + t.maj * t.maj).sqrt() * (bmin * bmin + t.min * t.min).sqrt())
        } else {
            snr
        };
        let best = det
            .sources
            .iter()
            .enumerate()
            .map(|(k, s)| (k, ((s.x - x).powi(2) + (s.y - y).powi(2)).sqrt()))
            .filter(|(_, d)| *d <= match_radius)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let bin = bins
            .windows(2)
            .position(|w| snr >= w[0] && snr < w[1])
            .unwrap_or(4);
        let pbin = bins
            .windows(2)
            .position(|w| peak_snr >= w[0] && peak_snr < w[1])
            .unwrap_or(4);
        found_by_bin[bin][1] += 1;
        found_by_peak_bin[pbin][1] += 1;
        let (mut ratio, mut dpos, mut peak_ratio, mut fit_size) =
            (f64::NAN, f64::NAN, f64::NAN, (f64::NAN, f64::NAN));
        if let Some((k, d)) = best {
            matched_sources[k] = true;
            found_by_bin[bin][0] += 1;
            found_by_peak_bin[pbin][0] += 1;
            let s = &det.sources[k];
            ratio = s.total_flux / t.flux;
            peak_ratio = s.peak_flux / (peak_snr * rms_here);
            fit_size = (s.shape.maj_fwhm_pix * scale, s.shape.min_fwhm_pix * scale);
            dpos = d * scale;
            if snr > 10.0 && !t.gaussian && t.id != bright.id {
                ratios.push(ratio);
            }
            if snr > 10.0 {
                pos2.push(dpos * dpos);
            }
            if t.gaussian {
                sizes.push((
                    t.id,
                    t.maj,
                    t.min,
                    t.pa,
                    s.deconvolved.maj_fwhm_pix * scale,
                    s.deconvolved.min_fwhm_pix * scale,
                    s.deconvolved.pa_deg + wcs.north_angle_deg(s.x, s.y),
                    snr,
                ));
            }
        }
        println!(
            "  {:>2} {:>9.3} {:>5.1} {:>7.1}  {:>5} {:>6.3} {:>6.2} {:>8.3}  {:.2} x {:.2}",
            t.id,
            t.flux * 1e3,
            snr,
            peak_snr,
            if best.is_some() { "yes" } else { "NO" },
            ratio,
            dpos,
            peak_ratio,
            fit_size.0,
            fit_size.1
        );
    }
    let names = ["<5", "5-7", "7-10", "10-20", ">20"];
    let line = |b: &[[usize; 2]; 5]| {
        names
            .iter()
            .zip(b)
            .map(|(n, c)| format!("{n}: {}/{}", c[0], c[1]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("  completeness by S/N       {}", line(&found_by_bin));
    println!("  completeness by peak S/N  {}", line(&found_by_peak_bin));
    let near_bright = 60.0 / scale;
    let (mut false_far, mut false_near) = (0, 0);
    for (s, matched) in det.sources.iter().zip(&matched_sources) {
        if *matched {
            continue;
        }
        if ((s.x - bright_px.0).powi(2) + (s.y - bright_px.1).powi(2)).sqrt() <= near_bright {
            false_near += 1;
        } else {
            false_far += 1;
            println!(
                "  unmatched source {} at ({:.1}, {:.1}): peak {:.2} mJy/beam, {} Gaussian(s), {:.2} x {:.2} px",
                s.source_id,
                s.x,
                s.y,
                s.peak_flux * 1e3,
                s.gaussians.len(),
                s.shape.maj_fwhm_pix,
                s.shape.min_fwhm_pix
            );
            for g in det.gaussians.iter().filter(|g| g.isl_id == s.isl_id) {
                println!(
                    "    island {} Gaussian {} at ({:.1}, {:.1}) peak {:.2} mJy/beam = {:.1} x isl rms, {:.2} x {:.2} px, code {}",
                    g.isl_id, g.gaus_id, g.x, g.y, g.peak_flux * 1e3, g.peak_flux / g.isl_rms, g.shape.maj_fwhm_pix, g.shape.min_fwhm_pix, g.s_code.letter()
                );
            }
        }
    }
    println!(
        "  false detections: {false_far} (plus {false_near} within 60\" of the bright source)"
    );
    let n = ratios.len();
    let med = median(&mut ratios.clone());
    let mut dev: Vec<f64> = ratios.iter().map(|r| (r - med).abs()).collect();
    println!(
        "  S/N>10 points: {n}, flux ratio median {med:.4}, scatter (1.4826 MAD) {:.4}",
        1.4826 * median(&mut dev)
    );
    println!(
        "  S/N>10 position rms {:.3}\" over {}",
        (pos2.iter().sum::<f64>() / pos2.len().max(1) as f64).sqrt(),
        pos2.len()
    );
    for (id, tmaj, tmin, tpa, fmaj, fmin, fpa, snr) in sizes {
        println!(
            "  resolved {id}: true {tmaj:.2}x{tmin:.2}\" PA {tpa:.0}, deconvolved {fmaj:.2}x{fmin:.2}\" PA {fpa:.0} (S/N {snr:.1})"
        );
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("evaluate: {e}");
        std::process::exit(2);
    }
}
