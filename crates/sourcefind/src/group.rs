//! From fitted islands to the catalogue records: per-Gaussian errors and
//! deconvolved sizes, and grouping of an island's Gaussians into sources with
//! PyBDSF's tests (S / C / M), M sources measured by moments of their model.

use crate::background::beam_area_pix;
use crate::decompose::{FittedGaussian, IslandFit};
use crate::errors::{condon_errors, deconvolved_shape, FWSIG};
use crate::islands::FoundIsland;
use crate::model::{BeamPix, Detection, Gaussian, Island, SCode, Shape, Source};

/// PyBDSF's `group_tol` default.
const GROUP_TOL: f64 = 1.0;

/// Builds the detection from islands and their fits (same order).
pub fn assemble(
    found: &[FoundIsland],
    fits: Vec<IslandFit>,
    beam: BeamPix,
    thresh_isl: f64,
) -> Detection {
    let mut det = Detection::default();
    let area = beam_area_pix(beam);
    for (isl, fit) in found.iter().zip(fits) {
        det.islands.push(Island {
            isl_id: isl.isl_id,
            npix: isl.pixels.len(),
            bbox: isl.bbox,
            peak_snr: isl.peak_snr,
            touches_edge: isl.touches_edge,
            outcome: fit.outcome.clone(),
        });
        if fit.gaussians.is_empty() {
            continue;
        }
        let isl_total = isl.raw_sum / area;
        let e_isl_total = isl.rms * (isl.pixels.len() as f64 / area).sqrt();
        let groups = group_gaussians(&fit.gaussians, isl.rms, thresh_isl);
        let multi_source_island = groups.len() > 1;
        for members in groups {
            let source_id = det.sources.len();
            let s_code = if fit.gaussians.len() == 1 {
                SCode::Single
            } else if members.len() == 1 && multi_source_island {
                SCode::Component
            } else if members.len() == 1 {
                SCode::Single
            } else {
                SCode::Multiple
            };
            let first_gaussian = det.gaussians.len();
            for &m in &members {
                let g = &fit.gaussians[m];
                let row = gaussian_row(g, det.gaussians.len(), isl, source_id, beam, s_code, &fit);
                det.gaussians.push(Gaussian {
                    isl_total_flux: isl_total,
                    e_isl_total_flux: e_isl_total,
                    ..row
                });
            }
            let rows = &det.gaussians[first_gaussian..];
            let source = if rows.len() == 1 {
                source_from_single(&rows[0], first_gaussian)
            } else {
                let members: Vec<FittedGaussian> =
                    members.iter().map(|&m| fit.gaussians[m]).collect();
                source_from_many(rows, &members, isl, beam, first_gaussian)
            };
            det.sources.push(Source {
                source_id,
                ..source
            });
        }
    }
    det
}

fn gaussian_row(
    g: &FittedGaussian,
    gaus_id: usize,
    isl: &FoundIsland,
    source_id: usize,
    beam: BeamPix,
    s_code: SCode,
    fit: &IslandFit,
) -> Gaussian {
    let total = g.amp * g.maj * g.min / (beam.maj_fwhm_pix * beam.min_fwhm_pix);
    let e = condon_errors(g.amp, g.maj, g.min, g.pa_deg, total, beam, isl.rms);
    let shape = Shape {
        maj_fwhm_pix: g.maj,
        e_maj_pix: e.e_maj,
        min_fwhm_pix: g.min,
        e_min_pix: e.e_min,
        pa_deg: g.pa_deg,
        e_pa_deg: e.e_pa_deg,
    };
    Gaussian {
        gaus_id,
        isl_id: isl.isl_id,
        source_id,
        x: g.x,
        e_x: e.e_x,
        y: g.y,
        e_y: e.e_y,
        peak_flux: g.amp,
        e_peak_flux: e.e_peak,
        total_flux: total,
        e_total_flux: e.e_total,
        shape,
        deconvolved: deconvolved_shape(&shape, beam),
        isl_total_flux: 0.0,
        e_isl_total_flux: 0.0,
        isl_rms: isl.rms,
        isl_mean: isl.mean,
        resid_isl_rms: fit.resid_rms,
        resid_isl_mean: fit.resid_mean,
        s_code,
    }
}

