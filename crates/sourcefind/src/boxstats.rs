//! PyBDSF's `bstat` clipping (as [`crate::stats::clipped_stats`]) of every box
//! of the background grid at once, sharing work between overlapping boxes.
//!
//! Neighbouring boxes overlap (the step is a third of the box), so every pixel
//! is in about nine boxes. Instead of gathering and clipping each box's samples
//! on their own, the image is cut into cells at every box edge; the samples of
//! a cell are sorted once, with running sums of their first and second powers.
//! A box is the union of its cells, and each clipping pass of a box needs only
//! binary searches in its cells and a short walk: the median by walking the
//! merged order of the cells from the previous pass's median (clipping moves
//! it by a few ranks), the kept range per cell by the clip bounds, the mean and
//! spread from the running sums. The work per box and pass is about
//! O(cells x (log(cell size) + rank shift of the median)) instead of O(box
//! samples); the one-off cost is sorting each cell.
//!
//! Boxes sample every `stride`-th pixel counted from their own corner, so boxes
//! whose corners differ modulo the stride see disjoint pixel lattices: cells are
//! kept per lattice phase. The samples of a box, the clip bounds, the kept sets
//! and the medians are exactly those of `clipped_stats` on the same samples;
//! means and spreads agree to rounding (sums in another order).

use std::collections::HashMap;
use std::ops::Range;

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::stats::{clip_set, kappa_for, ClipSet};

/// Cell boundaries along one image axis, per sampling phase.
struct AxisCells {
    stride: usize,
    /// For each phase (0..stride): sorted distinct box edges of the boxes
    /// whose start has that phase; cell k is `[edges[k], edges[k + 1])`.
    edges: Vec<Vec<usize>>,
}

impl AxisCells {
    fn new(starts: &[usize], size: usize, stride: usize) -> AxisCells {
        let mut edges = vec![Vec::new(); stride];
        for &s in starts {
            let e = &mut edges[s % stride];
            e.push(s);
            e.push(s + size);
        }
        for e in &mut edges {
            e.sort_unstable();
            e.dedup();
        }
        AxisCells { stride, edges }
    }

    /// Phase and cell indices of the box starting at `start`.
    fn cells_of(&self, start: usize, size: usize) -> (usize, Range<usize>) {
        let phase = start % self.stride;
        let e = &self.edges[phase];
        let first = e.partition_point(|&b| b < start);
        let end = e.partition_point(|&b| b < start + size);
        (phase, first..end)
    }

    /// Sample coordinates of cell `cell` of `phase`.
    fn positions(&self, phase: usize, cell: usize) -> impl Iterator<Item = usize> {
        let e = &self.edges[phase];
        let (a, b) = (e[cell], e[cell + 1]);
        let first = a + (phase + self.stride - a % self.stride) % self.stride;
        (first..b).step_by(self.stride)
    }

    /// Number of cells of `phase`.
    fn cell_count(&self, phase: usize) -> usize {
        self.edges[phase].len().saturating_sub(1)
    }
}

/// Order-preserving map of f32 (total order, as `f32::total_cmp`) to u32.
fn sort_key(v: f32) -> u32 {
    let bits = v.to_bits();
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

fn key_value(key: u32) -> f64 {
    let bits = if key & 0x8000_0000 != 0 {
        key & 0x7fff_ffff
    } else {
        !key
    };
    f64::from(f32::from_bits(bits))
}

/// The finite samples of one cell, sorted, with running sums about a centre
/// value taken from the middle of the cell.
struct Cell {
    keys: Vec<u32>,
    centre: f64,
    /// `sums1[i] - sums1[j]` = sum of (v - centre) over sorted samples j..i;
    /// accumulated outwards from the middle, so a range around the middle adds
    /// two partial sums and never subtracts large tails.
    sums1: Vec<f64>,
    sums2: Vec<f64>,
}

impl Cell {
    fn new(mut keys: Vec<u32>) -> Cell {
        keys.sort_unstable();
        let n = keys.len();
        let mid = n / 2;
        let centre = if n == 0 { 0.0 } else { key_value(keys[mid]) };
        let mut sums1 = vec![0.0; n + 1];
        let mut sums2 = vec![0.0; n + 1];
        for i in mid..n {
            let d = key_value(keys[i]) - centre;
            sums1[i + 1] = sums1[i] + d;
            sums2[i + 1] = sums2[i] + d * d;
        }
        for i in (0..mid).rev() {
            let d = key_value(keys[i]) - centre;
            sums1[i] = sums1[i + 1] - d;
            sums2[i] = sums2[i + 1] - d * d;
        }
        Cell {
            keys,
            centre,
            sums1,
            sums2,
        }
    }
}

/// One box during clipping: its cells and the kept index range in each.
struct BoxState<'a> {
    cells: Vec<&'a Cell>,
    ranges: Vec<Range<usize>>,
    /// Key near the current median, where the next median walk starts.
    pivot: u32,
}

