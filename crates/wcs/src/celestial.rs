//! Rotation between native spherical and celestial coordinates
//! (Calabretta & Greisen 2002, Paper II, section 2.3, eqs. 2 and 5).

/// The spherical rotation of a zenithal projection, all angles in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SphericalRotation {
    /// Celestial coordinates of the native pole (alpha_p, delta_p).
    alpha_p: f64,
    delta_p: f64,
    /// Native longitude of the celestial pole (LONPOLE).
    phi_p: f64,
}

impl SphericalRotation {
    /// For zenithal projections the fiducial point is the native pole
    /// (theta_0 = 90 deg), so the native pole sits at (CRVAL1, CRVAL2) and
    /// LATPOLE has no effect. LONPOLE defaults to 180 deg, or 0 when
    /// CRVAL2 = +90 (delta_0 >= theta_0, Paper II section 2.4).
    pub(crate) fn for_zenithal(
        crval_lon_deg: f64,
        crval_lat_deg: f64,
        lonpole_deg: Option<f64>,
    ) -> SphericalRotation {
        let default_lonpole = if crval_lat_deg >= 90.0 { 0.0 } else { 180.0 };
        SphericalRotation {
            alpha_p: crval_lon_deg.to_radians(),
            delta_p: crval_lat_deg.to_radians(),
            phi_p: lonpole_deg.unwrap_or(default_lonpole).to_radians(),
        }
    }

    /// Native (phi, theta) -> celestial (alpha, delta), Paper II eq. (2).
    /// The returned alpha is not normalised.
    pub(crate) fn native_to_celestial(&self, phi: f64, theta: f64) -> (f64, f64) {
        let (sin_t, cos_t) = theta.sin_cos();
        let (sin_dp, cos_dp) = self.delta_p.sin_cos();
        let dphi = phi - self.phi_p;
        let (sin_dphi, cos_dphi) = dphi.sin_cos();
        let x = sin_t * cos_dp - cos_t * sin_dp * cos_dphi;
        let y = -cos_t * sin_dphi;
        let alpha = self.alpha_p + y.atan2(x);
        // atan2 rather than asin keeps full precision near the poles.
        let delta = (sin_t * sin_dp + cos_t * cos_dp * cos_dphi).atan2(x.hypot(y));
        (alpha, delta)
    }

    /// Celestial (alpha, delta) -> native (phi, theta), Paper II eq. (5).
    pub(crate) fn celestial_to_native(&self, alpha: f64, delta: f64) -> (f64, f64) {
        let (sin_d, cos_d) = delta.sin_cos();
        let (sin_dp, cos_dp) = self.delta_p.sin_cos();
        let dalpha = alpha - self.alpha_p;
        let (sin_da, cos_da) = dalpha.sin_cos();
        let x = sin_d * cos_dp - cos_d * sin_dp * cos_da;
        let y = -cos_d * sin_da;
        let phi = self.phi_p + y.atan2(x);
        let theta = (sin_d * sin_dp + cos_d * cos_dp * cos_da).atan2(x.hypot(y));
        (phi, theta)
    }
}
