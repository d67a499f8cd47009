//! The VLASS file-name grammar: one name in, one typed [`ProductName`] or a [`NameError`] out.
//!
//! Fields 1–8 (epoch, kind, tile, phase centre, cell code, bandwidth, version) are matched from
//! the left; the remainder is classified by keyword (`spw…`, Stokes, `iterN`, image type, `ttN`,
//! `rms`, `subim`, `com`). Accepted besides the current scheme: a `.gz` or `.header` suffix, a
//! CASA working prefix such as `s13_0.`, the SE catalogue `…I.catalog.csv`, the cube Stokes-V
//! average `…V_mean_minmaxrej.subim.fits`, and the legacy VLASS1.1 single-file cube and
//! catalogue names.

use serde::{Serialize, Serializer};
use std::fmt;

/// Product kind, field 3 of the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `ql`: Quick Look continuum image.
    QuickLook,
    /// `se`: Single Epoch continuum image (and its component catalogue).
    SingleEpoch,
    /// `cc`: Single Epoch coarse cube (one file per spectral-window group, or a legacy cube).
    CoarseCube,
    /// `cat`: legacy VLASS1.1 component list (PyBDSM Gaussian list), no image.
    LegacyCatalogue,
}

impl Kind {
    /// Short upper-case code: `"QL"`, `"SE"`, `"CC"` or `"CAT"`.
    pub fn code(self) -> &'static str {
        match self {
            Kind::QuickLook => "QL",
            Kind::SingleEpoch => "SE",
            Kind::CoarseCube => "CC",
            Kind::LegacyCatalogue => "CAT",
        }
    }

    /// The lower-case token used in file names: `"ql"`, `"se"`, `"cc"`, `"cat"`.
    pub fn name_token(self) -> &'static str {
        match self {
            Kind::QuickLook => "ql",
            Kind::SingleEpoch => "se",
            Kind::CoarseCube => "cc",
            Kind::LegacyCatalogue => "cat",
        }
    }

    /// The kind named by a `VLASSPT` header value. Both value sets seen in the pipeline are
    /// accepted: `QL`/`SE`/`CC` and `VLASS-QL`/`VLASS-SE-CONT`/`VLASS-SE-CUBE`.
    pub fn from_vlasspt(value: &str) -> Option<Kind> {
        match value.trim().to_ascii_uppercase().as_str() {
            "QL" | "VLASS-QL" => Some(Kind::QuickLook),
            "SE" | "VLASS-SE-CONT" => Some(Kind::SingleEpoch),
            "CC" | "VLASS-SE-CUBE" => Some(Kind::CoarseCube),
            _ => None,
        }
    }

    fn from_token(token: &str) -> Option<Kind> {
        match token {
            "ql" => Some(Kind::QuickLook),
            "se" => Some(Kind::SingleEpoch),
            "cc" => Some(Kind::CoarseCube),
            "cat" => Some(Kind::LegacyCatalogue),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// What a file of a product holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageType {
    /// `image[.pbcor].tt0`: Taylor term 0, the total-intensity image.
    Tt0,
    /// `image[.pbcor].tt1`: Taylor term 1.
    Tt1,
    /// `image[.pbcor].tt0.rms`: noise image of tt0.
    Tt0Rms,
    /// `image[.pbcor].tt1.rms`: noise image of tt1.
    Tt1Rms,
    /// `image[.pbcor]` without a Taylor term: a cube plane or a stacked cube.
    Image,
    /// `image[.pbcor].rms` without a Taylor term: noise image of a cube plane.
    ImageRms,
    /// `[image.pbcor.]alpha`: spectral-index image.
    Alpha,
    /// `[image.pbcor.]alpha.error`: spectral-index error image.
    AlphaError,
    /// `pb[.ttN]`: primary-beam response.
    Pb,
    /// `psf[.ttN]`: point-spread function.
    Psf,
    /// `residual[.ttN]`: clean residual.
    Residual,
    /// `model[.ttN]`: clean model.
    Model,
    /// `catalog` (`…I.catalog.csv`) or a legacy `cat` list: a component catalogue.
    Catalog,
    /// `V_mean_minmaxrej`: the coarse cube's Stokes-V mean with min/max rejection.
    VMeanMinMaxRej,
    /// Legacy VLASS1.1 single-file cube (`VLASS1.1.cc.….v1.fits`): all channels and Stokes.
    LegacyCube,
}

impl ImageType {
    /// Stable lower-case name used in JSON and messages: `"tt0"`, `"tt0.rms"`, `"alpha.error"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::Tt0 => "tt0",
            ImageType::Tt1 => "tt1",
            ImageType::Tt0Rms => "tt0.rms",
            ImageType::Tt1Rms => "tt1.rms",
            ImageType::Image => "image",
            ImageType::ImageRms => "image.rms",
            ImageType::Alpha => "alpha",
            ImageType::AlphaError => "alpha.error",
            ImageType::Pb => "pb",
            ImageType::Psf => "psf",
            ImageType::Residual => "residual",
            ImageType::Model => "model",
            ImageType::Catalog => "catalog",
            ImageType::VMeanMinMaxRej => "V_mean_minmaxrej",
            ImageType::LegacyCube => "cube",
        }
    }

    /// True for the noise images (`tt0.rms`, `tt1.rms`, `image.rms`).
    pub fn is_rms(self) -> bool {
        matches!(
            self,
            ImageType::Tt0Rms | ImageType::Tt1Rms | ImageType::ImageRms
        )
    }
}

