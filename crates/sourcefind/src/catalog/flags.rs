//! The CIRADA VLASS component-catalogue columns (Gordon et al. 2021, ApJS
//! 255, 30; code `CIRADA-Tools/continuum_bdp_catalogue_generator`), applied
//! to the rows of one image:
//!
//! * `Peak_to_ring`: maximum pixel within 5" of the component / maximum
//!   pixel in the 5"-10" annulus (a pixel belongs to an aperture when its
//!   centre does, photutils' "center" mode).
//! * `Duplicate_flag`: components within 2" of each other are duplicates;
//!   in each such group the one with the highest S/N = Peak_flux / Isl_rms
//!   gets 1, the others 2; everything else 0. (CIRADA meant this for the
//!   overlap of neighbouring images; within one image it only catches
//!   components closer than 2".)
//! * `NN_dist`: arcsec to the nearest other component among those with
//!   Duplicate_flag < 2 and S_Code != 'E'; -99 for the rest.
//! * `Quality_flag` (bit sum): 1 = Peak_to_ring < 2 and NN_dist >= 20";
//!   2 = Peak_flux < 5 x Isl_rms; 4 = Peak_flux > Total_flux.

use super::sky::separation_deg;
use ndarray::ArrayView2;

/// The per-row inputs the flags need.
#[derive(Debug, Clone, Copy)]
pub struct FlagInput {
    pub ra_deg: f64,
    pub dec_deg: f64,
    /// 0-based pixel position (for Peak_to_ring).
    pub x: f64,
    pub y: f64,
    pub peak_flux: f64,
    pub total_flux: f64,
    pub isl_rms: f64,
    /// S_Code 'E' (empty island) rows are never anyone's neighbour.
    pub empty: bool,
}

/// The four CIRADA columns of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CiradaFlags {
    pub peak_to_ring: f64,
    pub duplicate_flag: i64,
    pub nn_dist_arcsec: f64,
    pub quality_flag: i64,
}

/// CIRADA's duplicate radius, arcsec.
pub const DUPLICATE_RADIUS_ARCSEC: f64 = 2.0;
/// NN_dist from which a low Peak_to_ring counts as an isolated artefact, arcsec.
pub const ISOLATED_ARCSEC: f64 = 20.0;
/// NN_dist value for rows that take no part (CIRADA's -99).
pub const NN_DIST_NONE: f64 = -99.0;

/// Peak_to_ring of the component at pixel (x, y), with `scale_arcsec` per pixel.
/// NaN when either aperture has no finite pixel or the ring maximum is 0.
pub fn peak_to_ring(image: ArrayView2<f32>, x: f64, y: f64, scale_arcsec: f64) -> f64 {
    let (ny, nx) = image.dim();
    let inner = 5.0 / scale_arcsec;
    let outer = 10.0 / scale_arcsec;
    if !(x.is_finite() && y.is_finite()) {
        return f64::NAN;
    }
    let x0 = (x - outer).floor().max(0.0) as usize;
    let y0 = (y - outer).floor().max(0.0) as usize;
    let x1 = ((x + outer).ceil().max(0.0) as usize).min(nx.saturating_sub(1));
    let y1 = ((y + outer).ceil().max(0.0) as usize).min(ny.saturating_sub(1));
    let (mut core, mut ring) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for py in y0..=y1 {
        for px in x0..=x1 {
            let v = image[[py, px]] as f64;
            if !v.is_finite() {
                continue;
            }
            let r = ((px as f64 - x).powi(2) + (py as f64 - y).powi(2)).sqrt();
            if r < inner {
                core = core.max(v);
            } else if r < outer {
                ring = ring.max(v);
            }
        }
    }
    if core.is_finite() && ring.is_finite() && ring != 0.0 {
        core / ring
    } else {
        f64::NAN
    }
}

/// Indices of the row pairs closer than `radius_deg`, found by a sweep in Dec.
fn close_pairs(rows: &[FlagInput], radius_deg: f64) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].dec_deg.is_finite() && rows[i].ra_deg.is_finite())
        .collect();
    order.sort_by(|&a, &b| rows[a].dec_deg.total_cmp(&rows[b].dec_deg).then(a.cmp(&b)));
    let mut pairs = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if rows[j].dec_deg - rows[i].dec_deg > radius_deg {
                break;
            }
            let d = separation_deg(
                rows[i].ra_deg,
                rows[i].dec_deg,
                rows[j].ra_deg,
                rows[j].dec_deg,
            );
            if d < radius_deg {
                pairs.push((i.min(j), i.max(j)));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    let mut node = i;
    while parent[node] != root {
        let next = parent[node];
        parent[node] = root;
        node = next;
    }
    root
}

