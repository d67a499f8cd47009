//! From file paths to the QA report: group files into products by VLASS name, measure each
//! product (in parallel, results in input order), reject coarse-cube planes, apply the
//! rules and assemble the versioned JSON document.

use crate::measure::{aggregate_planes, alpha_where_bright, measure_file, read_first_plane};
use crate::measure::{FileMeasure, PreviewRequest};
use crate::metrics::{AlphaMetric, Metrics};
use crate::planes::{reject_planes, PlaneDecision, PlaneInput};
use crate::rules::{cube_plane_rules, file_rules, intensity_rules};
use crate::thresholds::{KindThresholds, Thresholds};
use crate::verdict::{overall, Reason, Status};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vlass_products::{ImageType, Kind, ProductName};

/// Version of the JSON document layout; bumped on any incompatible change.
pub const SCHEMA: &str = "vlass-annotate-qa/1";

/// The files of one product, before measurement.
#[derive(Debug, Clone)]
pub struct ProductInput {
    /// Group key (`vlass_products::ProductName::group_key`), or the file name when unknown.
    pub key: String,
    /// Parsed names (None for unrecognised names) with their paths, in input order.
    pub files: Vec<(PathBuf, Result<ProductName, String>)>,
}

/// Groups `paths` into products by VLASS name, keeping the first-seen order. A file whose
/// name does not parse is a product of its own, of kind `unknown`.
pub fn group_products(paths: &[PathBuf]) -> Vec<ProductInput> {
    let mut order: Vec<ProductInput> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for path in paths {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = vlass_products::parse(&file_name).map_err(|e| e.reason().to_string());
        let key = match &parsed {
            Ok(name) => name.group_key(),
            Err(_) => format!("unknown:{}", path.display()),
        };
        match index.get(&key) {
            Some(&i) => order[i].files.push((path.clone(), parsed)),
            None => {
                index.insert(key.clone(), order.len());
                order.push(ProductInput {
                    key,
                    files: vec![(path.clone(), parsed)],
                });
            }
        }
    }
    order
}

/// Identity of a product in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ProductInfo {
    /// Group key.
    pub key: String,
    /// `QL`, `SE`, `CC`, `CAT` or `unknown`.
    pub kind: String,
    /// Epoch, e.g. `VLASS2.1`.
    pub epoch: Option<String>,
    /// Tile.
    pub tile: Option<String>,
    /// Phase centre J-name.
    pub phase_center: Option<String>,
    /// Processing version.
    pub version: Option<u32>,
    /// Stokes.
    pub stokes: Option<String>,
    /// Spectral-window selection of the name (coarse cubes).
    pub spw: Option<String>,
    /// Cell code of the name.
    pub cell_code: Option<String>,
    /// Why the name was not recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_error: Option<String>,
}

/// One plane of a file in the report.
#[derive(Debug, Clone, Serialize)]
pub struct PlaneReport {
    /// 0-based plane number.
    pub index: usize,
    /// Frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// Plane metrics.
    pub metrics: Metrics,
    /// True when rejected (coarse cubes).
    pub rejected: bool,
    /// Why rejected.
    pub reasons: Vec<Reason>,
}

/// What `--write-header` did to a file.
#[derive(Debug, Clone, Serialize, Default)]
pub struct HeaderReport {
    /// Keywords rewritten in place.
    pub updated: Vec<String>,
    /// Keywords added.
    pub added: Vec<String>,
    /// Keywords left out, with why.
    pub skipped: BTreeMap<String, String>,
    /// SHA-256 of the data unit, identical before and after.
    pub data_sha256: String,
}

/// One file in the report.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given (or found by the directory walk).
    pub path: String,
    /// Image type from the name, or `unknown`.
    pub image_type: String,
    /// Columns and rows.
    pub shape: Option<[usize; 2]>,
    /// File metrics (for multi-plane files: over the accepted planes, see README).
    pub metrics: Option<Metrics>,
    /// Per-plane metrics and rejection (files with more than one plane, and cube planes).
    pub planes: Vec<PlaneReport>,
    /// Why the file could not be measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Header annotation result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderReport>,
    /// Previews written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previews: Vec<String>,
    /// The header's `SPW` keyword (spectral windows used), if present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_spw: Option<String>,
}