impl fmt::Display for ImageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ImageType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Every field of a VLASS product file name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductName {
    /// The name as given (last path component only).
    pub file_name: String,
    /// CASA working-copy prefix such as `s13_0` (without the dot), if present.
    pub working_prefix: Option<String>,
    /// Epoch and campaign half, e.g. `"VLASS2.1"`.
    pub epoch: String,
    /// Product kind (field 3).
    pub kind: Kind,
    /// Tile, `T<dd>t<dd>`, e.g. `"T10t12"`.
    pub tile: String,
    /// Image phase centre as a J2000 name `Jhhmmss±ddmmss`, e.g. `"J075402-033000"`.
    pub phase_center: String,
    /// Cell-size code (field 6) as written, e.g. `"10"` (QL) or `"06"` (SE/CC).
    pub cell_code: String,
    /// Cell size the code stands for, in arcsec (code / 10).
    pub cell_arcsec: f64,
    /// Bandwidth field (field 7) in MHz, e.g. 2048.
    pub bandwidth_mhz: u32,
    /// Processing version `v<N>`; 0 only for `V_mean_minmaxrej` names, which carry none
    /// (serialized as `null` then).
    #[serde(serialize_with = "version_or_null")]
    pub version: u32,
    /// Spectral window when the `spw` field names exactly one (coarse cubes).
    pub spw: Option<u32>,
    /// The `spw` field as written after `spw` (e.g. `"10"`, `"2_3"`, `"2-5"`), if present.
    pub spw_selection: Option<String>,
    /// Stokes parameters: `I`, `Q`, `U`, `V`, `IQU` or `IQUV`.
    pub stokes: String,
    /// Clean iteration stage `iterN` (QL 1, SE/CC 3); absent on catalogues and legacy names.
    pub iteration: Option<u32>,
    /// What the file holds.
    pub image_type: ImageType,
    /// Taylor term `ttN` when the name has one.
    pub taylor_term: Option<u32>,
    /// `pbcor`: primary-beam corrected.
    pub pbcor: bool,
    /// `subim`: the central sub-image cut.
    pub subim: bool,
    /// `com`: cube plane regridded and smoothed to a common beam.
    pub common_beam: bool,
    /// File extension before any `.gz`/`.header`: `"fits"` or `"csv"`.
    pub extension: String,
    /// Name ends in `.gz`.
    pub gzip: bool,
    /// Name ends in `.header` (header-only copies as in CADC test data).
    pub header_only: bool,
    /// A legacy VLASS1.1 layout (single-file `cc` cube or `cat` list).
    pub legacy: bool,
}

fn version_or_null<S: Serializer>(version: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    if *version == 0 {
        serializer.serialize_none()
    } else {
        serializer.serialize_u32(*version)
    }
}