/// Duplicate_flag per row (0 / 1 preferred / 2 other member).
fn duplicate_flags(rows: &[FlagInput]) -> Vec<i64> {
    let mut parent: Vec<usize> = (0..rows.len()).collect();
    for (i, j) in close_pairs(rows, DUPLICATE_RADIUS_ARCSEC / 3600.0) {
        let (a, b) = (find(&mut parent, i), find(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let snr = |i: usize| {
        let s = rows[i].peak_flux / rows[i].isl_rms;
        if s.is_finite() {
            s
        } else {
            f64::NEG_INFINITY
        }
    };
    let mut best: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
    for i in 0..rows.len() {
        let root = find(&mut parent, i);
        let entry = best.entry(root).or_insert((i, 0));
        entry.1 += 1;
        // strictly higher S/N wins; ties keep the earlier row
        if snr(i) > snr(entry.0) {
            entry.0 = i;
        }
    }
    (0..rows.len())
        .map(|i| {
            let (winner, size) = best[&find(&mut parent, i)];
            match (size, winner == i) {
                (1, _) => 0,
                (_, true) => 1,
                (_, false) => 2,
            }
        })
        .collect()
}

/// NN_dist (arcsec) per row among the eligible rows; -99 for the others.
fn nearest_neighbours(rows: &[FlagInput], eligible: &[bool]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| eligible[i] && rows[i].dec_deg.is_finite() && rows[i].ra_deg.is_finite())
        .collect();
    order.sort_by(|&a, &b| rows[a].dec_deg.total_cmp(&rows[b].dec_deg).then(a.cmp(&b)));
    let mut nn = vec![NN_DIST_NONE; rows.len()];
    for (k, &i) in order.iter().enumerate() {
        let mut best = f64::INFINITY;
        let dec = rows[i].dec_deg;
        for &j in order[k + 1..].iter() {
            if rows[j].dec_deg - dec > best {
                break;
            }
            best = best.min(separation_deg(
                rows[i].ra_deg,
                dec,
                rows[j].ra_deg,
                rows[j].dec_deg,
            ));
        }
        for &j in order[..k].iter().rev() {
            if dec - rows[j].dec_deg > best {
                break;
            }
            best = best.min(separation_deg(
                rows[i].ra_deg,
                dec,
                rows[j].ra_deg,
                rows[j].dec_deg,
            ));
        }
        if best.is_finite() {
            nn[i] = best * 3600.0;
        }
    }
    nn
}

/// The CIRADA columns for all rows of one list; `peak_to_ring` holds the
/// already measured Peak_to_ring per row.
pub fn cirada_flags(rows: &[FlagInput], peak_to_ring: &[f64]) -> Vec<CiradaFlags> {
    let duplicates = duplicate_flags(rows);
    let eligible: Vec<bool> = rows
        .iter()
        .zip(&duplicates)
        .map(|(r, &d)| d < 2 && !r.empty)
        .collect();
    let nn = nearest_neighbours(rows, &eligible);
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut quality = 0;
            if peak_to_ring[i] < 2.0 && nn[i] >= ISOLATED_ARCSEC {
                quality |= 1;
            }
            if r.peak_flux < 5.0 * r.isl_rms {
                quality |= 2;
            }
            if r.peak_flux > r.total_flux {
                quality |= 4;
            }
            CiradaFlags {
                peak_to_ring: peak_to_ring[i],
                duplicate_flag: duplicates[i],
                nn_dist_arcsec: nn[i],
                quality_flag: quality,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn row(ra: f64, dec: f64, peak: f64, total: f64) -> FlagInput {
        FlagInput {
            ra_deg: ra,
            dec_deg: dec,
            x: 0.0,
            y: 0.0,
            peak_flux: peak,
            total_flux: total,
            isl_rms: 1e-4,
            empty: false,
        }
    }

    #[test]
    fn duplicates_rank_by_snr_and_nn_skips_losers() {
        let a = 1.0 / 3600.0;
        let rows = vec![
            row(10.0, 20.0, 1e-3, 2e-3),
            row(10.0, 20.0 + a, 2e-3, 3e-3), // 1" away, brighter: preferred
            row(10.0, 20.0 + 30.0 * a, 2e-4, 1e-4), // faint, peak > total
        ];
        let f = cirada_flags(&rows, &[3.0, 3.0, 1.5]);
        assert_eq!(f[0].duplicate_flag, 2);
        assert_eq!(f[1].duplicate_flag, 1);
        assert_eq!(f[2].duplicate_flag, 0);
        assert_eq!(f[0].nn_dist_arcsec, NN_DIST_NONE);
        assert!((f[1].nn_dist_arcsec - 29.0).abs() < 1e-6);
        assert!((f[2].nn_dist_arcsec - 29.0).abs() < 1e-6);
        // row 2: ring ratio 1.5 and isolated (1), S/N 2 (2), peak > total (4)
        assert_eq!(f[2].quality_flag, 7);
        assert_eq!(f[1].quality_flag, 0);
    }

    #[test]
    fn neighbours_across_ra_zero_are_found() {
        let rows = vec![row(359.9999, 0.0, 1.0, 1.0), row(0.0001, 0.0, 1.0, 1.0)];
        let f = cirada_flags(&rows, &[10.0, 10.0]);
        assert_eq!(f[0].duplicate_flag + f[1].duplicate_flag, 3);
    }

    #[test]
    fn peak_to_ring_compares_core_and_annulus() {
        let mut img = Array2::<f32>::zeros((41, 41));
        img[[20, 20]] = 10.0;
        img[[20, 33]] = 2.5; // 13 px = 7.8" at 0.6"/px: in the ring
        img[[0, 0]] = 100.0; // outside 10"
        let p = peak_to_ring(img.view(), 20.0, 20.0, 0.6);
        assert!((p - 4.0).abs() < 1e-12);
        let blank = Array2::<f32>::from_elem((41, 41), f32::NAN);
        assert!(peak_to_ring(blank.view(), 20.0, 20.0, 0.6).is_nan());
    }
}
