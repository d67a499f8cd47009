//! `component-list cube --catalog CSV CUBE...`: the flux density of each
//! catalogue row in every plane of the cube file(s), read one plane at a
//! time; planes failing the rejection rules are left out (their columns are
//! NaN and the header and JSON say why); then a power-law fit per row.
//!
//! Columns appended to the catalogue, in PyBDSF's `incl_chan` order:
//! `Spec_Indx, E_Spec_Indx, Total_flux_ch1.., E_Total_flux_ch1.., Freq_ch1..`,
//! then our `N_planes_fit` (planes used by the fit). Channels are numbered
//! from 1 over the Stokes I planes of all files in the order given (the Q and
//! U planes of VLASS `IQU` cube files are skipped).

use crate::config::cube_settings;
use crate::inputs::{default_prefix, file_name};
use crate::outputs::{parse_formats, Format, OutputSet};
use crate::{install_thread_pool, Failure, OutputArgs};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vlass_capo::CapoArgs;
use vlass_cli::json::finite_or_null;
use vlass_fits::Image;
use vlass_imstats::median_and_robust_noise;
use vlass_qa::planes::{reject_planes, PlaneInput};
use vlass_sourcefind::catalog::read::{parse_csv, ReadCatalog};
use vlass_sourcefind::catalog::table::{to_csv, to_fits, TableHeader};
use vlass_sourcefind::cube::{
    fit_power_law, measure_plane, Component, Missing, PlaneFlux, SkyBeam,
};

/// Arguments of the cube mode.
#[derive(clap::Args, Debug, Clone)]
pub struct CubeArgs {
    /// Continuum catalogue (component-list or PyBDSF CSV: RA, DEC and, if present, DC_Maj, DC_Min, DC_PA).
    #[arg(long, value_name = "CSV")]
    pub catalog: Option<PathBuf>,
    /// Cube file(s): one multi-plane file or one file per spectral window.
    #[arg(value_name = "CUBE", num_args = 1..)]
    pub cubes: Vec<PathBuf>,
    /// Power-law reference frequency in Hz [default: the catalogue's reference frequency, else 3e9].
    #[arg(long, value_name = "HZ")]
    pub ref_freq: Option<f64>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub capo: CapoArgs,
}

/// Components whose deconvolved major axis is below this fraction of their
/// fitted major axis (an intrinsic size below about 0.58 beam) are measured
/// as point sources.
pub const UNRESOLVED_FRACTION: f64 = 0.5;

/// What is known about one plane besides the fluxes.
#[derive(Debug, Clone, Copy)]
struct PlaneSummary {
    frequency_hz: Option<f64>,
    beam: Option<SkyBeam>,
    blank_fraction: f64,
    /// Robust sigma (1.4826 MAD) of the finite pixels, Jy/beam (NaN if none).
    noise: f64,
}

impl PlaneSummary {
    fn rejection_input(&self) -> PlaneInput {
        PlaneInput {
            frequency_hz: self.frequency_hz,
            beam: self.beam.map(|b| (b.bmaj_arcsec, b.bmin_arcsec, b.bpa_deg)),
            robust_noise: self.noise.is_finite().then_some(self.noise),
            blank_fraction: self.blank_fraction,
        }
    }
}

/// One measured plane.
struct Plane {
    file: String,
    index: usize,
    summary: PlaneSummary,
    fluxes: Vec<PlaneFlux>,
    rejected: Option<String>,
}

