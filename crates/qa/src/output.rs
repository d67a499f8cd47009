//! Text outputs of a QA run: the CSV (one row per file) and the operator's summary table
//! (one row per product, then totals). The JSON document is [`crate::report::Document`].

use crate::report::{Document, FileReport, ProductReport};
use crate::rules::judged_noise;
use crate::verdict::{Reason, Status};
use std::fmt::Write as _;

/// CSV column names, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "product",
    "kind",
    "status",
    "path",
    "image_type",
    "pixels",
    "total_pixels",
    "finite_fraction",
    "min",
    "max",
    "mean",
    "std",
    "median",
    "robust_noise",
    "peak_value",
    "peak_x",
    "peak_y",
    "peak_ra_deg",
    "peak_dec_deg",
    "dynamic_range",
    "bmaj_arcsec",
    "bmin_arcsec",
    "bpa_deg",
    "axial_ratio",
    "bmin_pixels",
    "rms_median",
    "alpha_median",
    "alpha_spread",
    "alpha_count",
    "planes",
    "planes_rejected",
    "error",
];

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map(|v| format!("{v}"))
        .unwrap_or_default()
}

fn int(x: Option<usize>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_row(p: &ProductReport, f: &FileReport) -> String {
    let m = f.metrics.as_ref();
    let peak = m.and_then(|m| m.peak.as_ref());
    let beam = m.and_then(|m| m.beam.as_ref());
    let alpha = m.and_then(|m| m.alpha.as_ref());
    let cells = [
        p.product.key.clone(),
        p.product.kind.clone(),
        p.status.as_str().to_string(),
        f.path.clone(),
        f.image_type.clone(),
        int(m.map(|m| m.pixels)),
        int(m.map(|m| m.total_pixels)),
        num(m.map(|m| m.finite_fraction)),
        num(m.and_then(|m| m.min)),
        num(m.and_then(|m| m.max)),
        num(m.and_then(|m| m.mean)),
        num(m.and_then(|m| m.std)),
        num(m.and_then(|m| m.median)),
        num(m.and_then(|m| m.robust_noise)),
        num(peak.map(|p| p.value)),
        int(peak.map(|p| p.x)),
        int(peak.map(|p| p.y)),
        num(peak.and_then(|p| p.ra_deg)),
        num(peak.and_then(|p| p.dec_deg)),
        num(m.and_then(|m| m.dynamic_range)),
        num(beam.map(|b| b.bmaj_arcsec)),
        num(beam.map(|b| b.bmin_arcsec)),
        num(beam.map(|b| b.bpa_deg)),
        num(beam.and_then(|b| b.axial_ratio)),
        num(beam.and_then(|b| b.bmin_pixels)),
        num(m.and_then(|m| m.rms_median)),
        num(alpha.and_then(|a| a.median)),
        num(alpha.and_then(|a| a.spread)),
        int(alpha.map(|a| a.count)),
        int((!f.planes.is_empty()).then_some(f.planes.len())),
        int((!f.planes.is_empty()).then(|| f.planes.iter().filter(|p| p.rejected).count())),
        f.error.clone().unwrap_or_default(),
    ];
    let mut line = cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// The CSV text: a header line and one row per file (empty cell = null).
pub fn csv(doc: &Document) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for p in &doc.products {
        for f in &p.files {
            out.push_str(&csv_row(p, f));
        }
    }
    out
}

/// The file a product's table row describes: its intensity image, else its first file.
fn main_file(p: &ProductReport) -> Option<&FileReport> {
    p.files
        .iter()
        .find(|f| matches!(f.image_type.as_str(), "tt0" | "image") && f.metrics.is_some())
        .or_else(|| p.files.iter().find(|f| f.metrics.is_some()))
}

/// How serious a rule is among reasons of one severity (0 = most), for the reason the
/// summary table shows: a problem with the input itself (unreadable, nothing finite to
/// measure) explains everything else; then what was measured on the image (noise, beam,
/// blank fraction, dynamic range, planes; also any rule not listed here); then a companion
/// file missing from the product; then what the name, the header or the previews say.
pub fn rule_rank(rule: &str) -> u8 {
    match rule {
        "file_unreadable" | "no_finite_pixels" | "wcs_invalid" => 0,
        "rms_image_missing" | "tt0_missing" => 2,
        "unknown_name" | "preview_failed" => 3,
        r if r.starts_with("name_header_") => 3,
        _ => 1,
    }
}

/// The reason that decides a product's row: the most serious failing rule, i.e. fails
/// before warns, then by [`rule_rank`], then in report order. None when nothing warns.
pub fn deciding_reason(reasons: &[Reason]) -> Option<&Reason> {
    reasons
        .iter()
        .filter(|r| r.severity != Status::Pass)
        .min_by_key(|r| (std::cmp::Reverse(r.severity), rule_rank(&r.rule)))
}

/// The operator's summary: product, kind, status, noise, peak, beam, deciding reason; totals.
pub fn summary_table(doc: &Document) -> String {
    let header = [
        "product",
        "kind",
        "status",
        "noise uJy/b",
        "peak mJy/b",
        "beam arcsec",
        "reason",
    ];
    let mut rows: Vec<[String; 7]> = Vec::new();
    // Products of one name found in several directories are told apart by their directory.
    let mut key_count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in &doc.products {
        *key_count.entry(p.product.key.as_str()).or_default() += 1;
    }
    for p in &doc.products {
        let f = main_file(p);
        let m = f.and_then(|f| f.metrics.as_ref());
        let noise = m
            .and_then(judged_noise)
            .map(|(n, _)| format!("{:.1}", n * 1e6))
            .unwrap_or_else(|| "-".into());
        let peak = m
            .and_then(|m| m.peak.as_ref())
            .map(|pk| format!("{:.3}", pk.value * 1e3))
            .unwrap_or_else(|| "-".into());
        let beam = m
            .and_then(|m| m.beam.as_ref())
            .map(|b| format!("{:.2}x{:.2}", b.bmaj_arcsec, b.bmin_arcsec))
            .unwrap_or_else(|| {
                if f.is_some_and(|f| !f.planes.is_empty()) {
                    "per plane".into()
                } else {
                    "-".into()
                }
            });
        let deciding = deciding_reason(&p.reasons).map(|r| format!("{}: {}", r.rule, r.message));
        let more = p
            .reasons
            .iter()
            .filter(|r| r.severity != Status::Pass)
            .count();
        let reason = match deciding {
            Some(r) if more > 1 => format!("{r} (+{} more)", more - 1),
            Some(r) => r,
            None => String::new(),
        };
        let shown = if key_count[p.product.key.as_str()] > 1 {
            let dir = if p.product.directory.is_empty() {
                "."
            } else {
                p.product.directory.as_str()
            };
            format!("{dir}/{}", p.product.key)
        } else {
            p.product.key.clone()
        };
        rows.push([
            shown,
            p.product.kind.clone(),
            p.status.as_str().to_string(),
            noise,
            peak,
            beam,
            reason,
        ]);
    }
    let mut widths = header.map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()).take(6) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 6 {
                let _ = write!(s, "{c:<w$}  ", w = widths[i]);
            } else {
                s.push_str(c);
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &header);
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(&mut out, &cells);
    }
    let t = &doc.totals;
    let _ = writeln!(
        out,
        "total: {} products ({} files): {} pass, {} warn, {} fail; {} file errors",
        t.products, t.files, t.pass, t.warn, t.fail, t.file_errors
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(num(Some(f64::NAN)), "");
        assert_eq!(num(Some(0.25)), "0.25");
    }

    #[test]
    fn the_deciding_reason_is_the_most_serious() {
        let r = |rule: &str, severity| Reason::plain(rule, severity, String::new());
        let rules = |reasons: &[Reason]| deciding_reason(reasons).map(|r| r.rule.clone());
        // An all-NaN SE image without its rms file: the data problem, not the missing file.
        let nan_se = [
            r("rms_image_missing", Status::Fail),
            r("no_finite_pixels", Status::Fail),
        ];
        assert_eq!(rules(&nan_se).as_deref(), Some("no_finite_pixels"));
        // Fails before warns, whatever the rule.
        let mixed = [
            r("file_unreadable", Status::Warn),
            r("tt0_missing", Status::Fail),
        ];
        assert_eq!(rules(&mixed).as_deref(), Some("tt0_missing"));
        // Measured problems before names and headers; ties keep the report order.
        let warns = [
            r("unknown_name", Status::Warn),
            r("name_header_cell", Status::Warn),
            r("finite_fraction_low", Status::Warn),
            r("beam_size", Status::Warn),
        ];
        assert_eq!(rules(&warns).as_deref(), Some("finite_fraction_low"));
        assert_eq!(rules(&warns[..2]).as_deref(), Some("unknown_name"));
        assert_eq!(rules(&[]), None);
    }
}
