//! Measuring one FITS file: each plane is read once (a plane is the unit of memory),
//! its exact statistics computed, the peak converted to sky coordinates, and optionally a
//! PNG preview written while the plane is in memory. Name/header disagreements are
//! collected as warnings, never silently resolved.

use crate::metrics::{finite, BeamMetric, Metrics};
use crate::preview::{write_preview, PreviewOptions};
use crate::verdict::{Reason, Status};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vlass_fits::{Beam, FitsError, Image};
use vlass_imstats::{plane_stats, plane_stats_of, Decoded, Moments, PlaneStats};
use vlass_products::{ImageType, Kind, ProductName};

/// One measured plane.
#[derive(Debug, Clone)]
pub struct PlaneMeasure {
    /// 0-based plane number.
    pub index: usize,
    /// Plane frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// FITS Stokes code.
    pub stokes: Option<i32>,
    /// Restoring beam of the plane.
    pub beam: Option<Beam>,
    /// The statistics behind `metrics` (for exact merging over planes).
    pub stats: PlaneStats,
    /// Metrics as reported.
    pub metrics: Metrics,
}

/// One measured file.
#[derive(Debug, Clone)]
pub struct FileMeasure {
    /// The file.
    pub path: PathBuf,
    /// Columns, rows.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// Every plane, in order.
    pub planes: Vec<PlaneMeasure>,
    /// Header beam (BMAJ/BMIN/BPA), if present.
    pub header_beam: Option<Beam>,
    /// Pixel scale from the WCS, arcsec.
    pub pixel_arcsec: Option<f64>,
    /// Why the WCS could not be read, if it could not.
    pub wcs_error: Option<String>,
    /// `SPW` header keyword, if present.
    pub header_spw: Option<String>,
    /// Name/header disagreements and preview problems (warnings).
    pub warnings: Vec<Reason>,
    /// Previews written.
    pub previews: Vec<PathBuf>,
}

/// Where and how to write previews.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    /// Output directory.
    pub dir: PathBuf,
    /// Sub-directory of `dir` for the previews of an input, by input path (annotate-qa
    /// mirrors each input's place under its PATH argument); an input not listed writes
    /// into `dir` itself.
    pub subdirs: BTreeMap<PathBuf, PathBuf>,
    /// Preview options.
    pub options: PreviewOptions,
}

impl PreviewRequest {
    /// The directory the previews of the input `path` are written to.
    pub fn dir_for(&self, path: &Path) -> PathBuf {
        match self.subdirs.get(path) {
            Some(sub) => self.dir.join(sub),
            None => self.dir.clone(),
        }
    }
}

fn beam_metric(beam: Option<Beam>, pixel_arcsec: Option<f64>) -> Option<BeamMetric> {
    beam.map(|b| BeamMetric::new(b.bmaj_arcsec, b.bmin_arcsec, b.bpa_deg, pixel_arcsec))
}

/// File name of the preview of `plane` of `path` (`<file>.png`, or `<file>.plane<k>.png`).
pub fn preview_name(path: &Path, plane: usize, planes: usize) -> String {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    if planes > 1 {
        format!("{base}.plane{plane}.png")
    } else {
        format!("{base}.png")
    }
}

