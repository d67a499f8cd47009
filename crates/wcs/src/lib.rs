//! vlass-wcs: celestial world coordinates of VLASS/CASA images.
//!
//! Implements the FITS WCS standard (Greisen & Calabretta 2002, Paper I;
//! Calabretta & Greisen 2002, Paper II) for the zenithal projections CASA
//! writes: `SIN` (with the `PV2_1`/`PV2_2` slant terms), `NCP` (the old name
//! for SIN with `PV2_2 = cot(CRVAL2)`) and `TAN`. The linear part may be given
//! as `PCi_j` + `CDELTi`, as `CDi_j`, or as legacy `CDELTi` + `CROTA2`. The
//! celestial axes are found by `CTYPEi` in any position among the image axes.
//!
//! Angles are degrees at the API edges and radians inside. Pixel coordinates
//! are 0-based (FITS pixel minus 1), as everywhere in this toolkit.
//! Accuracy against astropy.wcs is checked by golden data made by
//! `scripts/wcs_golden.py` (see `testdata/wcs/`).

mod celestial;
mod error;
mod keywords;
mod projection;

pub use error::WcsError;
pub use keywords::Keywords;

use celestial::SphericalRotation;
use projection::Projection;

/// The celestial part of a FITS world coordinate system.
///
/// Built once from the header with [`Wcs::from_keywords`]; cheap to copy and
/// `Send + Sync`, so one value can be shared by all threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Wcs {
    /// 1-based FITS axis numbers of the longitude and latitude axes.
    lon_axis: usize,
    lat_axis: usize,
    /// Reference pixel (FITS 1-based) on the longitude and latitude axes.
    crpix: [f64; 2],
    /// Pixel offset -> intermediate world coordinate (degrees), row-major:
    /// `[x, y] = m * [p_lon - crpix_lon, p_lat - crpix_lat]`.
    matrix: [[f64; 2]; 2],
    /// Inverse of `matrix`.
    inverse: [[f64; 2]; 2],
    projection: Projection,
    rotation: SphericalRotation,
}

