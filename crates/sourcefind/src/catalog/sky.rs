//! Pixel -> sky conversion of catalogue quantities with the image's WCS:
//! positions (RA in [0, 360), Dec), on-sky position errors, and Gaussian
//! sizes and angles corrected for the local scale and the direction of north
//! (PyBDSF's `Maj`, `PA`), next to the uncorrected `*_img_plane` values
//! (sizes times the pixel scale, angles as fitted on the pixel grid).
//!
//! The correction works on the local linearisation of the WCS: a half-pixel
//! step either side of the centre along an axis direction gives that
//! direction's angular scale and its position angle east of north. This is
//! exact to first order everywhere, including at RA 0/360 and near a pole.

use crate::model::Shape;
use vlass_wcs::Wcs;

/// A size/angle triple on the sky with errors: FWHM and errors in degrees,
/// PA and its error in degrees (east of north for corrected values).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SkyShape {
    pub maj_deg: f64,
    pub e_maj_deg: f64,
    pub min_deg: f64,
    pub e_min_deg: f64,
    pub pa_deg: f64,
    pub e_pa_deg: f64,
}

/// Converts finder results (0-based pixels) to sky values with one WCS.
pub struct SkyFrame<'a> {
    wcs: &'a Wcs,
    scale_deg: f64,
}

