//! The header keywords `--write-header` puts into a product file: the CASA pipeline's VLASS
//! keywords (names, types and comments of `hif_makeimages` / `hifv_exportvlassdata`) and
//! this toolkit's own QA keywords under the `VQA` prefix, which no pipeline keyword uses.
//!
//! Choices where the sources disagree (see the README):
//! - `VLASSPT` is written as the keyword document's `QL` / `SE` / `CC`; on reading, both that
//!   set and the back-fill script's `VLASS-QL` / `VLASS-SE-CONT` / `VLASS-SE-CUBE` are accepted.
//! - `VLASSBWN` is the nominal bandwidth in Hz as the keyword document defines it:
//!   2 GHz for QL and SE, 128 MHz for coarse-cube planes (the back-fill script swaps them).

use crate::header_write::{CardValue, HeaderCard};
use crate::verdict::Status;
use vlass_products::{ImageType, Kind, ProductName};

/// Nominal continuum bandwidth (QL, SE), Hz.
pub const CONTINUUM_BANDWIDTH_HZ: i64 = 2_000_000_000;
/// Nominal coarse-cube plane bandwidth, Hz.
pub const CUBE_PLANE_BANDWIDTH_HZ: i64 = 128_000_000;

/// What the keywords of one file are made from.
#[derive(Debug, Clone)]
pub struct KeywordInputs<'a> {
    /// The parsed file name.
    pub name: &'a ProductName,
    /// Spectral windows used (header `SPW`, else the name's `spw` field), if known.
    pub spw: Option<String>,
    /// Median of the matching rms image (Jy/beam): RMS_TT1 for tt1 files, else RMS_TT0.
    pub rms_median: Option<f64>,
    /// Peak of the matching pbcor intensity image (Jy/beam): tt1 for tt1 files, else tt0.
    pub peak: Option<f64>,
    /// Rejection of each plane (coarse cubes; empty otherwise).
    pub plane_rejected: &'a [bool],
    /// The product's QA status.
    pub status: Status,
    /// Version of the tool that decided it.
    pub tool_version: &'a str,
}

/// The `VLASSITY` value of an image type, if the pipeline defines one.
pub fn vlass_image_type(name: &ProductName) -> Option<&'static str> {
    match name.image_type {
        ImageType::Tt0 if name.pbcor => Some("INTENSITY_PBCOR_TT0"),
        ImageType::Tt1 if name.pbcor => Some("INTENSITY_PBCOR_TT1"),
        ImageType::Image if name.pbcor => Some("INTENSITY_PBCOR"),
        ImageType::Tt0Rms => Some("RMS_TT0"),
        ImageType::Tt1Rms => Some("RMS_TT1"),
        ImageType::Alpha => Some("ALPHA"),
        ImageType::AlphaError => Some("ALPHAERR"),
        _ => None,
    }
}

/// True when the file's VLASSRMS / VLASSPK refer to Taylor term 1.
fn refers_to_tt1(name: &ProductName) -> bool {
    matches!(name.image_type, ImageType::Tt1 | ImageType::Tt1Rms)
}

fn text(key: &str, value: &str, comment: &str) -> HeaderCard {
    HeaderCard::new(key, CardValue::Str(value.to_string()), comment)
}