fn components(catalog: &ReadCatalog, path: &str) -> Result<Vec<Component>, Failure> {
    let t = &catalog.table;
    let column = |name: &str| -> Option<Vec<f64>> {
        t.floats(name)
            .map(<[f64]>::to_vec)
            .or_else(|| t.ints(name).map(|v| v.iter().map(|&i| i as f64).collect()))
    };
    let (Some(ra), Some(dec)) = (column("RA"), column("DEC")) else {
        return Err(Failure(format!(
            "{path}: catalogue has no numeric RA and DEC columns"
        )));
    };
    let zeros = vec![0.0; ra.len()];
    let maj = column("DC_Maj").unwrap_or_else(|| zeros.clone());
    let min = column("DC_Min").unwrap_or_else(|| zeros.clone());
    let pa = column("DC_PA").unwrap_or_else(|| zeros.clone());
    let fitted = column("Maj").unwrap_or(zeros);
    Ok((0..ra.len())
        .map(|i| {
            // A fit cannot tell a source much smaller than the beam from imaging
            // errors; a spurious fraction-of-a-beam size would bias the flux per
            // plane by beam size, hence the spectral index: treat as a point.
            let resolved = maj[i] >= UNRESOLVED_FRACTION * fitted[i] && maj[i] > 0.0;
            let (maj, min) = if resolved {
                (maj[i], min[i])
            } else {
                (0.0, 0.0)
            };
            Component {
                ra_deg: ra[i],
                dec_deg: dec[i],
                maj_arcsec: maj * 3600.0,
                min_arcsec: min * 3600.0,
                pa_deg: pa[i],
            }
        })
        .collect())
}

fn measure_file(
    path: &std::path::Path,
    comps: &[Component],
    planes: &mut Vec<Plane>,
) -> Result<(), Failure> {
    let mut image = Image::open(path)?;
    let wcs = image.wcs()?;
    let infos = image.planes().to_vec();
    let fallback = image.beam();
    for info in infos {
        // Flux densities and spectral indices are of Stokes I; the Q/U planes of
        // VLASS IQU cube files are not read.
        if info.stokes.is_some_and(|s| s != 1) {
            continue;
        }
        let data = image.read_plane(info.index)?;
        let pixels = data.as_slice().unwrap_or(&[]);
        let finite = pixels.iter().filter(|v| v.is_finite()).count();
        let blank_fraction = 1.0 - finite as f64 / pixels.len().max(1) as f64;
        let noise = median_and_robust_noise(pixels).map_or(f64::NAN, |(_, sigma)| sigma);
        let beam = info.beam.or(fallback).map(|b| SkyBeam {
            bmaj_arcsec: b.bmaj_arcsec,
            bmin_arcsec: b.bmin_arcsec,
            bpa_deg: b.bpa_deg,
        });
        let summary = PlaneSummary {
            frequency_hz: info.frequency_hz,
            beam,
            blank_fraction,
            noise,
        };
        let (fluxes, rejected) = match (beam, info.frequency_hz) {
            (Some(beam), Some(_)) => (measure_plane(data.view(), &wcs, beam, comps), None),
            (None, _) => (Vec::new(), Some("no restoring beam".to_string())),
            (_, None) => (Vec::new(), Some("no frequency axis".to_string())),
        };
        planes.push(Plane {
            file: file_name(path),
            index: info.index,
            summary,
            fluxes,
            rejected,
        });
    }
    Ok(())
}