fn source_from_single(g: &Gaussian, index: usize) -> Source {
    Source {
        source_id: g.source_id,
        isl_id: g.isl_id,
        x: g.x,
        e_x: g.e_x,
        y: g.y,
        e_y: g.e_y,
        total_flux: g.total_flux,
        e_total_flux: g.e_total_flux,
        peak_flux: g.peak_flux,
        e_peak_flux: g.e_peak_flux,
        x_max: g.x,
        e_x_max: g.e_x,
        y_max: g.y,
        e_y_max: g.e_y,
        shape: g.shape,
        deconvolved: g.deconvolved,
        isl_total_flux: g.isl_total_flux,
        e_isl_total_flux: g.e_isl_total_flux,
        isl_rms: g.isl_rms,
        isl_mean: g.isl_mean,
        resid_isl_rms: g.resid_isl_rms,
        resid_isl_mean: g.resid_isl_mean,
        s_code: g.s_code,
        gaussians: vec![index],
    }
}

/// M source: fluxes summed, position and shape from the moments of the summed
/// model over the island pixels, peak at the model maximum.
fn source_from_many(
    rows: &[Gaussian],
    members: &[FittedGaussian],
    isl: &FoundIsland,
    beam: BeamPix,
    first_index: usize,
) -> Source {
    let model = |x: f64, y: f64| members.iter().map(|g| g.value_at(x, y)).sum::<f64>();
    let (mut s0, mut sx, mut sy) = (0.0, 0.0, 0.0);
    let mut best = (f64::NEG_INFINITY, 0.0, 0.0);
    let values: Vec<f64> = isl
        .pixels
        .iter()
        .map(|&(x, y)| model(x as f64, y as f64))
        .collect();
    for (&(x, y), &m) in isl.pixels.iter().zip(&values) {
        let (x, y) = (x as f64, y as f64);
        s0 += m;
        sx += m * x;
        sy += m * y;
        if m > best.0 {
            best = (m, x, y);
        }
    }
    let (cx, cy) = (sx / s0, sy / s0);
    let (mut vxx, mut vyy, mut vxy) = (0.0, 0.0, 0.0);
    for (&(x, y), &m) in isl.pixels.iter().zip(&values) {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        vxx += m * dx * dx;
        vyy += m * dy * dy;
        vxy += m * dx * dy;
    }
    vxx /= s0;
    vyy /= s0;
    vxy /= s0;
    let half_trace = 0.5 * (vxx + vyy);
    let root = (0.25 * (vxx - vyy).powi(2) + vxy * vxy).sqrt();
    let (l1, l2) = (half_trace + root, (half_trace - root).max(0.0));
    // major axis direction (dx, dy) = (-sin pa, cos pa) is the eigenvector of l1
    let angle_from_x = 0.5 * (2.0 * vxy).atan2(vxx - vyy);
    let pa_deg = (angle_from_x.to_degrees() - 90.0).rem_euclid(180.0);
    let maj = (l1.sqrt() * FWSIG).max(beam.min_fwhm_pix);
    let min = (l2.sqrt() * FWSIG).max(beam.min_fwhm_pix);
    // refine the model maximum to sub-pixel precision by a parabola per axis
    let (peak, px, py) = best;
    let parabola = |minus: f64, centre: f64, plus: f64| {
        let denom = minus - 2.0 * centre + plus;
        if denom < 0.0 {
            (0.5 * (minus - plus) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    let x_max = px + parabola(model(px - 1.0, py), peak, model(px + 1.0, py));
    let y_max = py + parabola(model(px, py - 1.0), peak, model(px, py + 1.0));
    let peak_flux = model(x_max, y_max).max(peak);
    let total: f64 = rows.iter().map(|g| g.total_flux).sum();
    let e_total = rows
        .iter()
        .map(|g| g.e_total_flux.powi(2))
        .sum::<f64>()
        .sqrt();
    let e = condon_errors(peak_flux, maj, min, pa_deg, total, beam, isl.rms);
    let emax = condon_errors(
        peak_flux,
        beam.maj_fwhm_pix,
        beam.min_fwhm_pix,
        beam.pa_deg,
        total,
        beam,
        isl.rms,
    );
    let shape = Shape {
        maj_fwhm_pix: maj,
        e_maj_pix: e.e_maj,
        min_fwhm_pix: min,
        e_min_pix: e.e_min,
        pa_deg,
        e_pa_deg: e.e_pa_deg,
    };
    let first = &rows[0];
    Source {
        source_id: first.source_id,
        isl_id: first.isl_id,
        x: cx,
        e_x: e.e_x,
        y: cy,
        e_y: e.e_y,
        total_flux: total,
        e_total_flux: e_total,
        peak_flux,
        e_peak_flux: isl.rms,
        x_max,
        e_x_max: emax.e_x,
        y_max,
        e_y_max: emax.e_y,
        shape,
        deconvolved: deconvolved_shape(&shape, beam),
        isl_total_flux: first.isl_total_flux,
        e_isl_total_flux: first.e_isl_total_flux,
        isl_rms: first.isl_rms,
        isl_mean: first.isl_mean,
        resid_isl_rms: first.resid_isl_rms,
        resid_isl_mean: first.resid_isl_mean,
        s_code: SCode::Multiple,
        gaussians: (first_index..first_index + rows.len()).collect(),
    }
}

/// FWHM of a Gaussian along the direction (ux, uy) (unit vector).
fn fwhm_along(g: &FittedGaussian, ux: f64, uy: f64) -> f64 {
    let (sin, cos) = g.pa_deg.to_radians().sin_cos();
    // components of u along the major (-sin, cos) and minor (cos, sin) axes
    let a = -ux * sin + uy * cos;
    let b = ux * cos + uy * sin;
    1.0 / ((a / g.maj).powi(2) + (b / g.min).powi(2)).sqrt()
}

/// Whether PyBDSF would put Gaussians `g1` and `g2` of one island into one
/// source (`gaul2srl.in_same_island` as coded, with `group_tol` = 1):
/// (min test and distance test) or the continuity test, on the profile of the
/// island's model (sum of `all`) along the line joining the two centres.
/// - min test: the profile minimum is at least the fainter amplitude, or within
///   `group_tol` x island rms x `thresh_isl` of it;
/// - distance test: the separation is at most `group_tol` / 2 x the sum of the
///   two FWHMs measured along the joining line;
/// - continuity: the profile has its minimum and maximum at the ends.
pub fn same_source(
    g1: &FittedGaussian,
    g2: &FittedGaussian,
    all: &[FittedGaussian],
    isl_rms: f64,
    thresh_isl: f64,
) -> bool {
    let (dx, dy) = (g2.x - g1.x, g2.y - g1.y);
    let dist = (dx * dx + dy * dy).sqrt();
    if dist < 1.0 {
        // PyBDSF: centres in the same pixel are one source
        return true;
    }
    let model = |x: f64, y: f64| all.iter().map(|g| g.value_at(x, y)).sum::<f64>();
    // one sample per pixel step along the longer axis, as PyBDSF walks the line
    let steps = (dx.abs().max(dy.abs()).round() as usize).max(1);
    let profile: Vec<f64> = (0..=steps)
        .map(|k| {
            let t = k as f64 / steps as f64;
            model(g1.x + t * dx, g1.y + t * dy)
        })
        .collect();
    let (imin, vmin) =
        profile.iter().enumerate().fold(
            (0, f64::INFINITY),
            |acc, (k, &v)| if v < acc.1 { (k, v) } else { acc },
        );
    let (imax, _) = profile
        .iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |acc, (k, &v)| if v > acc.1 { (k, v) } else { acc },
        );
    let fainter = g1.amp.min(g2.amp);
    let min_test = vmin >= fainter || (vmin - fainter).abs() <= GROUP_TOL * isl_rms * thresh_isl;
    let (ux, uy) = (dx / dist, dy / dist);
    let dist_test = dist <= 0.5 * GROUP_TOL * (fwhm_along(g1, ux, uy) + fwhm_along(g2, ux, uy));
    let ends = |k: usize| k == 0 || k == steps;
    let continuity = ends(imin) && ends(imax);
    (min_test && dist_test) || continuity
}

/// Groups an island's Gaussians (union-find over all pairs); groups ordered by
/// their first member, members in input order.
fn group_gaussians(gaussians: &[FittedGaussian], isl_rms: f64, thresh_isl: f64) -> Vec<Vec<usize>> {
    let n = gaussians.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if root(&mut parent, i) == root(&mut parent, j) {
                continue;
            }
            if same_source(&gaussians[i], &gaussians[j], gaussians, isl_rms, thresh_isl) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index_of_root = vec![usize::MAX; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        if index_of_root[r] == usize::MAX {
            index_of_root[r] = groups.len();
            groups.push(Vec::new());
        }
        groups[index_of_root[r]].push(i);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(amp: f64, x: f64) -> FittedGaussian {
        FittedGaussian {
            amp,
            x,
            y: 10.0,
            maj: 4.0,
            min: 4.0,
            pa_deg: 0.0,
        }
    }

    #[test]
    fn separated_pair_stays_apart() {
        // two FWHMs apart the model dips to 0.13 of the peaks (min test fails by
        // more than 3 rms) and they are further apart than one FWHM
        let g = [point(10.0, 10.0), point(10.0, 18.0)];
        assert!(!same_source(&g[0], &g[1], &g, 1.0, 3.0));
        assert_eq!(group_gaussians(&g, 1.0, 3.0), vec![vec![0], vec![1]]);
    }

    #[test]
    fn overlapping_pair_merges_by_min_and_distance_tests() {
        // 3.5 px apart (< the mean FWHM): no dip, maximum in the middle, so only
        // the min and distance tests join them
        let g = [point(10.0, 10.0), point(10.0, 13.5)];
        assert!(same_source(&g[0], &g[1], &g, 1.0, 3.0));
        assert_eq!(group_gaussians(&g, 1.0, 3.0), vec![vec![0, 1]]);
    }

    #[test]
    fn faint_shoulder_merges_by_continuity() {
        // 3 px apart (too far for the distance test) but the profile falls
        // monotonically from the bright to the faint one
        let g = [point(10.0, 10.0), point(2.0, 13.0)];
        assert!(same_source(&g[0], &g[1], &g, 1.0, 3.0));
    }

    #[test]
    fn s_c_m_codes_and_m_source_moments() {
        let beam = BeamPix {
            maj_fwhm_pix: 4.0,
            min_fwhm_pix: 4.0,
            pa_deg: 0.0,
        };
        let mut pixels = Vec::new();
        for y in 0..21 {
            for x in 0..40 {
                pixels.push((x, y));
            }
        }
        let isl = FoundIsland {
            isl_id: 0,
            values: vec![0.0; pixels.len()],
            ring: Vec::new(),
            ring_values: Vec::new(),
            pixels,
            raw_sum: 0.0,
            bbox: (0, 0, 39, 20),
            peak: (10, 10, 10.0),
            peak_snr: 10.0,
            mean: 0.0,
            rms: 1.0,
            touches_edge: false,
        };
        // an M pair plus a separate C
        let gaussians = vec![point(10.0, 10.0), point(10.0, 11.8), point(8.0, 30.0)];
        let fit = IslandFit {
            gaussians,
            outcome: crate::model::IslandOutcome::Fitted { gaussians: 3 },
            resid_mean: 0.0,
            resid_rms: 1.0,
        };
        let det = assemble(&[isl], vec![fit], beam, 3.0);
        assert_eq!(det.sources.len(), 2);
        let m = &det.sources[0];
        assert_eq!(m.s_code, SCode::Multiple);
        assert_eq!(m.gaussians, vec![0, 1]);
        // centroid halfway between the equal members, elongated along x (PA 90)
        assert!(
            (m.x - 10.9).abs() < 1e-6 && (m.y - 10.0).abs() < 1e-6,
            "{m:?}"
        );
        assert!((m.shape.pa_deg - 90.0).abs() < 1e-6, "{:?}", m.shape);
        // second moments of the sum: sigma_x^2 = sigma^2 + 0.9^2
        let sigma = 4.0 / FWSIG;
        let want = (sigma * sigma + 0.81).sqrt() * FWSIG;
        assert!(
            (m.shape.maj_fwhm_pix - want).abs() < 1e-3,
            "{:?} vs {want}",
            m.shape
        );
        assert!((m.total_flux - 20.0).abs() < 1e-9);
        assert_eq!(det.sources[1].s_code, SCode::Component);
        assert!(det.gaussians[..2]
            .iter()
            .all(|g| g.s_code == SCode::Multiple));
        assert_eq!(det.gaussians[2].source_id, 1);
    }
}
