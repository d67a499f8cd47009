//! `component-list IMAGE`: read the image (and optional rms map, tt1 or
//! alpha images), find and fit sources, write the Gaussian and source lists
//! (CSV, FITS), the ds9 regions and the JSON summary.

use crate::config::{finder_settings, FinderSettings};
use crate::inputs::{
    check_same_grid, default_prefix, file_name, header_cards_as_python, read_single_plane,
    PlaneImage,
};
use crate::outputs::{parse_formats, Format, OutputSet};
use crate::{install_thread_pool, Failure, OutputArgs};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vlass_capo::CapoArgs;
use vlass_cli::json::finite_or_null;
use vlass_sourcefind::catalog::alpha::SpectralIndexInput;
use vlass_sourcefind::catalog::table::{to_csv, to_fits};
use vlass_sourcefind::catalog::{self, ds9, CatalogInfo, ExtraInputs, ListKind};
use vlass_sourcefind::model::{BeamPix, Detection, IslandOutcome};
use vlass_sourcefind::FindOptions;

/// Arguments of the continuum mode.
#[derive(clap::Args, Debug, Clone)]
pub struct ContinuumArgs {
    /// Continuum image (QL or SE tt0; .fits or .fits.gz).
    #[arg(value_name = "IMAGE")]
    pub image: Option<PathBuf>,
    /// Use this rms image (e.g. the VLASS .rms.subim.fits) instead of computing one.
    #[arg(long, value_name = "FILE")]
    pub rms_map: Option<PathBuf>,
    /// Island boundary in rms above the local mean [default: 3].
    #[arg(long, value_name = "SIGMA")]
    pub thresh_isl: Option<f64>,
    /// Detection threshold: an island needs a pixel this many rms above the mean [default: 5].
    #[arg(long, value_name = "SIGMA")]
    pub thresh_pix: Option<f64>,
    /// Background box size and step in pixels, or `auto` [default: auto].
    #[arg(long, value_name = "SIZE,STEP")]
    pub rms_box: Option<String>,
    /// SE Taylor-term-1 image: Alpha = tt1/tt0 at each component.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["alpha", "alpha_error"])]
    pub tt1: Option<PathBuf>,
    /// SE spectral-index image: Alpha sampled at each component (needs --alpha-error).
    #[arg(long, value_name = "FILE", requires = "alpha_error")]
    pub alpha: Option<PathBuf>,
    /// SE spectral-index error image (needs --alpha).
    #[arg(long, value_name = "FILE", requires = "alpha")]
    pub alpha_error: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub capo: CapoArgs,
}

/// The auxiliary images of a run, read and checked against the detection image.
struct Auxiliary {
    rms: Option<PlaneImage>,
    tt1: Option<PlaneImage>,
    alpha: Option<(PlaneImage, PlaneImage)>,
}

fn read_auxiliary(args: &ContinuumArgs, main: &PlaneImage) -> Result<Auxiliary, Failure> {
    let read = |path: &Option<PathBuf>, role: &str| -> Result<Option<PlaneImage>, Failure> {
        let Some(path) = path else { return Ok(None) };
        let image = read_single_plane(path, role)?;
        check_same_grid(main, &image, role)?;
        Ok(Some(image))
    };
    let rms = read(&args.rms_map, "rms map")?;
    let tt1 = read(&args.tt1, "tt1 image")?;
    let alpha = match (
        read(&args.alpha, "alpha image")?,
        read(&args.alpha_error, "alpha error image")?,
    ) {
        (Some(a), Some(e)) => Some((a, e)),
        _ => None,
    };
    Ok(Auxiliary { rms, tt1, alpha })
}

/// The restoring beam in pixel units for the finder.
fn beam_in_pixels(main: &PlaneImage, beam: vlass_fits::Beam) -> BeamPix {
    let scale = main.wcs.pixel_scale_arcsec();
    let (ny, nx) = main.data.dim();
    let north = main
        .wcs
        .north_angle_deg((nx as f64 - 1.0) / 2.0, (ny as f64 - 1.0) / 2.0);
    BeamPix {
        maj_fwhm_pix: beam.bmaj_arcsec / scale,
        min_fwhm_pix: beam.bmin_arcsec / scale,
        pa_deg: beam.bpa_deg + north,
    }
}

fn parameter_lines(
    settings: &FinderSettings,
    args: &ContinuumArgs,
    alpha: Option<&str>,
) -> Vec<String> {
    let mut lines: Vec<String> = settings
        .described
        .iter()
        .map(|(k, v, origin)| format!("{k} = {v} ({origin})"))
        .collect();
    lines.push(match &args.rms_map {
        Some(p) => format!("rms map = {} (--rms-map)", file_name(p)),
        None => "rms map = computed (sigma-clipped boxes)".to_string(),
    });
    if let Some(a) = alpha {
        lines.push(format!("spectral index from {a}"));
    }
    lines
}