impl ProductName {
    /// Identifies the product a file belongs to: equal for the image, rms, alpha, pb, psf,
    /// catalogue, … files of one product, different across epoch, kind, tile, phase centre,
    /// cell, bandwidth, version or Stokes. Working prefix, iteration, image type,
    /// `subim`/`com` and compression do not enter. Example:
    /// `VLASS2.1.se.T10t01.J000200-003000.06.2048.v1.I`.
    ///
    /// A coarse cube is delivered as one file per spectral window (group): its per-spw files
    /// are planes of one product, so the spw field does not enter either; such files get
    /// `spws` in its place (`VLASS2.1.cc.T10t02.J005000-023000.06.2048.v1.spws.IQU`), which
    /// keeps them apart from a cube stacked into one file (no spw field).
    ///
    /// The key holds no directory: the files of one product sit in one directory, so
    /// callers grouping paths group by (directory, key), as annotate-qa does.
    pub fn group_key(&self) -> String {
        let mut key = format!(
            "{}.{}.{}.{}.{}.{}",
            self.epoch,
            self.kind.name_token(),
            self.tile,
            self.phase_center,
            self.cell_code,
            self.bandwidth_mhz
        );
        if self.version > 0 {
            key.push_str(&format!(".v{}", self.version));
        }
        if self.spw_selection.is_some() {
            if self.kind == Kind::CoarseCube {
                key.push_str(".spws");
            } else if let Some(spw) = &self.spw_selection {
                key.push_str(&format!(".spw{spw}"));
            }
        }
        if !self.stokes.is_empty() {
            key.push('.');
            key.push_str(&self.stokes);
        }
        key
    }

    /// Epoch without the `VLASS` prefix, e.g. `"2.1"` (the form of the `VLASSEP` keyword).
    pub fn epoch_number(&self) -> &str {
        self.epoch.trim_start_matches("VLASS")
    }

    /// Phase centre in degrees `(ra, dec)`, decoded from the J-name (second precision).
    pub fn phase_center_deg(&self) -> (f64, f64) {
        // The J-name was validated by `parse`: "J" + 6 digits + sign + 6 digits.
        let digits = |s: &str| -> f64 { s.parse::<f64>().unwrap_or(0.0) };
        let j = &self.phase_center;
        let ra_hours = digits(&j[1..3]) + digits(&j[3..5]) / 60.0 + digits(&j[5..7]) / 3600.0;
        let dec_abs = digits(&j[8..10]) + digits(&j[10..12]) / 60.0 + digits(&j[12..14]) / 3600.0;
        let dec = if &j[7..8] == "-" { -dec_abs } else { dec_abs };
        (ra_hours * 15.0, dec)
    }
}

/// Why a file name is not a VLASS product name. `Display` gives the reason in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    reason: String,
}

impl NameError {
    fn new(reason: impl Into<String>) -> NameError {
        NameError {
            reason: reason.into(),
        }
    }

    /// The reason alone, e.g. `tile field 'T1t12' is not T<dd>t<dd>`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a VLASS product name: {}", self.reason)
    }
}

impl std::error::Error for NameError {}