/// One product in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ProductReport {
    /// Identity.
    pub product: ProductInfo,
    /// Its files.
    pub files: Vec<FileReport>,
    /// Worst severity of `reasons`.
    pub status: Status,
    /// Every rule that warned or failed.
    pub reasons: Vec<Reason>,
}

/// Counts over the run.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Totals {
    /// Products.
    pub products: usize,
    /// Files.
    pub files: usize,
    /// Passing products.
    pub pass: usize,
    /// Warning products.
    pub warn: usize,
    /// Failing products.
    pub fail: usize,
    /// Files that could not be read or written (soft errors).
    pub file_errors: usize,
}

/// The whole JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// Layout version, [`SCHEMA`].
    pub schema: &'static str,
    /// Version of annotate-qa.
    pub tool_version: String,
    /// Products in input order.
    pub products: Vec<ProductReport>,
    /// Counts.
    pub totals: Totals,
    /// The effective thresholds (full key -> value and origin).
    pub config: BTreeMap<String, serde_json::Value>,
}

impl Document {
    /// Recomputes the totals from the products.
    pub fn count(&mut self) {
        let mut t = Totals {
            products: self.products.len(),
            ..Totals::default()
        };
        for p in &self.products {
            t.files += p.files.len();
            t.file_errors += p.files.iter().filter(|f| f.error.is_some()).count();
            match p.status {
                Status::Pass => t.pass += 1,
                Status::Warn => t.warn += 1,
                Status::Fail => t.fail += 1,
            }
        }
        self.totals = t;
    }
}

/// A measured file with its name.
#[derive(Debug)]
struct Measured {
    path: PathBuf,
    name: Option<ProductName>,
    result: Result<FileMeasure, String>,
    alpha: Option<AlphaMetric>,
}

/// A measured product, before rules.
#[derive(Debug)]
pub struct MeasuredProduct {
    input_key: String,
    name_error: Option<String>,
    files: Vec<Measured>,
}

fn is_intensity(name: &ProductName) -> bool {
    match name.kind {
        Kind::CoarseCube => matches!(name.image_type, ImageType::Image | ImageType::Tt0),
        _ => name.image_type == ImageType::Tt0,
    }
}

/// Measures the files of one product; `progress` is called after each file.
pub fn measure_product(
    input: &ProductInput,
    thresholds: &Thresholds,
    preview: Option<&PreviewRequest>,
    progress: &(dyn Fn() + Sync),
) -> MeasuredProduct {
    let mut files: Vec<Measured> = Vec::new();
    let mut name_error = None;
    for (path, parsed) in &input.files {
        let name = parsed.as_ref().ok().cloned();
        if let Err(e) = parsed {
            name_error = Some(e.clone());
        }
        let result = measure_file(path, name.as_ref(), preview).map_err(|e| e.to_string());
        files.push(Measured {
            path: path.clone(),
            name,
            result,
            alpha: None,
        });
        progress();
    }
    // Alpha statistics need the tt0 image of the same product.
    let tt0 = files.iter().find(|f| {
        f.name
            .as_ref()
            .is_some_and(|n| n.image_type == ImageType::Tt0)
            && f.result.is_ok()
    });
    let tt0_info = tt0.and_then(|f| {
        let noise = f.result.as_ref().ok()?.planes.first()?.stats.robust_noise?;
        Some((f.path.clone(), noise))
    });
    for f in files.iter_mut() {
        let is_alpha = f
            .name
            .as_ref()
            .is_some_and(|n| n.image_type == ImageType::Alpha);
        if is_alpha && f.result.is_ok() {
            f.alpha = Some(alpha_metric(
                &f.path,
                tt0_info.as_ref(),
                thresholds.alpha_snr_min,
            ));
        }
    }
    MeasuredProduct {
        input_key: input.key.clone(),
        name_error,
        files,
    }
}

