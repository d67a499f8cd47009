//! From file paths to the QA report: group files into products by VLASS name, measure each
//! product (in parallel, results in input order), reject coarse-cube planes, apply the
//! rules and assemble the versioned JSON document.

use crate::measure::{aggregate_planes, alpha_where_bright, measure_file, read_first_plane};
use crate::measure::{FileMeasure, PlaneMeasure, PreviewRequest};
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
    /// The directory holding the product's files (as given, `.` for a bare file name).
    pub directory: String,
    /// Parsed names (None for unrecognised names) with their paths, in input order.
    pub files: Vec<(PathBuf, Result<ProductName, String>)>,
}

/// The directory part of `path` as the report shows it (`.` for a bare file name).
fn directory_of(path: &Path) -> String {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
        _ => ".".to_string(),
    }
}

/// Groups `paths` into products by VLASS name and directory, keeping the first-seen order:
/// the files of one product sit in one directory, so the same product name in two
/// directories (a copy, another processing run) makes two products. A file whose name does
/// not parse is a product of its own, of kind `unknown`.
pub fn group_products(paths: &[PathBuf]) -> Vec<ProductInput> {
    let mut order: Vec<ProductInput> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for path in paths {
        let directory = directory_of(path);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = vlass_products::parse(&file_name).map_err(|e| e.reason().to_string());
        let key = match &parsed {
            Ok(name) => name.group_key(),
            Err(_) => format!("unknown:{}", path.display()),
        };
        match index.get(&(directory.clone(), key.clone())) {
            Some(&i) => order[i].files.push((path.clone(), parsed)),
            None => {
                index.insert((directory.clone(), key.clone()), order.len());
                order.push(ProductInput {
                    key,
                    directory,
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
    /// Group key (from the file names; the same in any directory).
    pub key: String,
    /// Directory of the product's files: one product never spans two directories.
    pub directory: String,
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
    /// Spectral-window selections of the product's files, comma-separated in frequency
    /// order (coarse cubes: one per spw file).
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
    /// Stokes parameter (`I`, `Q`, `U`, `V`, ...) from the STOKES axis, else from the name.
    pub stokes: Option<String>,
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
    directory: String,
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
        directory: input.directory.clone(),
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

/// Label of a FITS Stokes code: 1..4 = `I`, `Q`, `U`, `V`; -1..-8 = `RR`, `LL`, `RL`, `LR`,
/// `XX`, `YY`, `XY`, `YX`; any other code as its number.
pub fn stokes_label(code: i32) -> String {
    let known = match code {
        1 => "I",
        2 => "Q",
        3 => "U",
        4 => "V",
        -1 => "RR",
        -2 => "LL",
        -3 => "RL",
        -4 => "LR",
        -5 => "XX",
        -6 => "YY",
        -7 => "XY",
        -8 => "YX",
        _ => return code.to_string(),
    };
    known.to_string()
}

/// The Stokes parameter of a plane: from the file's STOKES axis; without one, the file name's
/// Stokes when it names a single one (`I`, `Q`, `U`, `V`); else unknown.
fn plane_stokes(pm: &PlaneMeasure, name: Option<&ProductName>) -> Option<String> {
    match pm.stokes {
        Some(code) => Some(stokes_label(code)),
        None => name
            .map(|n| n.stokes.as_str())
            .filter(|s| matches!(*s, "I" | "Q" | "U" | "V"))
            .map(str::to_string),
    }
}

/// The Stokes parameter whose planes give a file's headline metrics: I when the file has it,
/// else that of its first plane.
fn headline_stokes(labels: &[Option<String>]) -> Option<String> {
    if labels.iter().any(|l| l.as_deref() == Some("I")) {
        Some("I".to_string())
    } else {
        labels.first().cloned().flatten()
    }
}

fn plane_input(m: &PlaneMeasure) -> PlaneInput {
    PlaneInput {
        frequency_hz: m.frequency_hz,
        beam: m.beam.map(|b| (b.bmaj_arcsec, b.bmin_arcsec, b.bpa_deg)),
        robust_noise: m.stats.robust_noise,
        blank_fraction: 1.0 - m.stats.finite_fraction(),
    }
}

/// The planes of one Stokes parameter of a coarse-cube product, in frequency order, as
/// (file index, plane position in the file).
#[derive(Debug)]
struct StokesGroup {
    stokes: Option<String>,
    members: Vec<(usize, usize)>,
}

/// Coarse-cube plane rejection over a whole product: the planes of every intensity file
/// (a multi-plane cube, or one file per spw) are judged together, one Stokes parameter at a
/// time, so a Q or U plane is only ever compared with Q or U planes of other spws. Common-beam
/// (`.com`) files are left out.
fn cube_decisions(
    files: &[Measured],
    labels: &[Vec<Option<String>>],
    thresholds: &Thresholds,
) -> (BTreeMap<(usize, usize), PlaneDecision>, Vec<StokesGroup>) {
    type Member<'a> = ((usize, usize), &'a PlaneMeasure);
    let mut found: Vec<(Option<String>, Vec<Member>)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let (Some(name), Ok(m)) = (&f.name, &f.result) else {
            continue;
        };
        // `.com` files (planes smoothed to one common beam and regridded) repeat the native
        // planes, and their beam does not scale with frequency: measured, not judged.
        if name.kind != Kind::CoarseCube || !is_intensity(name) || name.common_beam {
            continue;
        }
        for (k, (pm, stokes)) in m.planes.iter().zip(&labels[fi]).enumerate() {
            match found.iter_mut().find(|(s, _)| s == stokes) {
                Some((_, members)) => members.push(((fi, k), pm)),
                None => found.push((stokes.clone(), vec![((fi, k), pm)])),
            }
        }
    }
    // Stokes I first, then the others in the order met; planes by frequency (stable).
    found.sort_by_key(|(s, _)| s.as_deref() != Some("I"));
    let mut out = BTreeMap::new();
    let mut groups = Vec::with_capacity(found.len());
    for (stokes, mut members) in found {
        members.sort_by(|a, b| {
            let f = |m: &Member| m.1.frequency_hz.unwrap_or(f64::INFINITY);
            f(a).total_cmp(&f(b))
        });
        let inputs: Vec<PlaneInput> = members.iter().map(|(_, pm)| plane_input(pm)).collect();
        for ((at, _), d) in members
            .iter()
            .zip(reject_planes(&inputs, &thresholds.planes))
        {
            out.insert(*at, d);
        }
        groups.push(StokesGroup {
            stokes,
            members: members.into_iter().map(|(at, _)| at).collect(),
        });
    }
    (out, groups)
}

/// How a plane is named in product-level messages: `spw6` for the one plane of a Stokes
/// parameter in an spw file, else `[spwN ]plane k`.
fn plane_name(f: &Measured, labels: &[Option<String>], k: usize) -> String {
    let Ok(m) = &f.result else {
        return format!("plane {k}");
    };
    let spw = f.name.as_ref().and_then(|n| n.spw_selection.clone());
    let same_stokes = labels.iter().filter(|l| **l == labels[k]).count();
    match spw {
        Some(s) if same_stokes == 1 => format!("spw{s}"),
        Some(s) => format!("spw{s} plane {}", m.planes[k].index),
        None => format!("plane {}", m.planes[k].index),
    }
}

/// The product-level plane rules, one Stokes parameter at a time.
fn product_plane_reasons(
    files: &[Measured],
    labels: &[Vec<Option<String>>],
    decisions: &BTreeMap<(usize, usize), PlaneDecision>,
    groups: &[StokesGroup],
) -> Vec<Reason> {
    let mut out = Vec::new();
    for g in groups {
        let rejected: Vec<String> = g
            .members
            .iter()
            .filter(|at| decisions.get(at).is_some_and(|d| d.rejected))
            .map(|&(fi, k)| plane_name(&files[fi], &labels[fi], k))
            .collect();
        let stokes = if groups.len() > 1 {
            Some(g.stokes.as_deref().unwrap_or("unknown"))
        } else {
            None
        };
        let one_file = g.members.iter().all(|(fi, _)| *fi == g.members[0].0);
        for r in cube_plane_rules(g.members.len(), &rejected, stokes) {
            out.push(if one_file {
                r.about(&file_label(&files[g.members[0].0].path))
            } else {
                r
            });
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
    products
        .into_iter()
        .map(|p| judge_product(p, thresholds))
        .collect()
}

/// A measured file's headline: the planes of its headline Stokes parameter that were not
/// rejected (all of them when every one was), and the metrics over those.
struct Headline {
    planes: Vec<usize>,
    all_rejected: bool,
    metrics: Metrics,
}

fn headline(
    fi: usize,
    m: &FileMeasure,
    labels: &[Option<String>],
    decisions: &BTreeMap<(usize, usize), PlaneDecision>,
) -> Headline {
    let wanted = headline_stokes(labels);
    let of_stokes: Vec<usize> = (0..m.planes.len())
        .filter(|&k| labels[k] == wanted)
        .collect();
    let accepted: Vec<usize> = of_stokes
        .iter()
        .copied()
        .filter(|&k| decisions.get(&(fi, k)).map_or(true, |d| !d.rejected))
        .collect();
    let all_rejected = accepted.is_empty();
    let planes = if all_rejected { of_stokes } else { accepted };
    let refs: Vec<&PlaneMeasure> = planes.iter().map(|&k| &m.planes[k]).collect();
    Headline {
        metrics: aggregate_planes(&refs, m.nx),
        planes,
        all_rejected,
    }
}

fn judge_product(mut p: MeasuredProduct, thresholds: &Thresholds) -> ProductReport {
    let first_name = p.files.iter().find_map(|f| f.name.clone());
    let t = kind_thresholds(first_name.as_ref(), thresholds);
    let kind = first_name.as_ref().map(|n| n.kind);
    if kind == Some(Kind::CoarseCube) {
        // A tile's spw files in frequency order (unreadable files last).
        let lowest = |f: &Measured| -> f64 {
            f.result
                .as_ref()
                .ok()
                .and_then(|m| {
                    m.planes
                        .iter()
                        .filter_map(|pm| pm.frequency_hz)
                        .min_by(f64::total_cmp)
                })
                .unwrap_or(f64::INFINITY)
        };
        p.files.sort_by(|a, b| lowest(a).total_cmp(&lowest(b)));
    }
    let labels: Vec<Vec<Option<String>>> = p
        .files
        .iter()
        .map(|f| match &f.result {
            Ok(m) => m
                .planes
                .iter()
                .map(|pm| plane_stokes(pm, f.name.as_ref()))
                .collect(),
            Err(_) => Vec::new(),
        })
        .collect();
    let (decisions, groups) = if kind == Some(Kind::CoarseCube) {
        cube_decisions(&p.files, &labels, thresholds)
    } else {
        (BTreeMap::new(), Vec::new())
    };
    let headlines: Vec<Option<Headline>> = p
        .files
        .iter()
        .enumerate()
        .map(|(fi, f)| {
            f.result
                .as_ref()
                .ok()
                .map(|m| headline(fi, m, &labels[fi], &decisions))
        })
        .collect();
    // The median of the first measured rms image of the wanted type (and, for coarse cubes,
    // of the same spw selection as the intensity file): VLASSRMS.
    let rms_median = |wanted: &[ImageType], spw: Option<&Option<String>>| -> Option<f64> {
        p.files
            .iter()
            .zip(&headlines)
            .filter(|(f, _)| {
                f.name.as_ref().is_some_and(|n| {
                    wanted.contains(&n.image_type) && spw.map_or(true, |s| n.spw_selection == *s)
                })
            })
            .find_map(|(_, h)| h.as_ref().and_then(|h| h.metrics.median))
    };
    let rms_tt0 = rms_median(&[ImageType::Tt0Rms], None);
    let rms_tt1 = rms_median(&[ImageType::Tt1Rms], None);

    let mut reasons: Vec<Reason> = Vec::new();
    if let Some(e) = &p.name_error {
        reasons.push(Reason::plain(
            "unknown_name",
            Status::Warn,
            format!("not a VLASS product name ({e}): measured with generic rules only"),
        ));
    }
    let continuum = matches!(kind, Some(Kind::QuickLook | Kind::SingleEpoch));
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
    let plane_reasons = product_plane_reasons(&p.files, &labels, &decisions, &groups);
    let cube_rms: Vec<Option<f64>> = p
        .files
        .iter()
        .map(|f| {
            let spw = f.name.as_ref().map(|n| n.spw_selection.clone());
            rms_median(
                &[ImageType::ImageRms, ImageType::Tt0Rms],
                Some(&spw.flatten()),
            )
        })
        .collect();
    let mut spws: Vec<String> = Vec::new();
    for f in &p.files {
        if let Some(s) = f.name.as_ref().and_then(|n| n.spw_selection.clone()) {
            if !spws.contains(&s) {
                spws.push(s);
            }
        }
    }

    let mut files = Vec::new();
    for (fi, (f, h)) in p.files.into_iter().zip(headlines).enumerate() {
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
        let (m, h) = match (f.result, h) {
            (Ok(m), Some(h)) => (m, h),
            (result, _) => {
                let e = result
                    .err()
                    .unwrap_or_else(|| "internal error: measured without a headline".into());
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
        let mut metrics = h.metrics;
        let name = f.name.as_ref();
        // Rms median of the matching noise image (VLASSRMS of this file's intensity).
        if let Some(n) = name {
            if n.image_type.is_rms() {
                metrics.rms_median = metrics.median;
            } else if n.kind == Kind::CoarseCube {
                if is_intensity(n) {
                    metrics.rms_median = cube_rms[fi];
                }
            } else if is_intensity(n) {
                metrics.rms_median = rms_tt0;
            } else if n.image_type == ImageType::Tt1 {
                metrics.rms_median = rms_tt1;
            }
        }
        if let Some(alpha) = f.alpha {
            metrics.alpha = Some(alpha);
        }
        reasons.extend(file_rules(&metrics).into_iter().map(|r| r.about(&label)));
        if let (Some(problem), Some(_)) = (&m.wcs_error, name) {
            // A VLASS product's image always carries its sky coordinates: without
            // them no position (peak, sources) and no pixel-scale check can be made.
            reasons.push(
                Reason::plain(
                    "wcs_invalid",
                    Status::Fail,
                    format!("the header has no usable sky coordinates: {problem}"),
                )
                .about(&label),
            );
        }
        let judged_as_intensity = match name {
            Some(n) => is_intensity(n),
            None => true,
        };
        // A coarse-cube file whose planes are all rejected is judged by the plane rules only.
        let rejected_cube_file = h.all_rejected && decisions.keys().any(|(i, _)| *i == fi);
        if judged_as_intensity && !rejected_cube_file {
            let beam_required = name.is_some();
            if h.planes.len() > 1 && metrics.beam.is_none() {
                // Several planes: judge the beam of the headline planes one by one.
                let mut plane_metrics = metrics.clone();
                let mut beam_reasons = Vec::new();
                for &k in &h.planes {
                    let pm = &m.planes[k];
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
        let judged_planes = decisions.keys().any(|(i, _)| *i == fi);
        if m.planes.len() > 1 || judged_planes {
            report.planes = m
                .planes
                .iter()
                .enumerate()
                .map(|(k, pm)| {
                    let d = decisions.get(&(fi, k));
                    PlaneReport {
                        index: pm.index,
                        stokes: labels[fi][k].clone(),
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
    reasons.extend(plane_reasons);
    let status = overall(&reasons);
    let info = match &first_name {
        Some(n) => ProductInfo {
            key: p.input_key.clone(),
            directory: p.directory.clone(),
            kind: n.kind.code().to_string(),
            epoch: Some(n.epoch.clone()),
            tile: Some(n.tile.clone()),
            phase_center: Some(n.phase_center.clone()),
            version: (n.version > 0).then_some(n.version),
            stokes: (!n.stokes.is_empty()).then(|| n.stokes.clone()),
            spw: (!spws.is_empty()).then(|| spws.join(",")),
            cell_code: Some(n.cell_code.clone()),
            name_error: None,
        },
        None => ProductInfo {
            key: p.input_key.clone(),
            directory: p.directory.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const SE: &str =
        "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits";
    const SE_RMS: &str =
        "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.rms.subim.fits";

    fn cc(spw: &str) -> String {
        format!("VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.{spw}IQU.iter3.image.pbcor.tt0.subim.fits")
    }

    fn grouped(paths: &[String]) -> Vec<Vec<String>> {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        group_products(&paths)
            .into_iter()
            .map(|p| {
                p.files
                    .iter()
                    .map(|(f, _)| f.display().to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_product_never_spans_two_directories() {
        let paths = [
            format!("a/{SE}"),
            format!("a/{SE_RMS}"),
            format!("b/{SE}"),
            format!("b/{SE_RMS}"),
            SE.to_string(),
        ];
        let groups = grouped(&paths);
        assert_eq!(
            groups,
            vec![
                vec![paths[0].clone(), paths[1].clone()],
                vec![paths[2].clone(), paths[3].clone()],
                vec![paths[4].clone()],
            ]
        );
        let inputs = group_products(&paths.iter().map(PathBuf::from).collect::<Vec<_>>());
        let dirs: Vec<&str> = inputs.iter().map(|p| p.directory.as_str()).collect();
        assert_eq!(dirs, ["a", "b", "."]);
        assert!(inputs.iter().all(|p| p.key == inputs[0].key));
    }

    #[test]
    fn the_spw_files_of_a_tile_are_one_product() {
        let paths = [cc("spw2."), cc("spw10."), cc("spw2_3."), cc("")];
        let groups = grouped(&paths);
        // The three spw files together; the stacked cube (no spw field) apart.
        assert_eq!(
            groups,
            vec![
                vec![paths[0].clone(), paths[1].clone(), paths[2].clone()],
                vec![paths[3].clone()],
            ]
        );
    }

    #[test]
    fn stokes_labels() {
        let labels: Vec<String> = [1, 2, 3, 4, -1, -2, -5, -8, 0, 7]
            .map(stokes_label)
            .to_vec();
        assert_eq!(
            labels,
            ["I", "Q", "U", "V", "RR", "LL", "XX", "YX", "0", "7"]
        );
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            headline_stokes(&[some("Q"), some("I"), some("U")]),
            some("I")
        );
        assert_eq!(headline_stokes(&[some("Q"), some("U")]), some("Q"));
        assert_eq!(headline_stokes(&[None, None]), None);
    }
}