/// Measures every plane of the file at `path`.
pub fn measure_file(
    path: &Path,
    name: Option<&ProductName>,
    preview: Option<&PreviewRequest>,
) -> Result<FileMeasure, FitsError> {
    let mut image = Image::open(path)?;
    let (wcs, wcs_error) = match image.wcs() {
        Ok(w) => (Some(w), None),
        Err(e) => (
            None,
            Some(match e.keyword_name() {
                Some(key) => format!("keyword {key}: {}", e.problem()),
                None => e.problem().to_string(),
            }),
        ),
    };
    let pixel_arcsec = wcs
        .as_ref()
        .map(|w| w.pixel_scale_arcsec())
        .and_then(finite);
    let infos = image.planes().to_vec();
    let header_beam = image.beam();
    let header_spw = image
        .header()
        .opt_str("SPW")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut out = FileMeasure {
        path: path.to_path_buf(),
        nx: image.nx(),
        ny: image.ny(),
        planes: Vec::with_capacity(infos.len()),
        header_beam,
        pixel_arcsec,
        wcs_error: wcs_error.clone(),
        header_spw,
        warnings: Vec::new(),
        previews: Vec::new(),
    };
    if let Some(name) = name {
        out.warnings
            .extend(name_header_checks(name, &image, pixel_arcsec));
    }
    let peak_sky = |x: usize, y: usize| -> Result<(f64, f64), String> {
        match &wcs {
            Some(w) => w
                .pixel_to_world(x as f64, y as f64)
                .ok_or_else(|| "peak pixel outside the projection".to_string()),
            None => Err(format!(
                "no WCS: {}",
                wcs_error.as_deref().unwrap_or("unknown")
            )),
        }
    };
    for info in &infos {
        // Without a preview the pixels are only needed by the statistics, which can decode
        // a mapped plane chunk by chunk instead of reading it into memory.
        let mapped = match preview {
            Some(_) => None,
            None => image.map_plane(info.index)?,
        };
        let (stats, plane) = match mapped {
            Some(m) => {
                let pixels = Decoded::new(m.len(), |start, out: &mut [f32]| m.decode(start, out));
                (plane_stats_of(&pixels, m.nx()), None)
            }
            None => {
                let plane = image.read_plane(info.index)?;
                let nx = plane.ncols();
                let stats = match plane.as_slice() {
                    Some(pixels) => plane_stats(pixels, nx),
                    None => plane_stats(&plane.iter().copied().collect::<Vec<f32>>(), nx),
                };
                (stats, Some(plane))
            }
        };
        let stats =
            stats.map_err(|e| FitsError::hdu(path, 0, format!("plane {}: {e}", info.index)))?;
        let mut metrics = Metrics::from_stats(&stats, &peak_sky);
        metrics.beam = beam_metric(info.beam, pixel_arcsec);
        if metrics.beam.is_none() {
            metrics.set_null_reason(
                "beam",
                "no BMAJ/BMIN/BPA in the header and no BEAMS table row",
            );
        }
        if let (Some(req), Some(plane)) = (preview, &plane) {
            let target = req
                .dir_for(path)
                .join(preview_name(path, info.index, infos.len()));
            let peak = stats.peak.map(|p| (p.x, p.y));
            match write_preview(plane.view(), peak, &target, &req.options) {
                Ok(()) => out.previews.push(target),
                Err(e) => out.warnings.push(Reason::plain(
                    "preview_failed",
                    Status::Warn,
                    format!("preview not written: {e}"),
                )),
            }
        }
        out.planes.push(PlaneMeasure {
            index: info.index,
            frequency_hz: info.frequency_hz,
            stokes: info.stokes,
            beam: info.beam,
            stats,
            metrics,
        });
    }
    Ok(out)
}

/// The alpha values at the pixels where `tt0 / tt0_noise > snr_min` (same-shape planes).
pub fn alpha_where_bright(alpha: &[f32], tt0: &[f32], tt0_noise: f64, snr_min: f64) -> Vec<f32> {
    alpha
        .iter()
        .zip(tt0)
        .filter(|(a, t)| a.is_finite() && t.is_finite() && (**t as f64) / tt0_noise > snr_min)
        .map(|(a, _)| *a)
        .collect()
}

/// Reads plane 0 of `path` as a flat row-major buffer.
pub fn read_first_plane(path: &Path) -> Result<(Vec<f32>, usize, usize), FitsError> {
    let mut image = Image::open(path)?;
    let plane = image.read_plane(0)?;
    let (ny, nx) = plane.dim();
    Ok((plane.into_raw_vec_and_offset().0, nx, ny))
}

/// Merged metrics over a subset of planes: exact count/min/max/mean/std/peak; the median
/// and robust noise of a multi-plane set are the median of the planes' values (documented).
pub fn aggregate_planes(planes: &[&PlaneMeasure], nx: usize) -> Metrics {
    let mut moments = Moments::default();
    let mut total = 0usize;
    let mut best: Option<&PlaneMeasure> = None;
    for p in planes {
        let s = &p.stats;
        total += s.total_pixels;
        if let (Some(min), Some(max), Some(mean), Some(std), Some(peak)) =
            (s.min, s.max, s.mean, s.std, s.peak)
        {
            moments = moments.merge(Moments {
                count: s.finite_pixels,
                min,
                max,
                mean,
                m2: std * std * s.finite_pixels as f64,
                max_index: peak.y * nx + peak.x,
            });
            if best.map_or(true, |b| b.stats.peak.map(|q| q.value) < Some(peak.value)) {
                best = Some(p);
            }
        }
    }
    if planes.len() == 1 {
        return planes[0].metrics.clone();
    }
    let of = |f: fn(&PlaneStats) -> Option<f64>| -> Vec<f32> {
        planes
            .iter()
            .filter_map(|p| f(&p.stats))
            .map(|v| v as f32)
            .collect()
    };
    let median_of = |values: Vec<f32>| vlass_imstats::median_and_robust_noise(&values).map(|m| m.0);
    let mut m = Metrics {
        pixels: moments.count,
        total_pixels: total,
        finite_fraction: if total > 0 {
            moments.count as f64 / total as f64
        } else {
            0.0
        },
        ..Metrics::default()
    };
    if moments.count == 0 {
        m.set_statistics_null("no finite pixel in the planes used");
        return m;
    }
    m.min = Some(moments.min);
    m.max = Some(moments.max);
    m.mean = Some(moments.mean);
    m.std = moments.std();
    m.median = median_of(of(|s| s.median));
    m.robust_noise = median_of(of(|s| s.robust_noise));
    if let Some(b) = best {
        m.peak = b.metrics.peak.clone();
    }
    m.dynamic_range = match (m.peak.as_ref(), m.robust_noise) {
        (Some(p), Some(n)) if n > 0.0 => finite(p.value / n),
        _ => {
            m.set_null_reason("dynamic_range", "robust noise is zero or unknown");
            None
        }
    };
    m.set_null_reason("beam", "per-plane beams: see planes");
    m
}