fn alpha_metric(alpha_path: &Path, tt0: Option<&(PathBuf, f64)>, snr_min: f64) -> AlphaMetric {
    let Ok((alpha, ax, ay)) = read_first_plane(alpha_path) else {
        return AlphaMetric {
            median: None,
            spread: None,
            count: 0,
            selection: "unreadable".into(),
        };
    };
    let bright = tt0
        .filter(|(_, noise)| *noise > 0.0)
        .and_then(|(path, noise)| {
            let (t, tx, ty) = read_first_plane(path).ok()?;
            ((tx, ty) == (ax, ay)).then(|| alpha_where_bright(&alpha, &t, *noise, snr_min))
        });
    let (values, selection) = match bright {
        Some(v) => (v, format!("tt0_snr_above_{snr_min}")),
        None => (alpha, "finite".to_string()),
    };
    let count = values.iter().filter(|v| v.is_finite()).count();
    let stats = vlass_imstats::median_and_robust_noise(&values);
    AlphaMetric {
        median: stats.map(|s| s.0),
        spread: stats.map(|s| s.1),
        count,
        selection,
    }
}

/// Key of the cube a coarse-cube spw product belongs to: its group key without the spw.
fn cube_family(name: &ProductName) -> String {
    let mut n = name.clone();
    n.spw_selection = None;
    n.spw = None;
    n.group_key()
}

fn plane_input(m: &crate::measure::PlaneMeasure) -> PlaneInput {
    PlaneInput {
        frequency_hz: m.frequency_hz,
        beam: m.beam.map(|b| (b.bmaj_arcsec, b.bmin_arcsec, b.bpa_deg)),
        robust_noise: m.stats.robust_noise,
        blank_fraction: 1.0 - m.stats.finite_fraction(),
    }
}

/// Plane decisions for every coarse-cube intensity file: (product index, file index) ->
/// one decision per plane. Multi-plane files are judged on their own planes; single-plane
/// spw files of one cube (same name apart from the spw) are judged together.
fn cube_decisions(
    products: &[MeasuredProduct],
    thresholds: &Thresholds,
) -> BTreeMap<(usize, usize), Vec<PlaneDecision>> {
    let mut out = BTreeMap::new();
    let mut families: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (pi, p) in products.iter().enumerate() {
        for (fi, f) in p.files.iter().enumerate() {
            let (Some(name), Ok(m)) = (&f.name, &f.result) else {
                continue;
            };
            if name.kind != Kind::CoarseCube || !is_intensity(name) {
                continue;
            }
            if m.planes.len() > 1 {
                let inputs: Vec<PlaneInput> = m.planes.iter().map(plane_input).collect();
                out.insert((pi, fi), reject_planes(&inputs, &thresholds.planes));
            } else if m.planes.len() == 1 {
                families
                    .entry(cube_family(name))
                    .or_default()
                    .push((pi, fi));
            }
        }
    }
    for members in families.values() {
        let inputs: Vec<PlaneInput> = members
            .iter()
            .filter_map(|&(pi, fi)| products[pi].files[fi].result.as_ref().ok())
            .map(|m| plane_input(&m.planes[0]))
            .collect();
        let decisions = reject_planes(&inputs, &thresholds.planes);
        for (&at, d) in members.iter().zip(decisions) {
            out.insert(at, vec![d]);
        }
    }
    out
}

fn kind_thresholds<'a>(name: Option<&ProductName>, t: &'a Thresholds) -> &'a KindThresholds {
    match name.map(|n| n.kind) {
        Some(Kind::QuickLook) => &t.ql,
        Some(Kind::SingleEpoch) => &t.se,
        Some(Kind::CoarseCube) => &t.cc,
        _ => &t.unknown,
    }
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Applies the rules to measured products and builds their reports (input order kept).
pub fn judge(products: Vec<MeasuredProduct>, thresholds: &Thresholds) -> Vec<ProductReport> {
    let decisions = cube_decisions(&products, thresholds);
    products
        .into_iter()
        .enumerate()
        .map(|(pi, p)| judge_product(pi, p, &decisions, thresholds))
        .collect()
}