impl<'a> BoxState<'a> {
    fn new(cells: Vec<&'a Cell>) -> BoxState<'a> {
        let ranges = cells.iter().map(|c| 0..c.keys.len()).collect();
        // the first median walk starts from the median of the cells' middles
        let mut middles: Vec<u32> = cells
            .iter()
            .filter(|c| !c.keys.is_empty())
            .map(|c| c.keys[c.keys.len() / 2])
            .collect();
        middles.sort_unstable();
        let pivot = middles.get(middles.len() / 2).copied().unwrap_or(0);
        BoxState {
            cells,
            ranges,
            pivot,
        }
    }

    /// Key of the k-th smallest kept sample (0-based, k < count), found by
    /// walking the merged order from `pivot`: the cost is the number of cells
    /// times (a binary search + the rank distance from the pivot to k).
    fn kth_key(&self, k: usize, pivot: u32) -> u32 {
        // next[c]: first index in cell c's range with a key above the pivot;
        // the samples before it are the `rank` smallest of the box
        let mut next: Vec<usize> = self
            .cells
            .iter()
            .zip(&self.ranges)
            .map(|(c, r)| r.start + c.keys[r.clone()].partition_point(|&x| x <= pivot))
            .collect();
        let mut rank: usize = next
            .iter()
            .zip(&self.ranges)
            .map(|(n, r)| n - r.start)
            .sum();
        let largest_below = |next: &[usize]| {
            let mut best: Option<(u32, usize)> = None;
            for (c, (cell, r)) in self.cells.iter().zip(&self.ranges).enumerate() {
                if next[c] > r.start {
                    let key = cell.keys[next[c] - 1];
                    if best.is_none_or(|(b, _)| key > b) {
                        best = Some((key, c));
                    }
                }
            }
            best
        };
        if rank > k {
            // drop the largest of the lower part until it holds k + 1 samples
            loop {
                let Some((key, c)) = largest_below(&next) else {
                    unreachable!("rank > k >= 0 means the lower part is not empty")
                };
                if rank == k + 1 {
                    return key;
                }
                next[c] -= 1;
                rank -= 1;
            }
        }
        // take the smallest of the upper part until the lower part holds k + 1
        loop {
            let mut best: Option<(u32, usize)> = None;
            for (c, (cell, r)) in self.cells.iter().zip(&self.ranges).enumerate() {
                if next[c] < r.end {
                    let key = cell.keys[next[c]];
                    if best.is_none_or(|(b, _)| key < b) {
                        best = Some((key, c));
                    }
                }
            }
            let Some((key, c)) = best else {
                unreachable!("k < count means the upper part is not empty")
            };
            next[c] += 1;
            rank += 1;
            if rank == k + 1 {
                return key;
            }
        }
    }

    /// Median of the kept samples (mean of the middle two for an even count),
    /// as `median_in_place`, and the key of its upper middle sample. `pivot`
    /// is a key near the median (the walk starts there).
    fn median_from(&self, n: usize, pivot: u32) -> (f64, u32) {
        let mid = n / 2;
        let upper_key = self.kth_key(mid, pivot);
        let upper = key_value(upper_key);
        if n % 2 == 1 {
            return (upper, upper_key);
        }
        let mut below = 0;
        let mut lower_key = None;
        for (c, r) in self.cells.iter().zip(&self.ranges) {
            let keys = &c.keys[r.clone()];
            let p = keys.partition_point(|&x| x < upper_key);
            below += p;
            if p > 0 {
                lower_key = lower_key.max(Some(keys[p - 1]));
            }
        }
        let lower = match lower_key {
            Some(key) if below >= mid => key_value(key),
            _ => upper,
        };
        (0.5 * (lower + upper), upper_key)
    }

    /// Mean and standard deviation (population) of the kept samples.
    fn moments(&self, n: usize) -> (f64, f64) {
        let mut total = 0.0;
        for (c, r) in self.cells.iter().zip(&self.ranges) {
            if !r.is_empty() {
                total += r.len() as f64 * c.centre + (c.sums1[r.end] - c.sums1[r.start]);
            }
        }
        let mean = total / n as f64;
        let mut squares = 0.0;
        for (c, r) in self.cells.iter().zip(&self.ranges) {
            if !r.is_empty() {
                let s1 = c.sums1[r.end] - c.sums1[r.start];
                let s2 = c.sums2[r.end] - c.sums2[r.start];
                let d = mean - c.centre;
                squares += s2 - 2.0 * d * s1 + r.len() as f64 * d * d;
            }
        }
        (mean, (squares.max(0.0) / n as f64).sqrt())
    }

    /// Keeps only samples with lo <= v <= hi.
    fn clip(&mut self, lo: f64, hi: f64) {
        for (c, r) in self.cells.iter().zip(self.ranges.iter_mut()) {
            let keys = &c.keys[r.clone()];
            let a = keys.partition_point(|&x| key_value(x) < lo);
            let b = keys.partition_point(|&x| key_value(x) <= hi);
            *r = r.start + a..r.start + b.max(a);
        }
    }
}

impl ClipSet for BoxState<'_> {
    fn count(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }
    fn median(&mut self) -> f64 {
        let (median, upper_key) = self.median_from(self.count(), self.pivot);
        self.pivot = upper_key;
        median
    }
    fn mean_and_std(&self) -> (f64, f64) {
        self.moments(self.count())
    }
    fn retain_within(&mut self, lo: f64, hi: f64) {
        self.clip(lo, hi);
    }
}