/// Parses a VLASS product file name. A directory part is ignored (only the text after the last
/// `/` is read). Never panics; a name outside the scheme gives a [`NameError`] with the reason.
pub fn parse(file_name: &str) -> Result<ProductName, NameError> {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    if base.is_empty() {
        return Err(NameError::new("empty file name"));
    }
    let mut tokens: Vec<&str> = base.split('.').collect();
    if let Some(empty_at) = tokens.iter().position(|t| t.is_empty()) {
        return Err(NameError::new(format!(
            "empty field {} (two dots in a row, or a leading/trailing dot)",
            empty_at + 1
        )));
    }

    let mut gzip = false;
    let mut header_only = false;
    match tokens.last() {
        Some(&"gz") => {
            gzip = true;
            tokens.pop();
        }
        Some(&"header") => {
            header_only = true;
            tokens.pop();
        }
        _ => {}
    }
    let extension = match tokens.pop() {
        Some(ext @ ("fits" | "csv")) => ext.to_string(),
        Some(other) => {
            return Err(NameError::new(format!(
                "extension '.{other}' is not .fits, .fits.gz or .csv"
            )))
        }
        None => return Err(NameError::new("empty file name")),
    };

    let mut fields = Fields::new(&tokens);
    let working_prefix = fields.take_if(is_working_prefix).map(str::to_string);
    let epoch = parse_epoch(&mut fields)?;
    let kind_token = fields.require("product type (ql, se, cc)")?;
    let kind = Kind::from_token(kind_token).ok_or_else(|| {
        NameError::new(format!(
            "product type '{kind_token}' is not ql, se, cc or cat"
        ))
    })?;
    let tile = fields.require("tile")?;
    if !is_tile(tile) {
        return Err(NameError::new(format!(
            "tile field '{tile}' is not T<dd>t<dd>"
        )));
    }
    let phase_center = fields.require("phase centre")?;
    check_jname(phase_center)?;
    let cell_code = fields.require("cell-size code")?;
    if cell_code.len() != 2 || !all_digits(cell_code) || cell_code == "00" {
        return Err(NameError::new(format!(
            "cell-size field '{cell_code}' is not two digits (10 for QL, 06 for SE/CC)"
        )));
    }
    let bandwidth_token = fields.require("bandwidth")?;
    let bandwidth_mhz = parse_number(bandwidth_token)
        .filter(|&mhz| mhz > 0)
        .ok_or_else(|| {
            NameError::new(format!(
                "bandwidth field '{bandwidth_token}' is not a number of MHz"
            ))
        })?;

    let mut name = ProductName {
        file_name: base.to_string(),
        working_prefix,
        epoch,
        kind,
        tile: tile.to_string(),
        phase_center: phase_center.to_string(),
        cell_code: cell_code.to_string(),
        cell_arcsec: f64::from(parse_number(cell_code).unwrap_or(0)) / 10.0,
        bandwidth_mhz,
        version: 0,
        spw: None,
        spw_selection: None,
        stokes: String::new(),
        iteration: None,
        image_type: ImageType::Image,
        taylor_term: None,
        pbcor: false,
        subim: false,
        common_beam: false,
        extension,
        gzip,
        header_only,
        legacy: false,
    };

    if fields.take_if(|t| t == "V_mean_minmaxrej").is_some() {
        if kind != Kind::CoarseCube {
            return Err(NameError::new(
                "V_mean_minmaxrej appears only in coarse-cube (cc) names",
            ));
        }
        name.stokes = "V".to_string();
        name.image_type = ImageType::VMeanMinMaxRej;
        name.subim = fields.take_if(|t| t == "subim").is_some();
        return finish(name, &fields);
    }

    let version_token = fields.require("version (v<N>)")?;
    name.version = version_token
        .strip_prefix('v')
        .and_then(parse_number)
        .filter(|&v| v > 0)
        .ok_or_else(|| NameError::new(format!("version field '{version_token}' is not v<N>")))?;

    if fields.is_empty() {
        return legacy_name(name);
    }
    if kind == Kind::LegacyCatalogue {
        return Err(NameError::new(format!(
            "legacy catalogue name has extra fields after the version: '{}'",
            fields.rest()
        )));
    }

    if let Some(spw) = fields.take_if(|t| t.starts_with("spw")) {
        let selection = &spw[3..];
        if kind != Kind::CoarseCube {
            return Err(NameError::new(format!(
                "spectral-window field '{spw}' appears only in coarse-cube (cc) names"
            )));
        }
        if selection.is_empty()
            || !selection.starts_with(|c: char| c.is_ascii_digit())
            || !selection
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(NameError::new(format!(
                "spectral-window field '{spw}' is not spw<n>, spw<n>_<m> or spw<n>-<m>"
            )));
        }
        name.spw = parse_number(selection);
        name.spw_selection = Some(selection.to_string());
    }

    let stokes = fields.require("Stokes (I, Q, U, V, IQU, IQUV)")?;
    if !matches!(stokes, "I" | "Q" | "U" | "V" | "IQU" | "IQUV") {
        return Err(NameError::new(format!(
            "Stokes field '{stokes}' is not I, Q, U, V, IQU or IQUV"
        )));
    }
    name.stokes = stokes.to_string();

    if let Some(iter) = fields.take_if(|t| t.starts_with("iter")) {
        name.iteration =
            Some(parse_number(&iter[4..]).ok_or_else(|| {
                NameError::new(format!("iteration field '{iter}' is not iter<N>"))
            })?);
    }

    parse_image_type(&mut name, &mut fields)?;
    finish(name, &fields)
}