/// The cards for one file, and the keywords left out with the reason.
pub fn header_cards(input: &KeywordInputs) -> (Vec<HeaderCard>, Vec<(String, String)>) {
    let name = input.name;
    let mut cards = Vec::new();
    let mut skipped = Vec::new();
    match vlass_image_type(name) {
        Some(t) => cards.push(text("VLASSITY", t, "VLASS image type")),
        None => skipped.push((
            "VLASSITY".to_string(),
            format!("no pipeline image type for '{}'", name.image_type),
        )),
    }
    let kind = match name.kind {
        Kind::QuickLook => Some("QL"),
        Kind::SingleEpoch => Some("SE"),
        Kind::CoarseCube => Some("CC"),
        Kind::LegacyCatalogue => None,
    };
    if let Some(k) = kind {
        cards.push(text("VLASSPT", k, "VLASS product type"));
    }
    cards.push(text("VLASSTN", &name.tile, "VLASS tile name"));
    cards.push(text("VLASSEP", name.epoch_number(), "VLASS epoch"));
    if name.version > 0 {
        cards.push(text(
            "VLASSVR",
            &name.version.to_string(),
            "VLASS version number",
        ));
    }
    if !name.stokes.is_empty() {
        cards.push(text(
            "VLASSPL",
            &name.stokes,
            "VLASS Stokes/polarization parameter",
        ));
    }
    match &input.spw {
        Some(spw) => cards.push(text("VLASSSPW", spw, "Spectral windows used for image")),
        None => skipped.push((
            "VLASSSPW".to_string(),
            "no SPW keyword in the header and no spw field in the name".to_string(),
        )),
    }
    let cube = name.kind == Kind::CoarseCube;
    let bandwidth = if cube {
        CUBE_PLANE_BANDWIDTH_HZ
    } else {
        CONTINUUM_BANDWIDTH_HZ
    };
    if kind.is_some() {
        cards.push(HeaderCard::new(
            "VLASSBWN",
            CardValue::Int(bandwidth),
            "Nominal bandwidth",
        ));
    }

    let stokes_i = name.stokes == "I";
    let term = if refers_to_tt1(name) { "TT1" } else { "TT0" };
    let has_taylor = !cube || name.taylor_term.is_some();
    match input.rms_median {
        Some(rms) => {
            let comment = if has_taylor && stokes_i {
                format!("Median rms calculated from RMS_{term} (Stokes I) image")
            } else {
                "Median RMS calculated from RMS image".to_string()
            };
            cards.push(HeaderCard::new("VLASSRMS", CardValue::Real(rms), comment));
        }
        None => skipped.push((
            "VLASSRMS".to_string(),
            "the product has no matching rms image with a finite median".to_string(),
        )),
    }
    match input.peak {
        Some(peak) => {
            let comment = if has_taylor && stokes_i {
                format!("Peak flux density of INTENSITY_PBCOR_{term} (Stokes I) image")
            } else {
                "Peak flux density of INTENSITY_PBCOR image".to_string()
            };
            cards.push(HeaderCard::new("VLASSPK", CardValue::Real(peak), comment));
        }
        None => skipped.push((
            "VLASSPK".to_string(),
            "the product has no matching intensity image with a finite peak".to_string(),
        )),
    }

    match input.plane_rejected {
        [] => {}
        [one] => cards.push(HeaderCard::new(
            "VLASSRJ",
            CardValue::Bool(*one),
            "Rejected plane relevant for VLASS CC processing",
        )),
        many => {
            // One VLASSRJ cannot describe several planes: per-plane flags get our own keys.
            skipped.push((
                "VLASSRJ".to_string(),
                "multi-plane file: per-plane flags are in VQARJnnn".to_string(),
            ));
            let rejected = many.iter().filter(|r| **r).count();
            cards.push(HeaderCard::new(
                "VQANRJ",
                CardValue::Int(rejected as i64),
                "annotate-qa: number of rejected planes",
            ));
            for (i, r) in many.iter().enumerate().take(1000) {
                cards.push(HeaderCard::new(
                    format!("VQARJ{i:03}"),
                    CardValue::Bool(*r),
                    format!("annotate-qa: plane {i} rejected"),
                ));
            }
        }
    }
    cards.push(text(
        "VQASTAT",
        input.status.as_str(),
        "annotate-qa verdict for this product",
    ));
    cards.push(text("VQAVER", input.tool_version, "annotate-qa version"));
    (cards, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(n: &str) -> ProductName {
        vlass_products::parse(n).unwrap()
    }

    fn find<'a>(cards: &'a [HeaderCard], key: &str) -> Option<&'a HeaderCard> {
        cards.iter().find(|c| c.key == key)
    }

    #[test]
    fn se_tt0_gets_the_pipeline_keywords() {
        let name = parse(
            "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits",
        );
        let input = KeywordInputs {
            name: &name,
            spw: Some("2,3,4".into()),
            rms_median: Some(1.5e-4),
            peak: Some(0.8),
            plane_rejected: &[],
            status: Status::Pass,
            tool_version: "0.1.0",
        };
        let (cards, skipped) = header_cards(&input);
        let value = |k: &str| find(&cards, k).map(|c| c.value.clone());
        assert_eq!(
            value("VLASSITY"),
            Some(CardValue::Str("INTENSITY_PBCOR_TT0".into()))
        );
        assert_eq!(value("VLASSPT"), Some(CardValue::Str("SE".into())));
        assert_eq!(value("VLASSTN"), Some(CardValue::Str("T10t01".into())));
        assert_eq!(value("VLASSEP"), Some(CardValue::Str("2.1".into())));
        assert_eq!(value("VLASSVR"), Some(CardValue::Str("1".into())));
        assert_eq!(value("VLASSPL"), Some(CardValue::Str("I".into())));
        assert_eq!(value("VLASSBWN"), Some(CardValue::Int(2_000_000_000)));
        assert_eq!(value("VLASSRMS"), Some(CardValue::Real(1.5e-4)));
        assert_eq!(value("VQASTAT"), Some(CardValue::Str("pass".into())));
        assert_eq!(
            find(&cards, "VLASSRMS").unwrap().comment,
            "Median rms calculated from RMS_TT0 (Stokes I) image"
        );
        assert!(find(&cards, "VLASSRJ").is_none());
        assert!(skipped.is_empty(), "{skipped:?}");
    }

    #[test]
    fn cube_planes_and_tt1() {
        let name = parse(
            "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits",
        );
        let input = KeywordInputs {
            name: &name,
            spw: Some("6".into()),
            rms_median: None,
            peak: Some(0.45),
            plane_rejected: &[true],
            status: Status::Warn,
            tool_version: "0.1.0",
        };
        let (cards, skipped) = header_cards(&input);
        assert_eq!(
            find(&cards, "VLASSRJ").unwrap().value,
            CardValue::Bool(true)
        );
        assert_eq!(
            find(&cards, "VLASSBWN").unwrap().value,
            CardValue::Int(128_000_000)
        );
        assert_eq!(
            find(&cards, "VLASSITY").unwrap().value,
            CardValue::Str("INTENSITY_PBCOR".into())
        );
        assert_eq!(
            find(&cards, "VLASSPK").unwrap().comment,
            "Peak flux density of INTENSITY_PBCOR image"
        );
        assert_eq!(skipped[0].0, "VLASSRMS");

        let multi =
            parse("VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits");
        let flags = [false, true, false];
        let input = KeywordInputs {
            name: &multi,
            plane_rejected: &flags,
            ..input
        };
        let (cards, _) = header_cards(&input);
        assert!(find(&cards, "VLASSRJ").is_none());
        assert_eq!(find(&cards, "VQANRJ").unwrap().value, CardValue::Int(1));
        assert_eq!(
            find(&cards, "VQARJ001").unwrap().value,
            CardValue::Bool(true)
        );

        let tt1 = parse(
            "VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I.iter3.image.pbcor.tt1.subim.fits",
        );
        let input = KeywordInputs {
            name: &tt1,
            plane_rejected: &[],
            rms_median: Some(1e-3),
            ..input
        };
        let (cards, _) = header_cards(&input);
        assert_eq!(
            find(&cards, "VLASSITY").unwrap().value,
            CardValue::Str("INTENSITY_PBCOR_TT1".into())
        );
        assert!(find(&cards, "VLASSRMS")
            .unwrap()
            .comment
            .contains("RMS_TT1"));
        assert!(find(&cards, "VLASSPK")
            .unwrap()
            .comment
            .contains("INTENSITY_PBCOR_TT1"));
    }
}