impl Wcs {
    /// Reads the celestial WCS from header keywords.
    ///
    /// Fails with a [`WcsError`] naming the keyword when a needed keyword is
    /// missing or has an unsupported value (no RA/DEC axes, a projection other
    /// than SIN/NCP/TAN, no CDELT and no CD matrix, a singular matrix, ...).
    pub fn from_keywords(keywords: &dyn Keywords) -> Result<Wcs, WcsError> {
        // Without NAXIS (e.g. a bare keyword list) look at the first 9 axes.
        let naxis = keywords
            .real("NAXIS")
            .map_or(9, |n| (n.max(0.0) as usize).clamp(2, 99));
        let (lon_axis, lat_axis, code) = find_celestial_axes(keywords, naxis)?;
        for axis in [lon_axis, lat_axis] {
            let key = format!("CUNIT{axis}");
            if let Some(unit) = keywords.text(&key) {
                let unit = unit.trim();
                if !unit.is_empty() && !unit.eq_ignore_ascii_case("deg") {
                    return Err(WcsError::keyword(
                        &key,
                        format!("celestial axis unit '{unit}' is not supported (only deg)"),
                    ));
                }
            }
        }
        let crpix = [
            required(keywords, &format!("CRPIX{lon_axis}"))?,
            required(keywords, &format!("CRPIX{lat_axis}"))?,
        ];
        let crval = [
            required(keywords, &format!("CRVAL{lon_axis}"))?,
            required(keywords, &format!("CRVAL{lat_axis}"))?,
        ];
        if !(-90.0..=90.0).contains(&crval[1]) {
            return Err(WcsError::keyword(
                &format!("CRVAL{lat_axis}"),
                format!("latitude {} is outside [-90, 90]", crval[1]),
            ));
        }
        reject_unreadable_optional_keywords(keywords, lon_axis, lat_axis)?;
        let matrix = linear_matrix(keywords, lon_axis, lat_axis)?;
        let det = matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0];
        if !det.is_finite() || det == 0.0 {
            return Err(WcsError::general(
                "the pixel-to-world matrix (PC/CDELT or CD) is singular",
            ));
        }
        let inverse = [
            [matrix[1][1] / det, -matrix[0][1] / det],
            [-matrix[1][0] / det, matrix[0][0] / det],
        ];
        let projection = Projection::from_code(&code, keywords, lat_axis, crval[1])?;
        reject_moved_fiducial_point(keywords, lon_axis)?;
        // PV<lon>_3 is the standard alternative spelling of LONPOLE.
        let lonpole = keywords
            .real("LONPOLE")
            .or_else(|| keywords.real(&format!("PV{lon_axis}_3")));
        let rotation = SphericalRotation::for_zenithal(crval[0], crval[1], lonpole);
        Ok(Wcs {
            lon_axis,
            lat_axis,
            crpix,
            matrix,
            inverse,
            projection,
            rotation,
        })
    }

    /// 0-based positions of the (longitude, latitude) axes among the image
    /// axes (FITS axis n is position n - 1), as `vlass_fits::Image` reports them.
    pub fn celestial_axes(&self) -> (usize, usize) {
        (self.lon_axis - 1, self.lat_axis - 1)
    }

    /// 0-based pixel (x along the longitude axis, y along the latitude axis)
    /// to (RA in [0, 360), Dec) in degrees. `None` if the pixel lies outside
    /// the projection's valid region (e.g. beyond the SIN horizon) or not finite.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let dp = [x + 1.0 - self.crpix[0], y + 1.0 - self.crpix[1]];
        let ix = self.matrix[0][0] * dp[0] + self.matrix[0][1] * dp[1];
        let iy = self.matrix[1][0] * dp[0] + self.matrix[1][1] * dp[1];
        let (phi, theta) = self.projection.plane_to_native(ix, iy)?;
        let (ra, dec) = self.rotation.native_to_celestial(phi, theta);
        let ra_deg = normalize_degrees(ra.to_degrees());
        Some((ra_deg, dec.to_degrees()))
    }

    /// (RA, Dec) in degrees to 0-based pixel (x, y). `None` if the position is
    /// not visible in the projection (e.g. on the far side of a SIN image).
    pub fn world_to_pixel(&self, ra_deg: f64, dec_deg: f64) -> Option<(f64, f64)> {
        if !ra_deg.is_finite() || !(-90.0..=90.0).contains(&dec_deg) {
            return None;
        }
        let (phi, theta) = self
            .rotation
            .celestial_to_native(ra_deg.to_radians(), dec_deg.to_radians());
        let (ix, iy) = self.projection.native_to_plane(phi, theta)?;
        let dx = self.inverse[0][0] * ix + self.inverse[0][1] * iy;
        let dy = self.inverse[1][0] * ix + self.inverse[1][1] * iy;
        Some((dx + self.crpix[0] - 1.0, dy + self.crpix[1] - 1.0))
    }

    /// Pixel size in arcsec: the square root of |det| of the pixel to
    /// intermediate-world matrix (exact for square pixels at the reference point).
    pub fn pixel_scale_arcsec(&self) -> f64 {
        let det = self.matrix[0][0] * self.matrix[1][1] - self.matrix[0][1] * self.matrix[1][0];
        det.abs().sqrt() * 3600.0
    }

    /// Angle (degrees, counter-clockwise) from the image +y axis to the
    /// direction of local celestial north at 0-based pixel (x, y). An angle
    /// measured counter-clockwise from +y in the image becomes a position
    /// angle east of north by subtracting this value (for the usual
    /// east-left orientation). Returns 0 where the pixel is outside the
    /// projection.
    pub fn north_angle_deg(&self, x: f64, y: f64) -> f64 {
        let Some((ra, dec)) = self.pixel_to_world(x, y) else {
            return 0.0;
        };
        // One arcsec step towards the pole (or away from it at the pole itself).
        let step = 1.0 / 3600.0;
        let (target_dec, sign) = if dec + step <= 90.0 {
            (dec + step, 1.0)
        } else {
            (dec - step, -1.0)
        };
        let Some((x2, y2)) = self.world_to_pixel(ra, target_dec) else {
            return 0.0;
        };
        let dx = sign * (x2 - x);
        let dy = sign * (y2 - y);
        (-dx).atan2(dy).to_degrees()
    }
}