/// Warnings where the name and the header disagree.
fn name_header_checks(name: &ProductName, image: &Image, pixel_arcsec: Option<f64>) -> Vec<Reason> {
    let mut out = Vec::new();
    let header = image.header();
    if let Some(pt) = header.opt_str("VLASSPT") {
        if Kind::from_vlasspt(&pt) != Some(name.kind) {
            out.push(Reason {
                rule: "name_header_kind".into(),
                severity: Status::Warn,
                message: format!(
                    "name says {} but VLASSPT = '{}'",
                    name.kind.code(),
                    pt.trim()
                ),
                value: serde_json::json!(pt.trim()),
                threshold: serde_json::json!(name.kind.code()),
                file: None,
            });
        }
    }
    let expected_type = crate::keywords::vlass_image_type(name);
    if let (Some(ity), Some(want)) = (header.opt_str("VLASSITY"), expected_type) {
        if !ity.trim().eq_ignore_ascii_case(want) {
            out.push(Reason {
                rule: "name_header_type".into(),
                severity: Status::Warn,
                message: format!("name says {want} but VLASSITY = '{}'", ity.trim()),
                value: serde_json::json!(ity.trim()),
                threshold: serde_json::json!(want),
                file: None,
            });
        }
    }
    if let Some(scale) = pixel_arcsec {
        let expected = name.cell_arcsec;
        if expected > 0.0 && (scale / expected - 1.0).abs() > 0.01 {
            out.push(Reason::numeric(
                "name_header_cell",
                Status::Warn,
                format!("pixel scale {scale:.4}\" differs from the name's cell {expected}\""),
                scale,
                expected,
            ));
        }
    }
    if matches!(name.kind, Kind::QuickLook | Kind::SingleEpoch) && image.plane_count() > 1 {
        out.push(Reason::numeric(
            "name_header_planes",
            Status::Warn,
            format!(
                "a {} continuum image should have one plane, this one has {}",
                name.kind.code(),
                image.plane_count()
            ),
            image.plane_count() as f64,
            1.0,
        ));
    }
    let intensity_like = matches!(
        name.image_type,
        ImageType::Tt0
            | ImageType::Tt1
            | ImageType::Tt0Rms
            | ImageType::Tt1Rms
            | ImageType::Image
            | ImageType::ImageRms
    );
    let bunit = image.bunit().unwrap_or_default();
    if intensity_like && !bunit.to_ascii_lowercase().contains("jy/beam") {
        out.push(Reason {
            rule: "name_header_bunit".into(),
            severity: Status::Warn,
            message: format!(
                "a {} image should be in Jy/beam, BUNIT = '{bunit}'",
                name.image_type
            ),
            value: serde_json::json!(bunit),
            threshold: serde_json::json!("Jy/beam"),
            file: None,
        });
    }
    let stokes_code = |s: &str| match s {
        "I" => Some(1),
        "Q" => Some(2),
        "U" => Some(3),
        "V" => Some(4),
        _ => None,
    };
    if let Some(want) = stokes_code(&name.stokes) {
        let codes: Vec<i32> = image.planes().iter().filter_map(|p| p.stokes).collect();
        if !codes.is_empty() && codes.iter().any(|c| *c != want) {
            out.push(Reason::numeric(
                "name_header_stokes",
                Status::Warn,
                format!(
                    "name says Stokes {} but the header's STOKES axis has codes {codes:?}",
                    name.stokes
                ),
                codes[0] as f64,
                want as f64,
            ));
        }
    }
    out
}