/// Angular separation of two points, degrees (haversine form: accurate for
/// the tiny separations of a half-pixel step).
pub fn separation_deg(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (d1, d2) = (dec1.to_radians(), dec2.to_radians());
    let dra = (ra2 - ra1).to_radians();
    let h = ((d2 - d1) / 2.0).sin().powi(2) + d1.cos() * d2.cos() * (dra / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin().to_degrees()
}

/// Position angle of point 2 seen from point 1, degrees east of north in (-180, 180].
pub fn position_angle_deg(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (d1, d2) = (dec1.to_radians(), dec2.to_radians());
    let dra = (ra2 - ra1).to_radians();
    let y = dra.sin() * d2.cos();
    let x = d1.cos() * d2.sin() - d1.sin() * d2.cos() * dra.cos();
    y.atan2(x).to_degrees()
}

/// Wraps an angle difference to (-90, 90]: axis directions are defined modulo 180.
fn wrap_half_turn(angle: f64) -> f64 {
    let mut a = angle.rem_euclid(180.0);
    if a > 90.0 {
        a -= 180.0;
    }
    a
}

impl<'a> SkyFrame<'a> {
    /// A frame over `wcs`.
    pub fn new(wcs: &'a Wcs) -> SkyFrame<'a> {
        SkyFrame {
            wcs,
            scale_deg: wcs.pixel_scale_arcsec() / 3600.0,
        }
    }

    /// The nominal pixel scale, degrees per pixel.
    pub fn scale_deg(&self) -> f64 {
        self.scale_deg
    }

    /// (RA, Dec) in degrees of a 0-based pixel; NaN outside the projection.
    pub fn position(&self, x: f64, y: f64) -> (f64, f64) {
        if !(x.is_finite() && y.is_finite()) {
            return (f64::NAN, f64::NAN);
        }
        self.wcs
            .pixel_to_world(x, y)
            .unwrap_or((f64::NAN, f64::NAN))
    }

    /// Angular scale (degrees per pixel) and position angle (east of north)
    /// of the pixel-grid direction at `pa_pix` degrees CCW from +y, at (x, y).
    fn direction(&self, x: f64, y: f64, pa_pix: f64) -> Option<(f64, f64)> {
        let (s, c) = pa_pix.to_radians().sin_cos();
        // CCW from +y: at 90 degrees the direction is -x.
        let (dx, dy) = (-s * 0.5, c * 0.5);
        let (ra0, dec0) = self.wcs.pixel_to_world(x, y)?;
        let (ra1, dec1) = self.wcs.pixel_to_world(x - dx, y - dy)?;
        let (ra2, dec2) = self.wcs.pixel_to_world(x + dx, y + dy)?;
        let scale = separation_deg(ra1, dec1, ra2, dec2);
        // Both half-steps seen from the centre: the mean cancels the
        // second-order (curvature) term of either alone.
        let forward = position_angle_deg(ra0, dec0, ra2, dec2);
        let backward = position_angle_deg(ra0, dec0, ra1, dec1) + 180.0;
        let pa = forward + wrap_half_turn(backward - forward) / 2.0;
        (scale.is_finite() && pa.is_finite()).then_some((scale, pa))
    }

    /// Local rotation (degrees) to add to a pixel-grid angle to get a
    /// position angle east of north, at (x, y), for direction `pa_pix`.
    fn rotation(&self, x: f64, y: f64, pa_pix: f64) -> Option<f64> {
        let (_, pa_sky) = self.direction(x, y, pa_pix)?;
        Some(wrap_half_turn(pa_sky - pa_pix))
    }

    /// On-sky position errors (E_RA, E_DEC), degrees: the pixel errors
    /// rotated by the local angle of north and scaled (no 1/cos(Dec): E_RA
    /// is an angle on the sky, as in PyBDSF).
    pub fn position_errors(&self, x: f64, y: f64, e_x: f64, e_y: f64) -> (f64, f64) {
        let theta = self.rotation(x, y, 0.0).unwrap_or(0.0).to_radians();
        let (s, c) = theta.sin_cos();
        let e_ra = ((e_x * c).powi(2) + (e_y * s).powi(2)).sqrt() * self.scale_deg;
        let e_dec = ((e_x * s).powi(2) + (e_y * c).powi(2)).sqrt() * self.scale_deg;
        (e_ra, e_dec)
    }

    /// A fitted (or deconvolved) shape at (x, y) on the sky, corrected for
    /// the local scale along each axis and for the direction of north.
    /// `wrap` puts the PA into [0, 180) as PyBDSF does for fitted sizes;
    /// deconvolved angles keep the finder's range (PyBDSF does not wrap them).
    pub fn shape(&self, x: f64, y: f64, shape: &Shape, wrap: bool) -> SkyShape {
        let major = self.direction(x, y, shape.pa_deg);
        let minor = self.direction(x, y, shape.pa_deg + 90.0);
        let (Some((scale_maj, _)), Some((scale_min, _)), Some(rotation)) =
            (major, minor, self.rotation(x, y, shape.pa_deg))
        else {
            return SkyShape {
                maj_deg: f64::NAN,
                e_maj_deg: f64::NAN,
                min_deg: f64::NAN,
                e_min_deg: f64::NAN,
                pa_deg: f64::NAN,
                e_pa_deg: f64::NAN,
            };
        };
        let mut pa = shape.pa_deg + rotation;
        if wrap {
            pa = pa.rem_euclid(180.0);
        }
        SkyShape {
            maj_deg: shape.maj_fwhm_pix * scale_maj,
            e_maj_deg: shape.e_maj_pix * scale_maj,
            min_deg: shape.min_fwhm_pix * scale_min,
            e_min_deg: shape.e_min_pix * scale_min,
            pa_deg: pa,
            e_pa_deg: shape.e_pa_deg,
        }
    }

    /// The uncorrected (`*_img_plane`) shape: sizes times the nominal pixel
    /// scale, angle as fitted on the pixel grid.
    pub fn shape_img_plane(&self, shape: &Shape) -> SkyShape {
        SkyShape {
            maj_deg: shape.maj_fwhm_pix * self.scale_deg,
            e_maj_deg: shape.e_maj_pix * self.scale_deg,
            min_deg: shape.min_fwhm_pix * self.scale_deg,
            e_min_deg: shape.e_min_pix * self.scale_deg,
            pa_deg: shape.pa_deg,
            e_pa_deg: shape.e_pa_deg,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A CASA-like SIN header: `n` x `n` pixels of `cdelt_arcsec`, centre (ra, dec).
    pub(crate) fn sin_wcs(n: usize, cdelt_arcsec: f64, ra: f64, dec: f64) -> Wcs {
        let mut k: HashMap<String, String> = HashMap::new();
        let crpix = (n / 2 + 1) as f64;
        for (key, value) in [
            ("NAXIS", "4".to_string()),
            ("NAXIS1", n.to_string()),
            ("NAXIS2", n.to_string()),
            ("CTYPE1", "RA---SIN".to_string()),
            ("CTYPE2", "DEC--SIN".to_string()),
            ("CRVAL1", ra.to_string()),
            ("CRVAL2", dec.to_string()),
            ("CRPIX1", crpix.to_string()),
            ("CRPIX2", crpix.to_string()),
            ("CDELT1", (-cdelt_arcsec / 3600.0).to_string()),
            ("CDELT2", (cdelt_arcsec / 3600.0).to_string()),
            ("CUNIT1", "deg".to_string()),
            ("CUNIT2", "deg".to_string()),
            ("PV2_1", "0".to_string()),
            ("PV2_2", "0".to_string()),
            ("LONPOLE", "180".to_string()),
            ("LATPOLE", dec.to_string()),
        ] {
            k.insert(key.to_string(), value);
        }
        Wcs::from_keywords(&k).expect("test WCS")
    }

    fn round_shape() -> Shape {
        Shape {
            maj_fwhm_pix: 4.0,
            e_maj_pix: 0.2,
            min_fwhm_pix: 2.0,
            e_min_pix: 0.1,
            pa_deg: 30.0,
            e_pa_deg: 3.0,
        }
    }

    #[test]
    fn at_the_reference_pixel_sizes_scale_and_pa_is_unchanged() {
        let wcs = sin_wcs(100, 0.6, 150.0, 30.0);
        let frame = SkyFrame::new(&wcs);
        let (ra, dec) = frame.position(50.0, 50.0);
        assert!((ra - 150.0).abs() < 1e-12 && (dec - 30.0).abs() < 1e-12);
        let sky = frame.shape(50.0, 50.0, &round_shape(), true);
        assert!((sky.maj_deg - 4.0 * 0.6 / 3600.0).abs() < 1e-12);
        assert!((sky.min_deg - 2.0 * 0.6 / 3600.0).abs() < 1e-12);
        assert!((sky.pa_deg - 30.0).abs() < 1e-6, "{}", sky.pa_deg);
        let (e_ra, e_dec) = frame.position_errors(50.0, 50.0, 0.1, 0.2);
        assert!((e_ra - 0.1 * 0.6 / 3600.0).abs() < 1e-15);
        assert!((e_dec - 0.2 * 0.6 / 3600.0).abs() < 1e-15);
    }

    #[test]
    fn off_centre_the_pa_follows_the_meridian_convergence() {
        // 0.5 deg east of centre at Dec 60 (dRA = 1 deg): north tilts by
        // about dRA sin(dec) = 0.87 deg.
        let wcs = sin_wcs(4000, 1.0, 150.0, 60.0);
        let frame = SkyFrame::new(&wcs);
        let x = 2000.0 - 1800.0; // 1800" to the east (left)
        let sky = frame.shape(x, 2000.0, &round_shape(), true);
        let (ra, dec) = frame.position(x, 2000.0);
        // independent check: PA of a step along the pixel +y axis at that point
        let (ra_n, dec_n) = wcs.pixel_to_world(x, 2001.0).unwrap();
        let tilt = position_angle_deg(ra, dec, ra_n, dec_n);
        assert!(tilt.abs() > 0.7 && tilt.abs() < 1.0, "tilt {tilt}");
        assert!(
            (sky.pa_deg - (30.0 + tilt)).abs() < 0.01,
            "{} vs {}",
            sky.pa_deg,
            tilt
        );
    }

    #[test]
    fn ra_wraps_at_zero_and_pole_values_are_finite() {
        let wcs = sin_wcs(200, 1.0, 0.0, 10.0);
        let frame = SkyFrame::new(&wcs);
        let (ra_west, _) = frame.position(110.0, 100.0);
        let (ra_east, _) = frame.position(90.0, 100.0);
        assert!(ra_west > 359.9 && ra_west < 360.0, "{ra_west}");
        assert!(ra_east > 0.0 && ra_east < 0.1, "{ra_east}");
        let sky = frame.shape(100.5, 100.0, &round_shape(), true);
        assert!((sky.pa_deg - 30.0).abs() < 0.01);

        let pole = sin_wcs(200, 1.0, 0.0, 90.0);
        let frame = SkyFrame::new(&pole);
        let sky = frame.shape(100.0, 100.0, &round_shape(), true);
        assert!(sky.maj_deg.is_finite() && sky.pa_deg.is_finite());
        assert!((sky.maj_deg - 4.0 / 3600.0).abs() < 1e-9);
        assert!((0.0..180.0).contains(&sky.pa_deg));
    }

    #[test]
    fn separation_and_position_angle_basics() {
        assert!((separation_deg(359.999, 0.0, 0.001, 0.0) - 0.002).abs() < 1e-12);
        assert!((position_angle_deg(10.0, 0.0, 10.001, 0.0) - 90.0).abs() < 1e-9);
        assert!(position_angle_deg(10.0, 0.0, 10.0, 0.001).abs() < 1e-9);
    }
}
