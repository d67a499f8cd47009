//! component-list's settings: built-in defaults < CAPO (`edu.nrao.vlass.componentlist.*`)
//! < command-line flags, through `vlass_capo::Settings`, so every value can be
//! shown with its origin (`--show-config`) and recorded in the catalogue header.

use crate::Failure;
use vlass_capo::keys::{flag_key, COMPONENT_LIST};
use vlass_capo::{CapoArgs, Settings, ShowFormat};
use vlass_qa::thresholds::{PlaneThresholds, Thresholds};

/// Settings of one continuum run.
#[derive(Debug, Clone, PartialEq)]
pub struct FinderSettings {
    pub thresh_isl: f64,
    pub thresh_pix: f64,
    /// `None`: chosen by the finder from the image and beam.
    pub rms_box: Option<(usize, usize)>,
    /// `key = value (origin)` lines for headers and the JSON summary.
    pub described: Vec<(String, String, String)>,
}

fn key(flag: &str) -> String {
    flag_key(COMPONENT_LIST, flag)
}

/// Parses `SIZE,STEP` (pixels) or `auto`.
pub fn parse_rms_box(text: &str) -> Result<Option<(usize, usize)>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    let parsed = text.split_once(',').and_then(|(a, b)| {
        Some((
            a.trim().parse::<usize>().ok()?,
            b.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((size, step)) if size >= 3 && step >= 1 && step <= size => Ok(Some((size, step))),
        _ => Err(format!(
            "--rms-box {text:?}: expected SIZE,STEP in pixels with SIZE >= 3 and 1 <= STEP <= SIZE, or auto"
        )),
    }
}

/// Builds the layered settings: defaults, CAPO, then the flags given.
/// Returns None after printing `--show-config` (the caller exits 0).
pub fn finder_settings(
    capo: &CapoArgs,
    thresh_isl: Option<f64>,
    thresh_pix: Option<f64>,
    rms_box: Option<&str>,
) -> Result<Option<FinderSettings>, Failure> {
    let mut s = Settings::new();
    s.default_value(
        &key("--thresh-isl"),
        "3",
        "PyBDSF default island boundary (sigma)",
    );
    s.default_value(
        &key("--thresh-pix"),
        "5",
        "PyBDSF default detection threshold (sigma)",
    );
    s.default_value(
        &key("--rms-box"),
        "auto",
        "box chosen from image and beam by the finder (CIRADA used 200,50)",
    );
    s.load_capo(&capo.options())?;
    if let Some(v) = thresh_isl {
        s.set_flag_from(&key("--thresh-isl"), &v.to_string(), "--thresh-isl")?;
    }
    if let Some(v) = thresh_pix {
        s.set_flag_from(&key("--thresh-pix"), &v.to_string(), "--thresh-pix")?;
    }
    if let Some(v) = rms_box {
        s.set_flag_from(&key("--rms-box"), v, "--rms-box")?;
    }
    // Values are checked before --show-config prints them: a value a run would refuse is an
    // error there too (`FILE:LINE: key: problem` for a CAPO value).
    let thresh_isl = s.get_f64(&key("--thresh-isl"))?;
    let thresh_pix = s.get_f64(&key("--thresh-pix"))?;
    let rms_box_text = s.get_str(&key("--rms-box")).unwrap_or("auto").to_string();
    let rms_box = parse_rms_box(&rms_box_text).map_err(|_| {
        s.invalid(
            &key("--rms-box"),
            "SIZE,STEP in pixels with SIZE >= 3 and 1 <= STEP <= SIZE, or auto",
        )
    })?;
    if let Some(format) = capo.show_config {
        show(&s, format)?;
        return Ok(None);
    }
    for warning in s.warnings() {
        vlass_cli::print_warning(crate::TOOL, &warning);
    }
    let described = s
        .describe()
        .into_iter()
        .map(|e| {
            let short = e.key.trim_start_matches(COMPONENT_LIST).to_string();
            (short, e.value.clone(), e.origin.to_string())
        })
        .collect();
    Ok(Some(FinderSettings {
        thresh_isl,
        thresh_pix,
        rms_box,
        described,
    }))
}

/// The plane-rejection thresholds of cube mode: annotate-qa's `cc.*` keys
/// (`edu.nrao.vlass.qa.cc.beamdeviationmax`, ...) from CAPO, else their
/// defaults, so both tools reject the same planes. None after `--show-config`.
pub fn cube_settings(capo: &CapoArgs) -> Result<Option<PlaneThresholds>, Failure> {
    let mut s = Settings::new();
    s.load_capo(&capo.options())?;
    let thresholds = Thresholds::from_lookup(&|key| s.get_str(key).map(str::to_string))
        .map_err(|e| s.invalid(&e.key, e.expected))?;
    if let Some(format) = capo.show_config {
        show(&s, format)?;
        return Ok(None);
    }
    Ok(Some(thresholds.planes))
}

fn show(s: &Settings, format: ShowFormat) -> Result<(), Failure> {
    let report = s.show_config();
    match format {
        ShowFormat::Text => print!("{report}"),
        ShowFormat::Json => {
            let bytes = vlass_cli::json::to_pretty_bytes(&report)?;
            print!("{}", String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_box_forms() {
        assert_eq!(parse_rms_box("200,50"), Ok(Some((200, 50))));
        assert_eq!(parse_rms_box(" auto "), Ok(None));
        assert!(parse_rms_box("50,200").is_err());
        assert!(parse_rms_box("200").is_err());
        assert!(parse_rms_box("0,0").is_err());
    }
}