/// Classifies the image-type part (`image.pbcor.tt0.rms`, `alpha.error`, `pb.tt0`, `catalog`)
/// and the trailing `subim`/`com` flags.
fn parse_image_type(name: &mut ProductName, fields: &mut Fields<'_>) -> Result<(), NameError> {
    let head = fields.require("image type")?;
    match head {
        "catalog" => {
            name.image_type = ImageType::Catalog;
            return Ok(());
        }
        "image" => {
            name.pbcor = fields.take_if(|t| t == "pbcor").is_some();
            name.taylor_term = take_taylor_term(fields)?;
            if fields.take_if(|t| t == "alpha").is_some() {
                if name.taylor_term.is_some() {
                    return Err(NameError::new("alpha follows a Taylor term (ttN)"));
                }
                name.image_type = alpha_kind(fields);
            } else {
                let rms = fields.take_if(|t| t == "rms").is_some();
                name.image_type = match (name.taylor_term, rms) {
                    (None, false) => ImageType::Image,
                    (None, true) => ImageType::ImageRms,
                    (Some(0), false) => ImageType::Tt0,
                    (Some(0), true) => ImageType::Tt0Rms,
                    (Some(1), false) => ImageType::Tt1,
                    (Some(1), true) => ImageType::Tt1Rms,
                    (Some(n), _) => {
                        return Err(NameError::new(format!(
                            "Taylor term tt{n}: VLASS images have only tt0 and tt1"
                        )))
                    }
                };
            }
        }
        "alpha" => name.image_type = alpha_kind(fields),
        "pb" | "psf" | "residual" | "model" => {
            name.image_type = match head {
                "pb" => ImageType::Pb,
                "psf" => ImageType::Psf,
                "residual" => ImageType::Residual,
                _ => ImageType::Model,
            };
            name.taylor_term = take_taylor_term(fields)?;
        }
        other => {
            return Err(NameError::new(format!(
                "unknown image type '{other}' (expected image, alpha, pb, psf, residual, model or catalog)"
            )))
        }
    }
    name.subim = fields.take_if(|t| t == "subim").is_some();
    if fields.take_if(|t| t == "com").is_some() {
        if name.kind != Kind::CoarseCube {
            return Err(NameError::new(
                "common-beam field 'com' appears only in coarse-cube (cc) names",
            ));
        }
        name.common_beam = true;
    }
    Ok(())
}

fn alpha_kind(fields: &mut Fields<'_>) -> ImageType {
    if fields.take_if(|t| t == "error").is_some() {
        ImageType::AlphaError
    } else {
        ImageType::Alpha
    }
}

fn take_taylor_term(fields: &mut Fields<'_>) -> Result<Option<u32>, NameError> {
    match fields.take_if(|t| t.starts_with("tt")) {
        None => Ok(None),
        Some(tt) => parse_number(&tt[2..])
            .map(Some)
            .ok_or_else(|| NameError::new(format!("Taylor-term field '{tt}' is not tt<N>"))),
    }
}

/// The VLASS1.1 layouts with nothing after the version: a single-file `cc` cube or a `cat` list.
fn legacy_name(mut name: ProductName) -> Result<ProductName, NameError> {
    name.legacy = true;
    match (name.kind, name.extension.as_str()) {
        (Kind::CoarseCube, "fits") => {
            name.image_type = ImageType::LegacyCube;
            Ok(name)
        }
        (Kind::LegacyCatalogue, "csv") => {
            name.image_type = ImageType::Catalog;
            Ok(name)
        }
        (Kind::LegacyCatalogue, _) => Err(NameError::new("legacy catalogue name must end in .csv")),
        (kind, _) => Err(NameError::new(format!(
            "name ends after the version; a {} name needs Stokes and image type",
            kind.name_token()
        ))),
    }
}