/// Runs the cube mode.
pub fn run(args: &CubeArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let Some(thresholds) = cube_settings(&args.capo)? else {
        return Ok(());
    };
    let Some(catalog_path) = &args.catalog else {
        return Err(Failure(
            "cube: --catalog CSV is required (see --help)".into(),
        ));
    };
    if args.cubes.is_empty() {
        return Err(Failure("cube: no CUBE file given (see --help)".into()));
    }
    let formats = parse_formats(
        args.output.format.as_deref(),
        &[Format::Csv, Format::Fits, Format::Json],
    )?;
    let catalog_name = catalog_path.display().to_string();
    let text = std::fs::read_to_string(catalog_path)
        .map_err(|e| Failure(format!("{catalog_name}: {e}")))?;
    let catalog = parse_csv(&text).map_err(|e| Failure(format!("{catalog_name}: {e}")))?;
    let comps = components(&catalog, &catalog_name)?;
    let prefix = args
        .output
        .prefix
        .clone()
        .unwrap_or_else(|| format!("{}.cube", default_prefix(&args.cubes[0])));
    if args.output.dry_run {
        // The cubes' headers open and hold a WCS, as measuring them needs; no pixel is read.
        let out = OutputSet::planned(&args.output.output_dir, &prefix)?;
        for path in &args.cubes {
            Image::open(path)?.wcs()?;
        }
        let mut reads = vec![catalog_path.clone()];
        reads.extend(args.cubes.iter().cloned());
        let suffixes: Vec<&str> = formats
            .iter()
            .filter_map(|f| match f {
                Format::Csv => Some(".csv"),
                Format::Fits => Some(".fits"),
                Format::Json => Some(".json"),
                Format::Ds9 => None,
            })
            .collect();
        crate::print_dry_run(&reads, &out, &suffixes);
        return Ok(());
    }
    let threads = install_thread_pool(args.output.jobs)?;
    let mut out = OutputSet::new(&args.output.output_dir, &prefix)?;

    let mut planes: Vec<Plane> = Vec::new();
    for path in &args.cubes {
        measure_file(path, &comps, &mut planes)?;
    }
    let inputs: Vec<PlaneInput> = planes.iter().map(|p| p.summary.rejection_input()).collect();
    for (plane, decision) in planes.iter_mut().zip(reject_planes(&inputs, &thresholds)) {
        if plane.rejected.is_none() && decision.rejected {
            let reasons: Vec<String> = decision.reasons.iter().map(|r| r.message.clone()).collect();
            plane.rejected = Some(reasons.join("; "));
        }
    }
    let inside = |i: usize| {
        planes.iter().any(|p| {
            p.fluxes
                .get(i)
                .is_some_and(|f| f.missing != Some(Missing::OutsideFootprint))
        })
    };
    let inside_count = (0..comps.len()).filter(|&i| inside(i)).count();
    if !comps.is_empty() && inside_count == 0 {
        return Err(Failure(format!(
            "{catalog_name}: no catalogue component lies inside the footprint of {}",
            args.cubes
                .iter()
                .map(|p| file_name(p))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if planes.iter().all(|p| p.rejected.is_some()) {
        return Err(Failure(format!(
            "{}: every plane is rejected ({})",
            args.cubes[0].display(),
            planes
                .iter()
                .filter_map(|p| p.rejected.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }

    let f0 = args
        .ref_freq
        .or_else(|| catalog.reference_frequency_hz())
        .unwrap_or(3e9);
    let value = |p: &Plane, i: usize| -> PlaneFlux {
        match (&p.rejected, p.fluxes.get(i)) {
            (None, Some(f)) => *f,
            _ => PlaneFlux {
                flux_jy: f64::NAN,
                error_jy: f64::NAN,
                local_rms: f64::NAN,
                missing: None,
            },
        }
    };
    let fits: Vec<_> = (0..comps.len())
        .map(|i| {
            let points: Vec<(f64, f64, f64)> = planes
                .iter()
                .filter(|p| p.rejected.is_none())
                .map(|p| {
                    let f = value(p, i);
                    (
                        p.summary.frequency_hz.unwrap_or(f64::NAN),
                        f.flux_jy,
                        f.error_jy,
                    )
                })
                .collect();
            fit_power_law(&points, f0)
        })
        .collect();

    let mut table = catalog.table.clone();
    table.push_float(
        "Spec_Indx",
        "",
        fits.iter()
            .map(|f| f.map_or(f64::NAN, |f| f.alpha))
            .collect(),
    );
    table.push_float(
        "E_Spec_Indx",
        "",
        fits.iter()
            .map(|f| f.map_or(f64::NAN, |f| f.e_alpha))
            .collect(),
    );
    for (k, p) in planes.iter().enumerate() {
        let column: Vec<f64> = (0..comps.len()).map(|i| value(p, i).flux_jy).collect();
        table.push_float(&format!("Total_flux_ch{}", k + 1), "Jy", column);
    }
    for (k, p) in planes.iter().enumerate() {
        let column: Vec<f64> = (0..comps.len()).map(|i| value(p, i).error_jy).collect();
        table.push_float(&format!("E_Total_flux_ch{}", k + 1), "Jy", column);
    }
    for (k, p) in planes.iter().enumerate() {
        let freq = p.summary.frequency_hz.unwrap_or(f64::NAN);
        table.push_float(&format!("Freq_ch{}", k + 1), "Hz", vec![freq; comps.len()]);
    }
    table.push_int(
        "N_planes_fit",
        fits.iter()
            .map(|f| f.map_or(0, |f| f.n_planes as i64))
            .collect(),
    );

    let plane_lines: Vec<String> = planes
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let beam = p.summary.beam.map_or("no beam".to_string(), |b| {
                format!(
                    "beam {:.2}\" x {:.2}\" PA {:.1}",
                    b.bmaj_arcsec, b.bmin_arcsec, b.bpa_deg
                )
            });
            format!(
                "ch{}: {} plane {}, {:.4} GHz, {beam}, noise {:.1} uJy/beam, blank {:.3}: {}",
                k + 1,
                p.file,
                p.index,
                p.summary.frequency_hz.unwrap_or(f64::NAN) / 1e9,
                p.summary.noise * 1e6,
                p.summary.blank_fraction,
                p.rejected
                    .as_ref()
                    .map_or("used".to_string(), |r| format!("REJECTED, {r}"))
            )
        })
        .collect();
    let mut notes: Vec<String> = catalog.comments.iter().skip(4).cloned().collect();
    notes.push(format!(
        "Coarse-cube fluxes from {} (fixed position and intrinsic shape convolved with each plane's beam)",
        args.cubes.iter().map(|p| file_name(p)).collect::<Vec<_>>().join(", ")
    ));
    notes.push(format!(
        "Spec_Indx: weighted power-law fit S = S0 (f / {:.6e} Hz)^Spec_Indx over the used planes; E_Spec_Indx widened by sqrt(chi2/dof) when above 1",
        f0
    ));
    notes.extend(plane_lines.iter().cloned());
    let title = catalog
        .comments
        .first()
        .cloned()
        .unwrap_or_else(|| format!("Catalogue {}", file_name(catalog_path)));
    let header = TableHeader {
        title: format!("{title} with coarse-cube fluxes"),
        generator: format!(
            "Generated by component-list cube version {}",
            vlass_cli::long_version()
        ),
        frequency_hz: catalog.reference_frequency_hz().unwrap_or(f64::NAN),
        equinox: 2000.0,
        image_name: file_name(&args.cubes[0]),
        notes,
        image_cards: Vec::new(),
    };
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    for format in &formats {
        match format {
            Format::Csv => files.push((".csv", to_csv(&table, &header).into_bytes())),
            Format::Fits => files.push((".fits", to_fits(&table, &header))),
            _ => {}
        }
    }
    out.write_all(&files)?;
    let fitted = fits.iter().filter(|f| f.is_some()).count();
    if formats.contains(&Format::Json) {
        let json_path = out.path(".json");
        let summary = json!({
            "tool": crate::TOOL,
            "version": vlass_cli::long_version(),
            "mode": "cube",
            "catalog": catalog_name,
            "cubes": args.cubes.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "reference_frequency_hz": f0,
            "counts": {
                "components": comps.len(),
                "inside_footprint": inside_count,
                "with_spectral_index": fitted,
                "planes": planes.len(),
                "planes_used": planes.iter().filter(|p| p.rejected.is_none()).count(),
            },
            "planes": planes.iter().enumerate().map(|(k, p)| json!({
                "channel": k + 1,
                "file": p.file,
                "plane": p.index,
                "frequency_hz": p.summary.frequency_hz,
                "beam": p.summary.beam.map(|b| json!({"bmaj_arcsec": b.bmaj_arcsec, "bmin_arcsec": b.bmin_arcsec, "bpa_deg": b.bpa_deg})),
                "noise_jy_per_beam": finite_or_null(p.summary.noise),
                "blank_fraction": p.summary.blank_fraction,
                "rejected": p.rejected,
            })).collect::<Vec<_>>(),
            "threads": threads,
            "timings_s": {"total": started.elapsed().as_secs_f64()},
            "outputs": out.listing(std::slice::from_ref(&json_path)),
        });
        out.write(".json", &vlass_cli::json::to_pretty_bytes(&summary)?)?;
    }
    println!(
        "{}: {}: {} components ({} inside the cube), {} with a spectral index; {} of {} planes used; {:.2} s",
        crate::TOOL,
        file_name(catalog_path),
        comps.len(),
        inside_count,
        fitted,
        planes.iter().filter(|p| p.rejected.is_none()).count(),
        planes.len(),
        started.elapsed().as_secs_f64()
    );
    for line in plane_lines.iter().filter(|l| l.contains("REJECTED")) {
        println!("  {line}");
    }
    for path in &out.written {
        println!("  wrote {}", path.display());
    }
    Ok(())
}