fn failures_json(det: &Detection) -> Vec<serde_json::Value> {
    det.islands
        .iter()
        .filter_map(|isl| match &isl.outcome {
            IslandOutcome::Failed { reason } => Some(json!({
                "isl_id": isl.isl_id,
                "npix": isl.npix,
                "bbox": [isl.bbox.0, isl.bbox.1, isl.bbox.2, isl.bbox.3],
                "peak_snr": finite_or_null(isl.peak_snr),
                "touches_edge": isl.touches_edge,
                "reason": reason,
            })),
            IslandOutcome::Fitted { .. } => None,
        })
        .collect()
}

/// `--dry-run`: the headers of the image and the auxiliary images are opened and checked
/// as a run checks them (one plane, a WCS, a beam; the same size as the image), the output
/// names planned; no pixel is read (the sky-position check of the grids is left to the run).
fn dry_run(
    args: &ContinuumArgs,
    image_path: &std::path::Path,
    prefix: &str,
    formats: &[Format],
) -> Result<(), Failure> {
    let out = OutputSet::planned(&args.output.output_dir, prefix)?;
    let open = |path: &std::path::Path, role: &str| -> Result<vlass_fits::Image, Failure> {
        let image = vlass_fits::Image::open(path)?;
        if image.plane_count() != 1 {
            return Err(Failure(format!(
                "{}: {role} has {} planes; continuum mode reads single-plane images \
(use `component-list cube` for cubes)",
                path.display(),
                image.plane_count()
            )));
        }
        image.wcs()?;
        Ok(image)
    };
    let main = open(image_path, "image")?;
    if main.planes()[0].beam.or_else(|| main.beam()).is_none() {
        return Err(Failure(format!(
            "{}: no restoring beam (BMAJ/BMIN/BPA)",
            image_path.display()
        )));
    }
    let mut reads = vec![image_path.to_path_buf()];
    for (path, role) in [
        (&args.rms_map, "rms map"),
        (&args.tt1, "tt1 image"),
        (&args.alpha, "alpha image"),
        (&args.alpha_error, "alpha error image"),
    ] {
        let Some(path) = path else { continue };
        let image = open(path, role)?;
        if (image.nx(), image.ny()) != (main.nx(), main.ny()) {
            return Err(Failure(format!(
                "{}: {role} is {}x{} pixels but the image {} is {}x{}",
                path.display(),
                image.nx(),
                image.ny(),
                image_path.display(),
                main.nx(),
                main.ny()
            )));
        }
        reads.push(path.clone());
    }
    let mut suffixes = Vec::new();
    for format in formats {
        suffixes.extend_from_slice(match format {
            Format::Csv => &[".gaul.csv", ".srl.csv"][..],
            Format::Fits => &[".gaul.fits", ".srl.fits"][..],
            Format::Ds9 => &[".reg"][..],
            Format::Json => &[".json"][..],
        });
    }
    crate::print_dry_run(&reads, &out, &suffixes);
    Ok(())
}

