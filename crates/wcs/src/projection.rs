//! Zenithal projections between the intermediate (projection-plane)
//! coordinates and native spherical coordinates (Calabretta & Greisen 2002,
//! Paper II, section 5.1: TAN eqs. 54-55, SIN eqs. 36-47). The formulas follow
//! the numerically careful forms also used by WCSLIB.
//!
//! Plane coordinates are in degrees, native angles in radians.

use crate::{Keywords, WcsError};

/// Radians per degree of the projection plane (R0 = 180/pi degrees).
const PLANE_TO_RAD: f64 = std::f64::consts::PI / 180.0;

/// A supported projection with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Projection {
    /// Orthographic / synthesis projection with slant parameters
    /// xi = PV2_1 and eta = PV2_2 (both 0 for the plain orthographic case).
    Sin { xi: f64, eta: f64 },
    /// Gnomonic projection.
    Tan,
}

impl Projection {
    /// Builds the projection from its CTYPE code and PV keywords.
    pub(crate) fn from_code(
        code: &str,
        keywords: &dyn Keywords,
        lat_axis: usize,
        crval_lat_deg: f64,
    ) -> Result<Projection, WcsError> {
        let pv = |m: u32| keywords.real(&format!("PV{lat_axis}_{m}"));
        match code {
            "SIN" => Ok(Projection::Sin {
                xi: pv(1).unwrap_or(0.0),
                eta: pv(2).unwrap_or(0.0),
            }),
            // Paper II section 5.1.5: NCP is SIN with (xi, eta) = (0, cot delta_0).
            "NCP" => {
                let delta0 = crval_lat_deg.to_radians();
                if delta0.sin() == 0.0 {
                    return Err(WcsError::keyword(
                        &format!("CRVAL{lat_axis}"),
                        "NCP projection is undefined at the equator".into(),
                    ));
                }
                Ok(Projection::Sin {
                    xi: 0.0,
                    eta: delta0.cos() / delta0.sin(),
                })
            }
            "TAN" => Ok(Projection::Tan),
            other => Err(WcsError::keyword(
                &format!("CTYPE{lat_axis}"),
                format!("projection '{other}' is not supported (SIN, NCP, TAN are)"),
            )),
        }
    }

    /// Projection plane (x, y) in degrees -> native (phi, theta) in radians.
    pub(crate) fn plane_to_native(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let x0 = x * PLANE_TO_RAD;
        let y0 = y * PLANE_TO_RAD;
        let r2 = x0 * x0 + y0 * y0;
        match *self {
            Projection::Tan => {
                let r = r2.sqrt();
                let phi = if r == 0.0 { 0.0 } else { x0.atan2(-y0) };
                Some((phi, 1.0f64.atan2(r)))
            }
            Projection::Sin { xi, eta } if xi == 0.0 && eta == 0.0 => {
                if r2 > 1.0 {
                    return None;
                }
                let phi = if r2 == 0.0 { 0.0 } else { x0.atan2(-y0) };
                // acos is ill-conditioned near r = 1, asin near r = 0.
                let theta = if r2 < 0.5 {
                    r2.sqrt().acos()
                } else {
                    (1.0 - r2).sqrt().asin()
                };
                Some((phi, theta))
            }
            Projection::Sin { xi, eta } => {
                let slant2 = xi * xi + eta * eta;
                let xy = x0 * xi + y0 * eta;
                let (theta, z) = if r2 < 1.0e-10 {
                    // Small-angle form near the reference point.
                    let theta = std::f64::consts::FRAC_PI_2 - (r2 / (1.0 + xy)).sqrt();
                    (theta, r2 / 2.0)
                } else {
                    let a = slant2 + 1.0;
                    let b = xy - slant2;
                    let c = r2 - 2.0 * xy + slant2 - 1.0;
                    let disc = b * b - a * c;
                    if disc < 0.0 {
                        return None;
                    }
                    let root = disc.sqrt();
                    // The solution nearer the native pole.
                    let mut sin_theta = ((-b + root) / a).max((-b - root) / a);
                    const TOLERANCE: f64 = 1.0e-13;
                    if sin_theta > 1.0 && sin_theta - 1.0 < TOLERANCE {
                        sin_theta = 1.0;
                    }
                    if !(-1.0..=1.0).contains(&sin_theta) {
                        return None;
                    }
                    (sin_theta.asin(), 1.0 - sin_theta)
                };
                let num = x0 - xi * z;
                let den = -(y0 - eta * z);
                let phi = if num == 0.0 && den == 0.0 {
                    0.0
                } else {
                    num.atan2(den)
                };
                Some((phi, theta))
            }
        }
    }

    /// Native (phi, theta) in radians -> projection plane (x, y) in degrees;
    /// `None` where the point is not visible in the projection.
    pub(crate) fn native_to_plane(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (sin_phi, cos_phi) = phi.sin_cos();
        let (sin_theta, cos_theta) = theta.sin_cos();
        let (x0, y0) = match *self {
            Projection::Tan => {
                if sin_theta <= 0.0 {
                    return None;
                }
                let r = cos_theta / sin_theta;
                (r * sin_phi, -r * cos_phi)
            }
            Projection::Sin { xi, eta } => {
                let limit = if xi == 0.0 && eta == 0.0 {
                    0.0
                } else {
                    -(xi * sin_phi - eta * cos_phi).atan()
                };
                if theta < limit {
                    return None;
                }
                let z = 1.0 - sin_theta;
                (
                    cos_theta * sin_phi + xi * z,
                    -(cos_theta * cos_phi - eta * z),
                )
            }
        };
        Some((x0 / PLANE_TO_RAD, y0 / PLANE_TO_RAD))
    }
}