/// The background grid's boxes: corners along each axis, box sides and the
/// sampling stride.
pub struct BoxGrid<'a> {
    pub starts_x: &'a [usize],
    pub starts_y: &'a [usize],
    pub size_x: usize,
    pub size_y: usize,
    pub stride: usize,
}

/// Statistics of one box as the background wants them: `None` when the box
/// has too few finite samples or no usable statistics.
pub type BoxResult = Option<(f64, f64)>;

impl BoxGrid<'_> {
    /// Clipped (mean estimate, rms) of every box, row-major (y outer); `None`
    /// for boxes whose finite sample count `enough` rejects and for boxes
    /// without a finite positive rms. Kappa comes from the box's finite pixel
    /// count and the beam area `npix_beam` (pixels), as PyBDSF. Work is spread over the current rayon pool; the result does not depend
    /// on the thread count.
    pub fn clipped_stats(
        &self,
        image: ArrayView2<f32>,
        npix_beam: f64,
        enough: impl Fn(usize) -> bool + Sync,
    ) -> Vec<BoxResult> {
        let stride = self.stride;
        let axis_x = AxisCells::new(self.starts_x, self.size_x, stride);
        let axis_y = AxisCells::new(self.starts_y, self.size_y, stride);
        // sorted cells of one band of rows (y phase, y cell), every x phase
        type Band = Vec<Vec<Cell>>;
        let build_band = |py: usize, ky: usize| -> Band {
            let rows: Vec<usize> = axis_y.positions(py, ky).collect();
            (0..stride)
                .map(|px| {
                    (0..axis_x.cell_count(px))
                        .into_par_iter()
                        .map(|kx| {
                            let cols: Vec<usize> = axis_x.positions(px, kx).collect();
                            let mut keys = Vec::with_capacity(rows.len() * cols.len());
                            for &y in &rows {
                                let row = image.row(y);
                                keys.extend(
                                    cols.iter()
                                        .map(|&x| row[x])
                                        .filter(|v| v.is_finite())
                                        .map(sort_key),
                                );
                            }
                            Cell::new(keys)
                        })
                        .collect()
                })
                .collect()
        };
        let mut bands: HashMap<(usize, usize), Band> = HashMap::new();
        let mut out = Vec::with_capacity(self.starts_x.len() * self.starts_y.len());
        for &y0 in self.starts_y {
            // bands ending at or above this box row are never needed again
            bands.retain(|&(py, ky), _| axis_y.edges[py][ky + 1] > y0);
            let (py, ycells) = axis_y.cells_of(y0, self.size_y);
            for ky in ycells.clone() {
                bands.entry((py, ky)).or_insert_with(|| build_band(py, ky));
            }
            let bands = &bands;
            let row: Vec<BoxResult> = self
                .starts_x
                .par_iter()
                .map(|&x0| {
                    let (px, xcells) = axis_x.cells_of(x0, self.size_x);
                    let cells: Vec<&Cell> = ycells
                        .clone()
                        .flat_map(|ky| {
                            let band = &bands[&(py, ky)][px];
                            xcells.clone().map(move |kx| &band[kx])
                        })
                        .collect();
                    let mut state = BoxState::new(cells);
                    let finite = state.count();
                    if !enough(finite) {
                        return None;
                    }
                    // kappa from the box's full pixel count, as PyBDSF
                    let kappa = kappa_for(finite * stride * stride, npix_beam);
                    clip_set(&mut state, kappa)
                        .filter(|s| s.rms.is_finite() && s.rms > 0.0 && s.mean.is_finite())
                        .map(|s| (s.mean, s.rms))
                })
                .collect();
            out.extend(row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::clipped_stats;
    use ndarray::Array2;

    /// Deterministic pseudo-noise with a few bright pixels and blanks.
    fn test_image(nx: usize, ny: usize) -> Array2<f32> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        Array2::from_shape_fn((ny, nx), |(y, x)| {
            let u: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
            let mut v = 1e-4 * u + 2e-6 * (x as f64 / nx as f64);
            if (x * 7 + y * 13) % 997 == 0 {
                v += 0.05;
            }
            if x < 3 && y > ny / 2 {
                return f32::NAN;
            }
            v as f32
        })
    }

    fn direct(
        image: &Array2<f32>,
        x0: usize,
        y0: usize,
        b: (usize, usize),
        stride: usize,
    ) -> Option<(f64, f64)> {
        let mut v = Vec::new();
        for y in (y0..y0 + b.1).step_by(stride) {
            for x in (x0..x0 + b.0).step_by(stride) {
                if image[[y, x]].is_finite() {
                    v.push(image[[y, x]]);
                }
            }
        }
        let kappa = kappa_for(v.len() * stride * stride, 17.0);
        clipped_stats(&mut v, kappa).map(|s| (s.mean, s.rms))
    }

    #[test]
    fn shared_cells_match_direct_clipping_of_each_box() {
        for &(nx, ny, bx, by, step, stride) in &[
            (230, 190, 61, 61, 20, 2),
            (200, 201, 50, 37, 13, 3),
            (97, 120, 97, 40, 11, 1),
            (150, 150, 45, 45, 15, 4),
        ] {
            let image = test_image(nx, ny);
            let starts = |n: usize, size: usize| {
                let mut s: Vec<usize> = (0..=n - size).step_by(step).collect();
                if s.last() != Some(&(n - size)) {
                    s.push(n - size);
                }
                s
            };
            let (sx, sy) = (starts(nx, bx), starts(ny, by));
            let grid = BoxGrid {
                starts_x: &sx,
                starts_y: &sy,
                size_x: bx,
                size_y: by,
                stride,
            };
            let got = grid.clipped_stats(image.view(), 17.0, |n| n >= 20);
            let mut k = 0;
            for &y0 in &sy {
                for &x0 in &sx {
                    let want = direct(&image, x0, y0, (bx, by), stride);
                    let (gm, gr) = got[k].expect("box statistics");
                    let (wm, wr) = want.expect("direct statistics");
                    assert!((gm - wm).abs() <= 1e-12 * wr, "box {x0},{y0}: {gm} vs {wm}");
                    assert!((gr - wr).abs() <= 1e-12 * wr, "box {x0},{y0}: {gr} vs {wr}");
                    k += 1;
                }
            }
        }
    }

    #[test]
    fn sort_keys_order_like_total_cmp() {
        let mut values: Vec<f32> = test_image(37, 11).iter().copied().collect();
        values.extend([0.0, -0.0, f32::MIN_POSITIVE, -1e-40, 3e38, -3e38]);
        values.retain(|v| v.is_finite());
        let cell = Cell::new(values.iter().map(|&v| sort_key(v)).collect());
        values.sort_by(f32::total_cmp);
        let back: Vec<u32> = cell
            .keys
            .iter()
            .map(|&k| (key_value(k) as f32).to_bits())
            .collect();
        assert_eq!(back, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn constant_box_has_zero_spread() {
        let image = Array2::<f32>::from_elem((30, 30), 0.25);
        let s = [0usize];
        let grid = BoxGrid {
            starts_x: &s,
            starts_y: &s,
            size_x: 30,
            size_y: 30,
            stride: 1,
        };
        let cell = Cell::new(image.iter().map(|&v| sort_key(v)).collect());
        let state = BoxState::new(vec![&cell]);
        assert_eq!(state.median_from(900, sort_key(0.0)).0, 0.25);
        assert_eq!(state.median_from(900, sort_key(1.0)).0, 0.25);
        assert_eq!(state.moments(900), (0.25, 0.0));
        // zero spread: no usable rms, as clipped_stats' filter in the caller
        assert_eq!(
            grid.clipped_stats(image.view(), 17.0, |n| n >= 20),
            vec![None]
        );
    }
}