fn rms_median_of(files: &[Measured], wanted: ImageType) -> Option<f64> {
    files
        .iter()
        .filter(|f| f.name.as_ref().is_some_and(|n| n.image_type == wanted))
        .filter_map(|f| f.result.as_ref().ok())
        .filter_map(|m| m.planes.first())
        .find_map(|p| p.stats.median)
}

fn judge_product(
    pi: usize,
    p: MeasuredProduct,
    decisions: &BTreeMap<(usize, usize), Vec<PlaneDecision>>,
    thresholds: &Thresholds,
) -> ProductReport {
    let first_name = p.files.iter().find_map(|f| f.name.clone());
    let t = kind_thresholds(first_name.as_ref(), thresholds);
    let mut reasons: Vec<Reason> = Vec::new();
    if let Some(e) = &p.name_error {
        reasons.push(Reason::plain(
            "unknown_name",
            Status::Warn,
            format!("not a VLASS product name ({e}): measured with generic rules only"),
        ));
    }
    let kind = first_name.as_ref().map(|n| n.kind);
    let continuum = matches!(kind, Some(Kind::QuickLook | Kind::SingleEpoch));
    let rms_tt0 = rms_median_of(&p.files, ImageType::Tt0Rms);
    let rms_tt1 = rms_median_of(&p.files, ImageType::Tt1Rms);
    let rms_cube = rms_median_of(&p.files, ImageType::ImageRms);
    let has_intensity = p
        .files
        .iter()
        .any(|f| f.name.as_ref().is_some_and(is_intensity));
    let has_rms = p.files.iter().any(|f| {
        f.name
            .as_ref()
            .is_some_and(|n| n.image_type == ImageType::Tt0Rms)
    });
    let measured_intensity = p
        .files
        .iter()
        .any(|f| f.result.is_ok() && f.name.as_ref().is_some_and(is_intensity));
    if continuum && measured_intensity && !has_rms && t.rms_required {
        reasons.push(Reason::plain(
            "rms_image_missing",
            Status::Fail,
            "the product has no tt0.rms image (VLASSRMS cannot be computed)".into(),
        ));
    }
    if continuum && !has_intensity {
        reasons.push(Reason::plain(
            "tt0_missing",
            Status::Warn,
            "the product has no tt0 intensity image: intensity rules not applied".into(),
        ));
    }

    let mut files = Vec::new();
    for (fi, f) in p.files.into_iter().enumerate() {
        let label = file_label(&f.path);
        let image_type = f
            .name
            .as_ref()
            .map(|n| n.image_type.as_str().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut report = FileReport {
            path: f.path.display().to_string(),
            image_type,
            shape: None,
            metrics: None,
            planes: Vec::new(),
            error: None,
            header: None,
            previews: Vec::new(),
            header_spw: None,
        };
        let m = match f.result {
            Ok(m) => m,
            Err(e) => {
                reasons
                    .push(Reason::plain("file_unreadable", Status::Fail, e.clone()).about(&label));
                report.error = Some(e);
                files.push(report);
                continue;
            }
        };
        report.shape = Some([m.nx, m.ny]);
        report.header_spw = m.header_spw.clone();
        report.previews = m.previews.iter().map(|p| p.display().to_string()).collect();
        reasons.extend(m.warnings.iter().cloned().map(|r| r.about(&label)));
        let plane_decisions = decisions.get(&(pi, fi));
        let accepted: Vec<&crate::measure::PlaneMeasure> = m
            .planes
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                plane_decisions
                    .and_then(|ds| ds.get(*k))
                    .map_or(true, |d| !d.rejected)
            })
            .map(|(_, pm)| pm)
            .collect();
        let mut metrics = if accepted.is_empty() {
            aggregate_planes(&m.planes.iter().collect::<Vec<_>>(), m.nx)
        } else {
            aggregate_planes(&accepted, m.nx)
        };
        let name = f.name.as_ref();
        // Rms median of the matching noise image (VLASSRMS of this file's intensity).
        if let Some(n) = name {
            if is_intensity(n) {
                let rms = if n.kind == Kind::CoarseCube {
                    rms_cube
                } else {
                    rms_tt0
                };
                metrics.rms_median = rms;
            } else if n.image_type == ImageType::Tt1 {
                metrics.rms_median = rms_tt1;
            } else if n.image_type.is_rms() {
                metrics.rms_median = metrics.median;
            }
        }
        if let Some(alpha) = f.alpha {
            metrics.alpha = Some(alpha);
        }
        reasons.extend(file_rules(&metrics).into_iter().map(|r| r.about(&label)));
        let judged_as_intensity = match name {
            Some(n) => is_intensity(n),
            None => true,
        };
        if judged_as_intensity {
            let beam_required = name.is_some();
            if m.planes.len() > 1 && metrics.beam.is_none() {
                // Multi-plane: judge the beam of the accepted planes one by one.
                let mut plane_metrics = metrics.clone();
                let mut beam_reasons = Vec::new();
                for pm in &accepted {
                    plane_metrics.beam = pm.metrics.beam.clone();
                    for r in intensity_rules(&plane_metrics, t, beam_required) {
                        if r.rule.starts_with("beam") {
                            beam_reasons.push(r.about(&format!("{label} plane {}", pm.index)));
                        }
                    }
                }
                let non_beam: Vec<Reason> = intensity_rules(&metrics, t, false)
                    .into_iter()
                    .filter(|r| !r.rule.starts_with("beam"))
                    .collect();
                reasons.extend(non_beam.into_iter().map(|r| r.about(&label)));
                reasons.extend(beam_reasons);
            } else {
                reasons.extend(
                    intensity_rules(&metrics, t, beam_required)
                        .into_iter()
                        .map(|r| r.about(&label)),
                );
            }
        }
        if let Some(ds) = plane_decisions {
            let rejected: Vec<usize> = ds
                .iter()
                .zip(&m.planes)
                .filter(|(d, _)| d.rejected)
                .map(|(_, pm)| pm.index)
                .collect();
            reasons.extend(
                cube_plane_rules(ds.len(), &rejected)
                    .into_iter()
                    .map(|r| r.about(&label)),
            );
        }
        let show_planes = m.planes.len() > 1 || plane_decisions.is_some();
        if show_planes {
            report.planes = m
                .planes
                .iter()
                .enumerate()
                .map(|(k, pm)| {
                    let d = plane_decisions.and_then(|ds| ds.get(k));
                    PlaneReport {
                        index: pm.index,
                        frequency_hz: pm.frequency_hz,
                        metrics: pm.metrics.clone(),
                        rejected: d.is_some_and(|d| d.rejected),
                        reasons: d.map(|d| d.reasons.clone()).unwrap_or_default(),
                    }
                })
                .collect();
        }
        report.metrics = Some(metrics);
        files.push(report);
    }
    let status = overall(&reasons);
    let info = match &first_name {
        Some(n) => ProductInfo {
            key: p.input_key.clone(),
            kind: n.kind.code().to_string(),
            epoch: Some(n.epoch.clone()),
            tile: Some(n.tile.clone()),
            phase_center: Some(n.phase_center.clone()),
            version: (n.version > 0).then_some(n.version),
            stokes: (!n.stokes.is_empty()).then(|| n.stokes.clone()),
            spw: n.spw_selection.clone(),
            cell_code: Some(n.cell_code.clone()),
            name_error: None,
        },
        None => ProductInfo {
            key: p.input_key.clone(),
            kind: "unknown".into(),
            epoch: None,
            tile: None,
            phase_center: None,
            version: None,
            stokes: None,
            spw: None,
            cell_code: None,
            name_error: p.name_error.clone(),
        },
    };
    ProductReport {
        product: info,
        files,
        status,
        reasons,
    }
}

/// Measures and judges all products, in parallel over products (in the current rayon pool).
pub fn run(
    inputs: &[ProductInput],
    thresholds: &Thresholds,
    preview: Option<&PreviewRequest>,
    progress: &(dyn Fn() + Sync),
) -> Vec<ProductReport> {
    let measured: Vec<MeasuredProduct> = inputs
        .par_iter()
        .map(|p| measure_product(p, thresholds, preview, progress))
        .collect();
    judge(measured, thresholds)
}