/// Final consistency checks once every field is classified.
fn finish(name: ProductName, fields: &Fields<'_>) -> Result<ProductName, NameError> {
    if !fields.is_empty() {
        return Err(NameError::new(format!(
            "unexpected field(s) '{}' after the {} image type",
            fields.rest(),
            name.image_type
        )));
    }
    let catalogue = name.image_type == ImageType::Catalog;
    if catalogue && name.extension != "csv" {
        return Err(NameError::new("a catalogue name must end in .csv"));
    }
    if !catalogue && name.extension != "fits" {
        return Err(NameError::new(format!(
            "a {} image must end in .fits or .fits.gz, not .{}",
            name.image_type, name.extension
        )));
    }
    Ok(name)
}

fn parse_epoch(fields: &mut Fields<'_>) -> Result<String, NameError> {
    let first = fields.require("epoch (VLASS<e>.<h>)")?;
    let major = first.strip_prefix("VLASS").ok_or_else(|| {
        NameError::new(format!(
            "does not start with VLASS<epoch> (found '{first}')"
        ))
    })?;
    if major.len() != 1 || !all_digits(major) || major == "0" {
        return Err(NameError::new(format!(
            "epoch '{first}' is not VLASS1..VLASS9"
        )));
    }
    let half = fields.require("campaign half after the epoch")?;
    if half != "1" && half != "2" {
        let hint = if half.len() > 1 && half.starts_with(['1', '2']) && half[1..].starts_with('v') {
            " (a reprocessing suffix such as 'v2' belongs to archive directory names, not files)"
        } else {
            ""
        };
        return Err(NameError::new(format!(
            "epoch '{first}.{half}': the campaign half must be 1 or 2{hint}"
        )));
    }
    Ok(format!("{first}.{half}"))
}

fn check_jname(token: &str) -> Result<(), NameError> {
    let bytes = token.as_bytes();
    let shaped = bytes.len() == 14
        && bytes[0] == b'J'
        && (bytes[7] == b'+' || bytes[7] == b'-')
        && all_digits(&token[1..7])
        && all_digits(&token[8..14]);
    if !shaped {
        return Err(NameError::new(format!(
            "phase-centre field '{token}' is not Jhhmmss+ddmmss"
        )));
    }
    let two = |at: usize| parse_number(&token[at..at + 2]).unwrap_or(99);
    let (hh, mm, ss, dd, am, asec) = (two(1), two(3), two(5), two(8), two(10), two(12));
    if hh > 23
        || mm > 59
        || ss > 59
        || dd > 90
        || am > 59
        || asec > 59
        || (dd == 90 && am + asec > 0)
    {
        return Err(NameError::new(format!(
            "phase-centre field '{token}' is out of range (RA < 24h, |Dec| <= 90d, minutes and seconds < 60)"
        )));
    }
    Ok(())
}

fn is_tile(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 6
        && b[0] == b'T'
        && b[3] == b't'
        && all_digits(&token[1..3])
        && all_digits(&token[4..6])
}

fn is_working_prefix(token: &str) -> bool {
    token
        .strip_prefix('s')
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && all_digits(a) && all_digits(b))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_number(s: &str) -> Option<u32> {
    if all_digits(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// The dot-separated fields of a name, consumed from the left.
struct Fields<'a> {
    tokens: &'a [&'a str],
    next: usize,
}

impl<'a> Fields<'a> {
    fn new(tokens: &'a [&'a str]) -> Fields<'a> {
        Fields { tokens, next: 0 }
    }

    fn is_empty(&self) -> bool {
        self.next >= self.tokens.len()
    }

    fn rest(&self) -> String {
        self.tokens[self.next.min(self.tokens.len())..].join(".")
    }

    /// The next field, or an error saying the name is truncated before `what`.
    fn require(&mut self, what: &str) -> Result<&'a str, NameError> {
        let token = self
            .tokens
            .get(self.next)
            .copied()
            .ok_or_else(|| NameError::new(format!("name ends before the {what} field")))?;
        self.next += 1;
        Ok(token)
    }

    /// The next field if it satisfies `accept`.
    fn take_if(&mut self, accept: impl Fn(&str) -> bool) -> Option<&'a str> {
        let token = self.tokens.get(self.next).copied()?;
        if accept(token) {
            self.next += 1;
            Some(token)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
