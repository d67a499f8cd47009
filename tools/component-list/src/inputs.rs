//! Reading the input images and checking they fit together: an auxiliary
//! image (rms map, tt1, alpha) must have the detection image's size and WCS,
//! or the run stops with a message naming the file and the difference.

use crate::Failure;
use ndarray::Array2;
use std::path::Path;
use vlass_fits::{Header, Image};
use vlass_sourcefind::catalog::table::format_python_float;
use vlass_wcs::Wcs;

/// An opened single-plane image with its pixels and WCS.
pub struct PlaneImage {
    pub image: Image,
    pub wcs: Wcs,
    pub data: Array2<f32>,
}

/// Opens `path` and reads its only plane; `role` names it in messages.
pub fn read_single_plane(path: &Path, role: &str) -> Result<PlaneImage, Failure> {
    let mut image = Image::open(path)?;
    let planes = image.plane_count();
    if planes != 1 {
        return Err(Failure(format!(
            "{}: {role} has {planes} planes; continuum mode reads single-plane images \
(use `component-list cube` for cubes)",
            path.display()
        )));
    }
    let wcs = image.wcs()?;
    let data = image.read_plane(0)?;
    Ok(PlaneImage { image, wcs, data })
}

/// Fails unless `other` has the same pixel grid as `reference`: the same
/// size, and sky positions of the centre and corners within 1% of a pixel.
pub fn check_same_grid(
    reference: &PlaneImage,
    other: &PlaneImage,
    role: &str,
) -> Result<(), Failure> {
    let (rn, on) = (reference.data.dim(), other.data.dim());
    if rn != on {
        return Err(Failure(format!(
            "{}: {role} is {}x{} pixels but the image {} is {}x{}",
            other.image.path().display(),
            on.1,
            on.0,
            reference.image.path().display(),
            rn.1,
            rn.0
        )));
    }
    let (nx, ny) = (rn.1 as f64, rn.0 as f64);
    let tolerance_deg = 0.01 * reference.wcs.pixel_scale_arcsec() / 3600.0;
    for (x, y) in [
        (0.0, 0.0),
        (nx - 1.0, 0.0),
        (0.0, ny - 1.0),
        (nx - 1.0, ny - 1.0),
        ((nx - 1.0) / 2.0, (ny - 1.0) / 2.0),
    ] {
        let a = reference.wcs.pixel_to_world(x, y);
        let b = other.wcs.pixel_to_world(x, y);
        let differs = match (a, b) {
            (Some((ra1, dec1)), Some((ra2, dec2))) => {
                vlass_sourcefind::catalog::sky::separation_deg(ra1, dec1, ra2, dec2) > tolerance_deg
            }
            (None, None) => false,
            _ => true,
        };
        if differs {
            return Err(Failure(format!(
                "{}: {role} has another WCS than the image {} (pixel ({x}, {y}) maps to {} vs {})",
                other.image.path().display(),
                reference.image.path().display(),
                show_position(b),
                show_position(a)
            )));
        }
    }
    Ok(())
}

fn show_position(p: Option<(f64, f64)>) -> String {
    match p {
        Some((ra, dec)) => format!("RA {ra:.6} Dec {dec:.6}"),
        None => "nothing (outside the projection)".to_string(),
    }
}

/// The file name of `path` without `.fits` / `.fits.gz` (the default output prefix).
pub fn default_prefix(path: &Path) -> String {
    let name = file_name(path);
    for suffix in [".fits.gz", ".fits", ".FITS.gz", ".FITS", ".fit"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return stem.to_string();
        }
    }
    name
}

/// The last component of `path` as text.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The header's value cards as (key, value as Python's repr would print it),
/// HISTORY/COMMENT/blank cards left out: what PyBDSF copies into its FITS
/// catalogues as `COMMENT KEY = value`.
pub fn header_cards_as_python(header: &Header) -> Vec<(String, String)> {
    header
        .cards()
        .iter()
        .filter(|c| !matches!(c.key.as_str(), "HISTORY" | "COMMENT" | "" | "END"))
        .filter_map(|c| Some((c.key.clone(), python_repr(c.value.as_deref()?))))
        .collect()
}

/// A raw FITS value as Python would `repr` the value astropy decodes.
fn python_repr(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('\'') {
        let text = inner.strip_suffix('\'').unwrap_or(inner).replace("''", "'");
        return format!("'{}'", text.trim_end().replace('\'', "\\'"));
    }
    match raw {
        "T" => return "True".to_string(),
        "F" => return "False".to_string(),
        _ => {}
    }
    if let Ok(i) = raw.parse::<i64>() {
        return i.to_string();
    }
    if let Ok(f) = raw.replace(['D', 'd'], "E").parse::<f64>() {
        return format_python_float(f);
    }
    raw.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs_of_fits_values() {
        assert_eq!(python_repr("'Intensity'"), "'Intensity'");
        assert_eq!(python_repr("'Jy/beam '"), "'Jy/beam'");
        assert_eq!(python_repr("T"), "True");
        assert_eq!(python_repr("-32"), "-32");
        assert_eq!(python_repr("6.582081317902E-04"), "0.0006582081317902");
        assert_eq!(python_repr("3.0E9"), "3000000000.0");
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            default_prefix(Path::new("a/b.tt0.subim.fits")),
            "b.tt0.subim"
        );
        assert_eq!(default_prefix(Path::new("x.fits.gz")), "x");
    }
}