/// Which celestial coordinate a `CTYPEn` value describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CelestialAxis {
    /// RA, GLON or ELON.
    Longitude,
    /// DEC, GLAT or ELAT.
    Latitude,
}

/// Classifies a `CTYPEn` value (`'RA---SIN'` -> Longitude); `None` for
/// non-celestial axes such as `FREQ` or `STOKES`.
pub fn celestial_axis(ctype: &str) -> Option<CelestialAxis> {
    let upper = ctype.trim().to_ascii_uppercase();
    let name = upper.split('-').next().unwrap_or("");
    match name {
        "RA" | "GLON" | "ELON" => Some(CelestialAxis::Longitude),
        "DEC" | "GLAT" | "ELAT" => Some(CelestialAxis::Latitude),
        _ => None,
    }
}

/// Wraps an angle in degrees into [0, 360).
fn normalize_degrees(angle: f64) -> f64 {
    let wrapped = angle.rem_euclid(360.0);
    // rem_euclid of a tiny negative number can round to exactly 360.
    if wrapped >= 360.0 {
        0.0
    } else {
        wrapped
    }
}

/// The supported projections put the fiducial point at the native pole
/// (phi_0, theta_0) = (0, 90); a header moving it with PV<lon>_1 / PV<lon>_2
/// would need the general rotation (and LATPOLE), which CASA never writes.
fn reject_moved_fiducial_point(keywords: &dyn Keywords, lon_axis: usize) -> Result<(), WcsError> {
    for (m, default) in [(1, 0.0), (2, 90.0)] {
        let key = format!("PV{lon_axis}_{m}");
        if let Some(value) = keywords.real(&key) {
            if value != default {
                return Err(WcsError::keyword(
                    &key,
                    format!(
                        "a fiducial point other than the native pole is not supported ({value})"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The optional keywords (PC/CD matrix, CROTA, PV, LONPOLE) default when
/// absent; one that is present with a value that is not a finite number (a
/// corrupted card, `NaN`, a string) would silently take the default and give
/// wrong sky positions, so it is an error naming the keyword.
fn reject_unreadable_optional_keywords(
    keywords: &dyn Keywords,
    lon_axis: usize,
    lat_axis: usize,
) -> Result<(), WcsError> {
    let mut keys = vec![format!("CROTA{lat_axis}"), "LONPOLE".to_string()];
    for i in [lon_axis, lat_axis] {
        for j in [lon_axis, lat_axis] {
            keys.push(format!("PC{i}_{j}"));
            keys.push(format!("CD{i}_{j}"));
        }
    }
    for m in 1..=3 {
        keys.push(format!("PV{lon_axis}_{m}"));
    }
    for m in 1..=2 {
        keys.push(format!("PV{lat_axis}_{m}"));
    }
    for key in keys {
        if !keywords.contains(&key) {
            continue;
        }
        match keywords.real(&key) {
            Some(v) if v.is_finite() => {}
            _ => {
                return Err(WcsError::keyword(
                    &key,
                    "value is not a finite number".into(),
                ))
            }
        }
    }
    Ok(())
}

fn required(keywords: &dyn Keywords, key: &str) -> Result<f64, WcsError> {
    match keywords.real(key) {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(WcsError::keyword(
            key,
            "value is not a finite number".into(),
        )),
        None if keywords.contains(key) => Err(WcsError::keyword(
            key,
            "value is not a finite number".into(),
        )),
        None => Err(WcsError::keyword(
            key,
            "missing (needed for the WCS)".into(),
        )),
    }
}

/// Finds the celestial axes: returns (lon axis, lat axis, projection code).
fn find_celestial_axes(
    keywords: &dyn Keywords,
    naxis: usize,
) -> Result<(usize, usize, String), WcsError> {
    let mut lon: Option<(usize, String)> = None;
    let mut lat: Option<(usize, String)> = None;
    for axis in 1..=naxis {
        let key = format!("CTYPE{axis}");
        let Some(ctype) = keywords.text(&key) else {
            continue;
        };
        let ctype = ctype.trim().to_ascii_uppercase();
        let (name, code) = match ctype.split_once('-') {
            Some((name, rest)) => (name.to_string(), rest.trim_start_matches('-').to_string()),
            None => (ctype.clone(), String::new()),
        };
        let slot = match celestial_axis(&name) {
            Some(CelestialAxis::Longitude) => &mut lon,
            Some(CelestialAxis::Latitude) => &mut lat,
            None => continue,
        };
        if slot.is_some() {
            return Err(WcsError::keyword(
                &key,
                format!("second celestial axis '{ctype}'"),
            ));
        }
        if code.is_empty() {
            return Err(WcsError::keyword(
                &key,
                format!("'{ctype}' names no projection"),
            ));
        }
        *slot = Some((axis, code));
    }
    match (lon, lat) {
        (Some((lon_axis, lon_code)), Some((lat_axis, lat_code))) => {
            if lon_code != lat_code {
                return Err(WcsError::keyword(
                    &format!("CTYPE{lat_axis}"),
                    format!("projection '{lat_code}' differs from CTYPE{lon_axis} '{lon_code}'"),
                ));
            }
            Ok((lon_axis, lat_axis, lon_code))
        }
        (None, _) => Err(WcsError::keyword(
            "CTYPE1",
            "no celestial longitude axis (RA---xxx) among the CTYPEn keywords".into(),
        )),
        (_, None) => Err(WcsError::keyword(
            "CTYPE2",
            "no celestial latitude axis (DEC--xxx) among the CTYPEn keywords".into(),
        )),
    }
}

/// Builds the 2x2 pixel-offset -> intermediate-world (degrees) matrix of the
/// celestial axes from CDi_j, PCi_j + CDELTi, or CDELTi + CROTA2.
fn linear_matrix(
    keywords: &dyn Keywords,
    lon_axis: usize,
    lat_axis: usize,
) -> Result<[[f64; 2]; 2], WcsError> {
    let axes = [lon_axis, lat_axis];
    let cd_present = axes.iter().any(|i| {
        axes.iter()
            .any(|j| keywords.real(&format!("CD{i}_{j}")).is_some())
    });
    let pc_present = axes.iter().any(|i| {
        axes.iter()
            .any(|j| keywords.real(&format!("PC{i}_{j}")).is_some())
    });
    if cd_present && !pc_present {
        let mut m = [[0.0; 2]; 2];
        for (r, i) in axes.iter().enumerate() {
            for (c, j) in axes.iter().enumerate() {
                m[r][c] = keywords.real(&format!("CD{i}_{j}")).unwrap_or(0.0);
            }
        }
        return Ok(m);
    }
    let cdelt = [
        required(keywords, &format!("CDELT{lon_axis}"))?,
        required(keywords, &format!("CDELT{lat_axis}"))?,
    ];
    let mut pc = [[1.0, 0.0], [0.0, 1.0]];
    if pc_present {
        for (r, i) in axes.iter().enumerate() {
            for (c, j) in axes.iter().enumerate() {
                let default = if r == c { 1.0 } else { 0.0 };
                pc[r][c] = keywords.real(&format!("PC{i}_{j}")).unwrap_or(default);
            }
        }
    } else if let Some(crota) = keywords.real(&format!("CROTA{lat_axis}")) {
        // Paper II eq. (189): the legacy rotation expressed as a PC matrix.
        let rho = crota.to_radians();
        let ratio = cdelt[1] / cdelt[0];
        pc = [
            [rho.cos(), -rho.sin() * ratio],
            [rho.sin() / ratio, rho.cos()],
        ];
    }
    Ok([
        [cdelt[0] * pc[0][0], cdelt[0] * pc[0][1]],
        [cdelt[1] * pc[1][0], cdelt[1] * pc[1][1]],
    ])
}

#[cfg(test)]
mod tests;