/// Runs the continuum mode.
pub fn run(args: &ContinuumArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let Some(settings) = finder_settings(
        &args.capo,
        args.thresh_isl,
        args.thresh_pix,
        args.rms_box.as_deref(),
    )?
    else {
        return Ok(());
    };
    let Some(image_path) = &args.image else {
        return Err(Failure("no IMAGE given (see --help)".into()));
    };
    let formats = parse_formats(
        args.output.format.as_deref(),
        &[Format::Csv, Format::Fits, Format::Ds9, Format::Json],
    )?;
    let prefix = args
        .output
        .prefix
        .clone()
        .unwrap_or_else(|| default_prefix(image_path));
    if args.output.dry_run {
        return dry_run(args, image_path, &prefix, &formats);
    }
    let threads = install_thread_pool(args.output.jobs)?;
    let mut out = OutputSet::new(&args.output.output_dir, &prefix)?;

    let main = read_single_plane(image_path, "image")?;
    let beam = main.image.planes()[0]
        .beam
        .or_else(|| main.image.beam())
        .ok_or_else(|| {
            Failure(format!(
                "{}: no restoring beam (BMAJ/BMIN/BPA)",
                image_path.display()
            ))
        })?;
    let aux = read_auxiliary(args, &main)?;
    let read_s = started.elapsed().as_secs_f64();

    let beam_pix = beam_in_pixels(&main, beam);
    let opts = FindOptions {
        thresh_isl: settings.thresh_isl,
        thresh_pix: settings.thresh_pix,
        rms_box: settings.rms_box,
        ..FindOptions::default()
    };
    let find_start = Instant::now();
    let detection = vlass_sourcefind::find(
        main.data.view(),
        aux.rms.as_ref().map(|r| r.data.view()),
        beam_pix,
        &opts,
    )
    .map_err(|e| Failure(format!("{}: {e}", image_path.display())))?;
    let find_s = find_start.elapsed().as_secs_f64();

    let catalogue_start = Instant::now();
    let spectral_index = match (&aux.tt1, &aux.alpha) {
        (Some(tt1), _) => Some(SpectralIndexInput::Taylor {
            tt0: main.data.view(),
            tt1: tt1.data.view(),
        }),
        (None, Some((alpha, error))) => Some(SpectralIndexInput::Maps {
            alpha: alpha.data.view(),
            alpha_error: error.data.view(),
        }),
        (None, None) => None,
    };
    let extra = ExtraInputs {
        image: main.data.view(),
        spectral_index,
    };
    let catalogs = catalog::build(&detection, &main.wcs, &extra);
    let header = main.image.header();
    let alpha_source = match (&args.tt1, &args.alpha) {
        (Some(p), _) => Some(format!("--tt1 {}", file_name(p))),
        (None, Some(p)) => Some(format!("--alpha {}", file_name(p))),
        _ => None,
    };
    let info = CatalogInfo {
        image_name: file_name(image_path),
        frequency_hz: main.image.planes()[0].frequency_hz.unwrap_or(f64::NAN),
        equinox: header.opt_f64("EQUINOX").unwrap_or(2000.0),
        radesys: header.opt_str("RADESYS"),
        beam_arcsec_deg: (beam.bmaj_arcsec, beam.bmin_arcsec, beam.bpa_deg),
        generator: format!(
            "Generated by component-list version {} (PyBDSF-compatible columns)",
            vlass_cli::long_version()
        ),
        parameters: parameter_lines(&settings, args, alpha_source.as_deref()),
        image_cards: header_cards_as_python(header),
    };
    let alpha_note = catalogs.alpha_note.as_deref();
    let gaul_header = catalog::header(&info, ListKind::Gaussians, alpha_note);
    let srl_header = catalog::header(&info, ListKind::Sources, alpha_note);
    let catalogue_s = catalogue_start.elapsed().as_secs_f64();

    let write_start = Instant::now();
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    for format in &formats {
        match format {
            Format::Csv => {
                files.push((
                    ".gaul.csv",
                    to_csv(&catalogs.gaul, &gaul_header).into_bytes(),
                ));
                files.push((".srl.csv", to_csv(&catalogs.srl, &srl_header).into_bytes()));
            }
            Format::Fits => {
                files.push((".gaul.fits", to_fits(&catalogs.gaul, &gaul_header)));
                files.push((".srl.fits", to_fits(&catalogs.srl, &srl_header)));
            }
            Format::Ds9 => {
                let frame = ds9::frame_name(info.radesys.as_deref(), info.equinox);
                files.push((
                    ".reg",
                    ds9::regions(&catalogs.srl, &prefix, frame).into_bytes(),
                ));
            }
            Format::Json => {}
        }
    }
    out.write_all(&files)?;
    let failed = failures_json(&detection);
    if formats.contains(&Format::Json) {
        let json_path = out.path(".json");
        let summary = json!({
            "tool": crate::TOOL,
            "version": vlass_cli::long_version(),
            "mode": "continuum",
            "image": image_path.display().to_string(),
            "rms_map": args.rms_map.as_ref().map(|p| p.display().to_string()),
            "spectral_index": alpha_source,
            "parameters": settings.described.iter().map(|(k, v, o)| json!({"key": k, "value": v, "origin": o})).collect::<Vec<_>>(),
            "beam": {"bmaj_arcsec": beam.bmaj_arcsec, "bmin_arcsec": beam.bmin_arcsec, "bpa_deg": beam.bpa_deg},
            "frequency_hz": finite_or_null(info.frequency_hz),
            "counts": {
                "islands": detection.islands.len(),
                "failed_islands": failed.len(),
                "gaussians": detection.gaussians.len(),
                "sources": detection.sources.len(),
            },
            "noise": {
                "median_rms_jy_per_beam": finite_or_null(detection.median_rms),
                "median_mean_jy_per_beam": finite_or_null(detection.median_mean),
                "pixel_noise_jy_per_beam": finite_or_null(detection.pixel_noise),
            },
            "warnings": &detection.warnings,
            "failed_islands": failed,
            "threads": threads,
            "timings_s": {
                "read": read_s,
                "find": find_s,
                "catalogue": catalogue_s,
                "write": write_start.elapsed().as_secs_f64(),
                "total": started.elapsed().as_secs_f64(),
            },
            "outputs": out.listing(std::slice::from_ref(&json_path)),
        });
        let bytes = vlass_cli::json::to_pretty_bytes(&summary)?;
        out.write(".json", &bytes)?;
    }

    println!(
        "{}: {}: {} islands ({} failed), {} Gaussians, {} sources; median rms {:.1} uJy/beam; {:.2} s",
        crate::TOOL,
        file_name(image_path),
        detection.islands.len(),
        failed.len(),
        detection.gaussians.len(),
        detection.sources.len(),
        detection.median_rms * 1e6,
        started.elapsed().as_secs_f64()
    );
    if detection.sources.is_empty() {
        println!(
            "{}: no sources found: the catalogues have 0 components",
            crate::TOOL
        );
    }
    for warning in &detection.warnings {
        vlass_cli::print_warning(
            crate::TOOL,
            &format!("{}: {warning}", file_name(image_path)),
        );
    }
    for island in failed.iter() {
        vlass_cli::print_warning(
            crate::TOOL,
            &format!(
                "{}: island {} not fitted: {}",
                file_name(image_path),
                island["isl_id"],
                island["reason"].as_str().unwrap_or("")
            ),
        );
    }
    for path in &out.written {
        println!("  wrote {}", path.display());
    }
    Ok(())
}
