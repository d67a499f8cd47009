//! vlass-imstats: exact statistics of one image plane over its finite pixels.
//!
//! Definitions (the same as numpy on the finite pixels, in float64):
//! - `finite_pixels`: number of pixels that are neither NaN nor infinite; every
//!   other statistic is over these pixels only.
//! - `mean`, `std`: arithmetic mean and population standard deviation (ddof = 0).
//! - `median`: the middle value; for an even count the mean of the two middle values.
//! - `mad`: median of |x - median| (same even-count rule); `robust_noise` = 1.4826 x mad.
//! - `peak`: the largest finite value and its 0-based pixel (x = column, y = row);
//!   for ties the first in row-major order, as `numpy.nanargmax` picks.
//!
//! How: the plane is cut into fixed-size chunks processed in parallel (rayon);
//! each chunk gives exact min/max/peak and a two-pass mean and sum of squared
//! deviations, merged in chunk order with Chan's formula, so the result does not
//! depend on the number of threads. Median and MAD are exact order statistics found
//! by selection (`select_nth_unstable_by`): a strided sample brackets the wanted
//! rank, one parallel pass counts the values below the bracket and collects those
//! inside it (comparing raw f32 values against the bracket turned exactly into f32
//! intervals, see `ValueBand`), and the selection runs on that small set; if the bracket misses
//! (checked by the counts) the selection runs on all values. Memory stays near one
//! plane: nothing the size of the plane is copied unless the bracket misses.
//!
//! The pixels come from a [`Pixels`] source: a slice, or a [`Decoded`] source that makes
//! each chunk on demand (a plane mapped from its file), so a plane need not be in memory.
//! One sample and two passes over the pixels: moments with the median's candidates, then
//! the MAD's candidates. The inner loops are in `kernels` (SSE2/AVX with plain-Rust twins).

mod kernels;

use kernels::{BlockDeviations, BlockSums, BRACKET_LANES, SUM_LANES};
use rayon::prelude::*;
use std::cell::RefCell;

/// Scale from the median absolute deviation to the standard deviation of a Gaussian.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// Pixels per chunk of parallel work; fixed so the merge order never depends on threads.
pub const CHUNK: usize = 1 << 15;

/// Target size of the sample that brackets an order statistic.
const SAMPLE_TARGET: usize = 1 << 16;

/// Where the pixels of a plane come from: a slice in memory, or a decoder that produces
/// them chunk by chunk (for example a plane mapped from its file, see [`Decoded`]).
/// Pixels are addressed in row-major order, `y * nx + x`.
pub trait Pixels: Sync {
    /// Number of pixels.
    fn len(&self) -> usize;

    /// Whether there is no pixel.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixel `index` (used for sampling).
    fn get(&self, index: usize) -> f32;

    /// Calls `f` with the pixels `start..end` (at most [`CHUNK`] of them).
    fn with_range<R>(&self, start: usize, end: usize, f: impl FnOnce(&[f32]) -> R) -> R;
}

impl Pixels for [f32] {
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }

    fn get(&self, index: usize) -> f32 {
        self[index]
    }

    fn with_range<R>(&self, start: usize, end: usize, f: impl FnOnce(&[f32]) -> R) -> R {
        f(&self[start..end])
    }
}

/// Pixels made on demand by `decode(start, out)`, which fills `out` with the pixels
/// `start..start + out.len()`. Each thread decodes into a chunk-sized buffer of its own, so
/// the plane itself is never materialised.
pub struct Decoded<F> {
    len: usize,
    decode: F,
}

impl<F: Fn(usize, &mut [f32]) + Sync> Decoded<F> {
    /// `len` pixels produced by `decode`.
    pub fn new(len: usize, decode: F) -> Self {
        Decoded { len, decode }
    }
}

thread_local! {
    /// The decode buffer of this thread (one chunk).
    static DECODE_BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl<F: Fn(usize, &mut [f32]) + Sync> Pixels for Decoded<F> {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, index: usize) -> f32 {
        let mut one = [0f32];
        (self.decode)(index, &mut one);
        one[0]
    }

    fn with_range<R>(&self, start: usize, end: usize, f: impl FnOnce(&[f32]) -> R) -> R {
        DECODE_BUFFER.with(|cell| {
            // A nested call on this thread (never made here) gets a buffer of its own.
            let mut own = Vec::new();
            let mut borrowed = cell.try_borrow_mut();
            let buffer = match borrowed.as_mut() {
                Ok(b) => &mut **b,
                Err(_) => &mut own,
            };
            buffer.resize(end - start, 0.0);
            (self.decode)(start, buffer);
            f(buffer)
        })
    }
}

/// `g(offset, chunk)` for each [`CHUNK`]-sized chunk of `pixels`, in parallel, in order.
fn map_chunks<P, R, G>(pixels: &P, g: G) -> Vec<R>
where
    P: Pixels + ?Sized,
    R: Send,
    G: Fn(usize, &[f32]) -> R + Sync,
{
    let len = pixels.len();
    (0..len.div_ceil(CHUNK))
        .into_par_iter()
        .map(|i| {
            let start = i * CHUNK;
            pixels.with_range(start, (start + CHUNK).min(len), |chunk| g(start, chunk))
        })
        .collect()
}

/// Index of the first element of `values` equal to `target` (0 if none): a vectorised
/// test of whole blocks, then a scan inside the block that holds it.
fn first_index_of(values: &[f32], target: f32) -> usize {
    const BLOCK: usize = 64;
    values
        .chunks(BLOCK)
        .position(|block| block.iter().fold(false, |found, &v| found | (v == target)))
        .and_then(|b| {
            let start = b * BLOCK;
            values[start..]
                .iter()
                .position(|&v| v == target)
                .map(|i| start + i)
        })
        .unwrap_or(0)
}

/// The brightest finite pixel of a plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Pixel value.
    pub value: f64,
    /// 0-based column.
    pub x: usize,
    /// 0-based row.
    pub y: usize,
}

/// Statistics of one plane (or of any set of values) over its finite pixels.
/// Every statistic is `None` when there is no finite pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneStats {
    /// All pixels of the plane, finite or not.
    pub total_pixels: usize,
    /// Pixels that are neither NaN nor infinite.
    pub finite_pixels: usize,
    /// Smallest finite value.
    pub min: Option<f64>,
    /// Largest finite value.
    pub max: Option<f64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Population standard deviation (ddof = 0).
    pub std: Option<f64>,
    /// Exact median (even count: mean of the two middle values).
    pub median: Option<f64>,
    /// Exact median absolute deviation from the median.
    pub mad: Option<f64>,
    /// 1.4826 x `mad`.
    pub robust_noise: Option<f64>,
    /// Largest finite value and where it is.
    pub peak: Option<Peak>,
}

impl PlaneStats {
    /// Fraction of the plane's pixels that are finite (0 for an empty plane).
    pub fn finite_fraction(&self) -> f64 {
        if self.total_pixels == 0 {
            0.0
        } else {
            self.finite_pixels as f64 / self.total_pixels as f64
        }
    }
}

/// Why a plane could not be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// The buffer length is not a multiple of the row length.
    Shape { len: usize, nx: usize },
}

impl std::fmt::Display for StatsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatsError::Shape { len, nx } => {
                write!(
                    f,
                    "plane of {len} values is not a whole number of rows of {nx}"
                )
            }
        }
    }
}

impl std::error::Error for StatsError {}

/// Mergeable moments of a set of finite values: count, min, max, peak,
/// mean and sum of squared deviations. Merging is exact for count/min/max/peak
/// and numerically stable (Chan et al.) for mean and variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of finite values.
    pub count: usize,
    /// Smallest value (+inf when empty).
    pub min: f64,
    /// Largest value (-inf when empty).
    pub max: f64,
    /// Mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Flat index of the first occurrence of `max` (in the plane's row-major order).
    pub max_index: usize,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
            max_index: 0,
        }
    }
}

impl Moments {
    /// Moments of one chunk whose first value has flat index `offset`.
    ///
    /// Branch-free vector loops ([`kernels`]) over `SUM_LANES` independent f64 accumulators
    /// (a fixed layout, so the result is still independent of threads); the peak's index is
    /// found afterwards by one scan for the chunk's maximum.
    fn of_chunk(chunk: &[f32], offset: usize) -> Moments {
        let whole = chunk.len() - chunk.len() % SUM_LANES;
        let tail = &chunk[whole..];
        let BlockSums {
            mut count,
            mut sum,
            mut min,
            mut max,
        } = kernels::block_sums(&chunk[..whole]);
        for (l, &v) in tail.iter().enumerate() {
            if v.is_finite() {
                count += 1;
                sum[l] += v as f64;
                min = min.min(v);
                max = max.max(v);
            }
        }
        let n = count;
        if n == 0 {
            return Moments::default();
        }
        let total: f64 = sum.iter().sum();
        let max_index = offset + first_index_of(chunk, max);
        // Second pass over the cache-resident chunk: the corrected two-pass algorithm
        // (Chan, Golub & LeVeque), which removes the rounding left in the mean.
        let mean = total / n as f64;
        let BlockDeviations {
            mut correction,
            mut m2,
        } = kernels::block_deviations(&chunk[..whole], mean);
        for (l, &v) in tail.iter().enumerate() {
            if v.is_finite() {
                let d = v as f64 - mean;
                correction[l] += d;
                m2[l] += d * d;
            }
        }
        let correction: f64 = correction.iter().sum();
        let m2: f64 = m2.iter().sum();
        Moments {
            count: n,
            min: min as f64,
            max: max as f64,
            mean: mean + correction / n as f64,
            m2: (m2 - correction * correction / n as f64).max(0.0),
            max_index,
        }
    }

    /// Combines two sets; `other` comes after `self` in row-major order.
    pub fn merge(self, other: Moments) -> Moments {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        let na = self.count as f64;
        let nb = other.count as f64;
        let n = na + nb;
        let delta = other.mean - self.mean;
        let (max, max_index) = if other.max > self.max {
            (other.max, other.max_index)
        } else {
            (self.max, self.max_index)
        };
        Moments {
            count: self.count + other.count,
            min: self.min.min(other.min),
            max,
            mean: self.mean + delta * nb / n,
            m2: self.m2 + other.m2 + delta * delta * na * nb / n,
            max_index,
        }
    }

    /// Moments of all finite values of `data`, in parallel, independent of thread count.
    pub fn of(data: &[f32]) -> Moments {
        Moments::of_pixels(data)
    }

    /// Moments of all finite pixels, in parallel, independent of thread count.
    fn of_pixels<P: Pixels + ?Sized>(pixels: &P) -> Moments {
        map_chunks(pixels, |offset, c| Moments::of_chunk(c, offset))
            .into_iter()
            .fold(Moments::default(), Moments::merge)
    }

    /// Population standard deviation (None when empty).
    pub fn std(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2 / self.count as f64).sqrt())
    }
}

/// Statistics of a plane stored row-major (`data[y * nx + x]`), over its finite pixels.
pub fn plane_stats(data: &[f32], nx: usize) -> Result<PlaneStats, StatsError> {
    plane_stats_of(data, nx)
}

/// [`plane_stats`] of pixels from any source (the same results for the same pixels).
pub fn plane_stats_of<P: Pixels + ?Sized>(data: &P, nx: usize) -> Result<PlaneStats, StatsError> {
    if nx == 0 || data.len() % nx != 0 {
        return Err(StatsError::Shape {
            len: data.len(),
            nx,
        });
    }
    // The median's bracket comes from a sample taken before the first pass, so that pass
    // gives the moments and the median's candidates together.
    let identity = |v: f32| v as f64;
    let sample = strided_sample(data);
    let sample = sample.as_deref();
    let fused = bracket(sample, data.len(), data.len() / 2, &identity)
        .map(|(lo, hi)| moments_and_bracket(data, ValueBand::new(lo, hi, &identity, &[f32::MIN])));
    let (moments, mut median_candidates) = match fused {
        Some((m, below, inside)) => (m, Some((below, inside))),
        None => (Moments::of_pixels(data), None),
    };
    let n = moments.count;
    let mut stats = PlaneStats {
        total_pixels: data.len(),
        finite_pixels: n,
        min: None,
        max: None,
        mean: None,
        std: None,
        median: None,
        mad: None,
        robust_noise: None,
        peak: None,
    };
    if n == 0 {
        return Ok(stats);
    }
    // The median's candidates go; their memory (already faulted in) holds the MAD's.
    let (median, spare) = match median_candidates.take() {
        Some((below, mut inside)) => (median_from_bracket(below, &mut inside, n), inside),
        None => (None, Vec::new()),
    };
    let median =
        median.unwrap_or_else(|| exact_median(data, sample, n, identity, &[f32::MIN], Vec::new()));
    let deviation = |v: f32| (v as f64 - median).abs();
    let mad = exact_median(data, sample, n, deviation, &f32s_around(median), spare);
    stats.min = Some(moments.min);
    stats.max = Some(moments.max);
    stats.mean = Some(moments.mean);
    stats.std = moments.std();
    stats.median = Some(median);
    stats.mad = Some(mad);
    stats.robust_noise = Some(MAD_TO_SIGMA * mad);
    stats.peak = Some(Peak {
        value: moments.max,
        x: moments.max_index % nx,
        y: moments.max_index / nx,
    });
    Ok(stats)
}

/// Median and robust noise (1.4826 x MAD) of the finite values of any set
/// (for example the alpha values where tt0 is bright). `None` when empty.
pub fn median_and_robust_noise(values: &[f32]) -> Option<(f64, f64)> {
    let n = values.iter().filter(|v| v.is_finite()).count();
    if n == 0 {
        return None;
    }
    let sample = strided_sample(values);
    let sample = sample.as_deref();
    let median = exact_median(values, sample, n, |v| v as f64, &[f32::MIN], Vec::new());
    let mad = exact_median(
        values,
        sample,
        n,
        |v| (v as f64 - median).abs(),
        &f32s_around(median),
        Vec::new(),
    );
    Some((median, MAD_TO_SIGMA * mad))
}

/// Exact median of `f(v)` over the `n` finite values `v` of `data` (n >= 1),
/// numpy's rule for an even count. `f` must fall and then rise (or only rise) along the
/// f32 order, and be smallest at one of `minimisers` (see [`ValueBand`]).
/// `spare` is memory the candidates may reuse.
fn exact_median<P, F>(
    data: &P,
    sample: Option<&[f32]>,
    n: usize,
    f: F,
    minimisers: &[f32],
    spare: Vec<f32>,
) -> f64
where
    P: Pixels + ?Sized,
    F: Fn(f32) -> f64 + Sync,
{
    let ranks = Ranks { sample, minimisers };
    if n % 2 == 1 {
        ranks.select(data, n, n / 2, false, &f, spare).0
    } else {
        let (lo, hi) = ranks.select(data, n, n / 2 - 1, true, &f, spare);
        // Both middle values are finite; halve each first so the sum cannot overflow.
        lo / 2.0 + hi.unwrap_or(lo) / 2.0
    }
}

/// The median of `n` values from the `inside` part of a bracket with `below` values under
/// it; `None` when the bracket does not hold the middle rank(s).
fn median_from_bracket(below: usize, inside: &mut [f32], n: usize) -> Option<f64> {
    let (k, want_next) = if n % 2 == 1 {
        (n / 2, false)
    } else {
        (n / 2 - 1, true)
    };
    if below > k || k + usize::from(want_next) >= below + inside.len() {
        return None;
    }
    let (lo, hi) = select_in(inside, k - below, want_next, &|v| v as f64);
    Some(match hi {
        Some(hi) => lo / 2.0 + hi / 2.0,
        None => lo,
    })
}

/// What an exact selection over a plane knows besides the plane: its strided sample and
/// where the function of the pixel values is smallest (see [`ValueBand`]).
struct Ranks<'a> {
    sample: Option<&'a [f32]>,
    minimisers: &'a [f32],
}

impl Ranks<'_> {
    /// The `k`-th smallest (0-based) of `f(v)` over the `n` finite values of `data`,
    /// and with `want_next` also the (k+1)-th. The candidates are collected into `spare`.
    fn select<P, F>(
        &self,
        data: &P,
        n: usize,
        k: usize,
        want_next: bool,
        f: &F,
        spare: Vec<f32>,
    ) -> (f64, Option<f64>)
    where
        P: Pixels + ?Sized,
        F: Fn(f32) -> f64 + Sync,
    {
        let need = k + usize::from(want_next);
        if let Some((lo, hi)) = bracket(self.sample, n, k, f) {
            let band = ValueBand::new(lo, hi, f, self.minimisers);
            let (below, mut inside) = collect_bracket(data, band, spare);
            if below <= k && need < below + inside.len() {
                return select_in(&mut inside, k - below, want_next, f);
            }
        }
        let mut all: Vec<f32> = map_chunks(data, |_, chunk| {
            chunk
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect::<Vec<f32>>()
        })
        .concat();
        select_in(&mut all, k, want_next, f)
    }
}

/// The finite values among every `stride`-th pixel (`stride` = len / [`SAMPLE_TARGET`]),
/// from which [`bracket`] finds value ranges; `None` for small inputs, where selecting on
/// everything is cheap. Taken in parallel: it first-touches every page of a mapped plane.
fn strided_sample<P: Pixels + ?Sized>(data: &P) -> Option<Vec<f32>> {
    if data.len() < 4 * SAMPLE_TARGET {
        return None;
    }
    let stride = (data.len() / SAMPLE_TARGET).max(1);
    Some(
        (0..data.len().div_ceil(stride))
            .into_par_iter()
            .map(|j| data.get(j * stride))
            .filter(|v| v.is_finite())
            .collect(),
    )
}

/// A range of f(v) that very probably holds ranks k and k+1 of the `n` values, from the
/// [`strided_sample`]. `None` for small inputs, where selecting on everything is cheap.
fn bracket<F>(sample: Option<&[f32]>, n: usize, k: usize, f: &F) -> Option<(f64, f64)>
where
    F: Fn(f32) -> f64,
{
    let sample = sample?;
    if n < 4 * SAMPLE_TARGET || sample.len() < 1024 {
        return None;
    }
    let mut sample: Vec<f64> = sample.iter().map(|&v| f(v)).collect();
    let m = sample.len() as f64;
    let p = k as f64 / n as f64;
    // Six binomial standard deviations of the sample rank plus a fixed margin: a miss
    // (about one in 10^9 for a random sample) only costs a selection over all values.
    let margin = 6.0 * (m * p * (1.0 - p)).sqrt() + 32.0;
    let centre = p * m;
    let lo_i = (centre - margin).floor();
    let hi_i = (centre + margin).ceil();
    // Two selections instead of a sort: only these two order statistics are used.
    let len = sample.len();
    let mut rank = |i: usize| *sample.select_nth_unstable_by(i, f64::total_cmp).1;
    let lo = if lo_i <= 0.0 {
        f64::NEG_INFINITY
    } else {
        rank(lo_i as usize)
    };
    let hi = if hi_i as usize >= len {
        f64::INFINITY
    } else {
        rank(hi_i as usize)
    };
    Some((lo, hi))
}

/// Order-preserving map of a finite f32 onto i32 (and back with [`from_order_key`]).
fn order_key(v: f32) -> i32 {
    let bits = v.to_bits() as i32;
    bits ^ ((bits >> 31) & i32::MAX)
}

/// Inverse of [`order_key`].
fn from_order_key(key: i32) -> f32 {
    f32::from_bits((key ^ ((key >> 31) & i32::MAX)) as u32)
}

/// The f32 values next to `m` on both sides (both equal to `m` when it is an f32):
/// where |v - m| is smallest over all f32 `v`.
fn f32s_around(m: f64) -> [f32; 2] {
    let nearest = (m as f32).clamp(f32::MIN, f32::MAX);
    let (n, key) = (nearest as f64, order_key(nearest));
    if n > m && nearest > f32::MIN {
        [from_order_key(key - 1), nearest]
    } else if n < m && nearest < f32::MAX {
        [nearest, from_order_key(key + 1)]
    } else {
        [nearest, nearest]
    }
}

/// The finite f32 values `first..=last` (empty when `first > last`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct F32Interval {
    first: f32,
    last: f32,
}

impl F32Interval {
    const EMPTY: F32Interval = F32Interval {
        first: f32::MAX,
        last: f32::MIN,
    };

    /// The interval as the vector kernels take it.
    fn interval(self) -> kernels::Interval {
        kernels::Interval {
            first: self.first,
            last: self.last,
        }
    }

    /// Whether `v` is in the interval (never for NaN or an infinity).
    #[inline(always)]
    fn contains(self, v: f32) -> bool {
        (v >= self.first) & (v <= self.last)
    }

    /// The finite f32 values where `holds` is true, given that they form one run in the
    /// f32 order that includes one of `candidates` if it is not empty. Two binary searches
    /// over the ordered bit patterns find its ends exactly.
    fn where_true(holds: impl Fn(f32) -> bool, candidates: &[f32]) -> F32Interval {
        let Some(&inside) = candidates.iter().find(|&&c| c.is_finite() && holds(c)) else {
            return F32Interval::EMPTY;
        };
        let at = |key: i64| holds(from_order_key(key as i32));
        let inside = order_key(inside) as i64;
        // Smallest key that holds: `false_key` fails (or is below the range), `true_key` holds.
        let (mut false_key, mut true_key) = (order_key(f32::MIN) as i64 - 1, inside);
        while true_key - false_key > 1 {
            let mid = false_key + (true_key - false_key) / 2;
            if at(mid) {
                true_key = mid;
            } else {
                false_key = mid;
            }
        }
        let first = from_order_key(true_key as i32);
        let (mut true_key, mut false_key) = (inside, order_key(f32::MAX) as i64 + 1);
        while false_key - true_key > 1 {
            let mid = true_key + (false_key - true_key) / 2;
            if at(mid) {
                true_key = mid;
            } else {
                false_key = mid;
            }
        }
        F32Interval {
            first,
            last: from_order_key(true_key as i32),
        }
    }
}

/// A bracket `lo <= f(v) <= hi` turned into f32 intervals of the raw values `v`, so the
/// pass over the plane compares f32s and computes `f` only for values inside the bracket.
///
/// Exact because `f` (the identity, or |v - m| in f64) falls and then rises (or only rises)
/// along the f32 order: f64 rounding is monotone, so each of {f(v) < lo} and {f(v) <= hi}
/// is one run of f32 values, containing a minimiser of `f` when it is not empty.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ValueBand {
    /// Finite values with f(v) < lo.
    below: F32Interval,
    /// Finite values with f(v) <= hi (a superset of `below`).
    up_to_hi: F32Interval,
}

impl ValueBand {
    fn new<F: Fn(f32) -> f64>(lo: f64, hi: f64, f: &F, minimisers: &[f32]) -> ValueBand {
        ValueBand {
            below: F32Interval::where_true(|v| f(v) < lo, minimisers),
            up_to_hi: F32Interval::where_true(|v| f(v) <= hi, minimisers),
        }
    }

    /// Whether the finite value `v` has lo <= f(v) <= hi.
    #[inline(always)]
    fn inside(self, v: f32) -> bool {
        self.up_to_hi.contains(v) & !self.below.contains(v)
    }
}

/// Counts the finite values `v` of `chunk` with f(v) < lo and collects those with
/// lo <= f(v) <= hi (the raw values: `f` is applied by the selection).
///
/// Without a branch per value (about half the values fall below a median bracket and a
/// few percent inside it, in no predictable order): see [`kernels::bracket_blocks`].
fn bracket_chunk(chunk: &[f32], band: ValueBand) -> (usize, Vec<f32>) {
    let whole = chunk.len() - chunk.len() % BRACKET_LANES;
    let tail = &chunk[whole..];
    let mut kept = Vec::new();
    let mut count = kernels::bracket_blocks(
        &chunk[..whole],
        band.below.interval(),
        band.up_to_hi.interval(),
        &mut kept,
    );
    count += tail.iter().filter(|&&v| band.below.contains(v)).count();
    kept.extend(tail.iter().filter(|&&v| band.inside(v)));
    (count, kept)
}

/// Sums the per-chunk counts and concatenates the collected values into `inside` (emptied
/// first, then sized once: growing it would copy and fault in megabytes several times).
fn merge_brackets(parts: Vec<(usize, Vec<f32>)>, mut inside: Vec<f32>) -> (usize, Vec<f32>) {
    let below = parts.iter().map(|(b, _)| b).sum();
    inside.clear();
    inside.reserve(parts.iter().map(|(_, part)| part.len()).sum());
    for (_, part) in parts {
        inside.extend_from_slice(&part);
    }
    (below, inside)
}

/// Counts the finite values with f(v) < lo and collects those with lo <= f(v) <= hi (into
/// `spare`, whose memory is reused).
fn collect_bracket<P: Pixels + ?Sized>(
    data: &P,
    band: ValueBand,
    spare: Vec<f32>,
) -> (usize, Vec<f32>) {
    merge_brackets(
        map_chunks(data, |_, chunk| bracket_chunk(chunk, band)),
        spare,
    )
}

/// One pass over the plane giving the moments and, for a value bracket, the count below it
/// and the values inside it (the first step of the median, fused to save a memory pass).
fn moments_and_bracket<P: Pixels + ?Sized>(
    data: &P,
    band: ValueBand,
) -> (Moments, usize, Vec<f32>) {
    let parts = map_chunks(data, |offset, c| {
        (Moments::of_chunk(c, offset), bracket_chunk(c, band))
    });
    let mut moments = Moments::default();
    let mut brackets = Vec::with_capacity(parts.len());
    for (m, b) in parts {
        moments = moments.merge(m);
        brackets.push(b);
    }
    let (below, inside) = merge_brackets(brackets, Vec::new());
    (moments, below, inside)
}

/// The `k`-th smallest of `f(v)` over `values` and optionally the next one (k + 1 < len
/// when asked).
fn select_in<F>(values: &mut [f32], k: usize, want_next: bool, f: &F) -> (f64, Option<f64>)
where
    F: Fn(f32) -> f64,
{
    let (_, kth, rest) = values.select_nth_unstable_by(k, |a, b| f(*a).total_cmp(&f(*b)));
    let kth = f(*kth);
    let next = if want_next {
        rest.iter().map(|&v| f(v)).min_by(f64::total_cmp)
    } else {
        None
    };
    (kth, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference statistics the slow, obvious way (sort everything).
    fn reference(data: &[f32]) -> (f64, f64, f64, f64) {
        let mut v: Vec<f64> = data
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| x as f64)
            .collect();
        v.sort_by(f64::total_cmp);
        let med = |s: &[f64]| {
            let n = s.len();
            if n % 2 == 1 {
                s[n / 2]
            } else {
                (s[n / 2 - 1] + s[n / 2]) / 2.0
            }
        };
        let median = med(&v);
        let mut d: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
        d.sort_by(f64::total_cmp);
        let mad = med(&d);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (median, mad, mean, var.sqrt())
    }

    /// Deterministic pseudo-random values (xorshift), with a skewed tail.
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                let g = (u - 0.5) * 2.0;
                (g * 1e-4 + if u > 0.999 { 0.05 * u } else { 0.0 }) as f32
            })
            .collect()
    }

    #[test]
    fn small_known_values() {
        let data = [1.0f32, 2.0, f32::NAN, 4.0, 10.0, f32::INFINITY];
        let s = plane_stats(&data, 3).unwrap();
        assert_eq!(s.total_pixels, 6);
        assert_eq!(s.finite_pixels, 4);
        assert_eq!(s.median, Some(3.0));
        // |x - 3| = 2, 1, 1, 7 -> median 1.5
        assert_eq!(s.mad, Some(1.5));
        assert_eq!(s.robust_noise, Some(1.5 * MAD_TO_SIGMA));
        assert_eq!(s.mean, Some(4.25));
        assert_eq!(s.min, Some(1.0));
        assert_eq!(
            s.peak,
            Some(Peak {
                value: 10.0,
                x: 1,
                y: 1
            })
        );
        assert!((s.std.unwrap() - 3.491060010942235).abs() < 1e-12);
        assert!((s.finite_fraction() - 4.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn odd_count_median_is_the_middle_value() {
        let s = plane_stats(&[5.0, -1.0, 3.0], 3).unwrap();
        assert_eq!(s.median, Some(3.0));
        assert_eq!(s.mad, Some(2.0));
    }

    #[test]
    fn peak_ties_take_the_first_in_row_major_order() {
        let data = [0.0f32, 7.0, 7.0, 1.0, 7.0, 0.0];
        let s = plane_stats(&data, 2).unwrap();
        assert_eq!(s.peak.map(|p| (p.x, p.y)), Some((1, 0)));
    }

    #[test]
    fn nan_only_and_empty_planes_have_no_statistics() {
        let s = plane_stats(&[f32::NAN; 8], 4).unwrap();
        assert_eq!(s.finite_pixels, 0);
        assert_eq!(s.median, None);
        assert_eq!(s.peak, None);
        assert_eq!(s.finite_fraction(), 0.0);
    }

    #[test]
    fn constant_plane_has_zero_noise() {
        let s = plane_stats(&[2.5f32; 12], 4).unwrap();
        assert_eq!(s.std, Some(0.0));
        assert_eq!(s.robust_noise, Some(0.0));
        assert_eq!(s.median, Some(2.5));
    }

    #[test]
    fn bad_shape_is_an_error() {
        assert!(plane_stats(&[1.0; 7], 2).is_err());
        assert!(plane_stats(&[1.0; 4], 0).is_err());
    }

    #[test]
    fn large_plane_matches_sorting_reference() {
        // Big enough for the sampled bracket path, with NaNs in a block.
        for (n, seed) in [(600_001usize, 3u64), (600_000, 11)] {
            let mut data = noise(n, seed);
            for v in data.iter_mut().skip(1000).take(5000) {
                *v = f32::NAN;
            }
            let s = plane_stats(&data, 1).unwrap();
            let (median, mad, mean, std) = reference(&data);
            assert_eq!(s.median, Some(median));
            assert_eq!(s.mad, Some(mad));
            assert!((s.mean.unwrap() - mean).abs() <= 1e-12 * mean.abs().max(1e-6));
            assert!((s.std.unwrap() - std).abs() <= 1e-10 * std);
        }
    }

    #[test]
    fn bracket_miss_falls_back_to_full_selection() {
        // A sample taken with the stride sees only the value 0; everything else is larger,
        // so the bracket is wrong and the counts must detect it.
        let n = 400_000;
        let stride = n / SAMPLE_TARGET;
        let data: Vec<f32> = (0..n)
            .map(|i| {
                if i % stride == 0 {
                    0.0
                } else {
                    1.0 + (i % 97) as f32
                }
            })
            .collect();
        let s = plane_stats(&data, 1).unwrap();
        let (median, mad, _, _) = reference(&data);
        assert_eq!(s.median, Some(median));
        assert_eq!(s.mad, Some(mad));
    }

    #[test]
    fn result_does_not_depend_on_thread_count() {
        let data = noise(300_000, 5);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| plane_stats(&data, 500).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(7));
    }

    #[test]
    fn decoded_pixels_give_the_statistics_of_the_slice() {
        // The decoder negates stored values, so a wrong offset or a stale buffer would show.
        let mut data = noise(700 * 1001, 13);
        for v in data.iter_mut().skip(5).step_by(17) {
            *v = f32::NAN;
        }
        let stored: Vec<f32> = data.iter().map(|v| -v).collect();
        let decoded = Decoded::new(stored.len(), |start, out: &mut [f32]| {
            for (o, v) in out.iter_mut().zip(&stored[start..]) {
                *o = -v;
            }
        });
        assert_eq!(
            plane_stats_of(&decoded, 1001).unwrap(),
            plane_stats(&data, 1001).unwrap()
        );
        let small = &data[..1000];
        let decoded_small = Decoded::new(1000, |start, out: &mut [f32]| {
            out.copy_from_slice(&small[start..start + out.len()])
        });
        assert_eq!(
            plane_stats_of(&decoded_small, 10).unwrap(),
            plane_stats(small, 10).unwrap()
        );
    }

    #[test]
    fn merged_moments_equal_moments_of_the_whole() {
        let data = noise(100_003, 9);
        let whole = Moments::of(&data);
        let split = Moments::of(&data[..40_000]).merge(Moments::of(&data[40_000..]));
        assert_eq!(whole.count, split.count);
        assert_eq!(whole.min, split.min);
        assert_eq!(whole.max, split.max);
        assert!((whole.mean - split.mean).abs() < 1e-15);
        assert!((whole.m2 - split.m2).abs() < 1e-12 * whole.m2);
    }

    /// A function of the pixel value, a bracket (lo, hi) on it, and where it is smallest.
    type BandCase<'a> = (&'a dyn Fn(f32) -> f64, f64, f64, Vec<f32>);

    #[test]
    fn value_band_agrees_with_the_bracket_in_f64() {
        // Values near the thresholds (and zeros, subnormals, infinities, NaN) are where an
        // f32 interval could differ from the f64 comparison; check every one of them.
        let mut values: Vec<f32> = noise(20_000, 11);
        values.extend([0.0, -0.0, 1e-45, -1e-45, f32::MIN, f32::MAX]);
        values.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        let centres = [0.0f64, 1e-5, -3.3e-5, 0.1 + 1e-12, values[7] as f64];
        for &m in &centres {
            let dev = |v: f32| (v as f64 - m).abs();
            let mut with_neighbours = values.clone();
            for &v in &values[..200] {
                let key = order_key(v);
                with_neighbours.extend([from_order_key(key - 1), from_order_key(key + 1)]);
            }
            for (k, &t) in values[..40].iter().enumerate() {
                let lo = dev(t);
                let hi = dev(values[40 + k]).max(lo);
                let cases: [BandCase; 2] = [
                    (&dev, lo, hi, f32s_around(m).to_vec()),
                    (
                        &|v: f32| v as f64,
                        t as f64,
                        (t as f64).max(m),
                        vec![f32::MIN],
                    ),
                ];
                for (f, lo, hi, minimisers) in cases {
                    let band = ValueBand::new(lo, hi, &f, &minimisers);
                    for &v in &with_neighbours {
                        let finite = v.is_finite();
                        assert_eq!(band.below.contains(v), finite && f(v) < lo, "{v} {lo}");
                        let inside = finite && f(v) >= lo && f(v) <= hi;
                        assert_eq!(finite && band.inside(v), inside, "{v} {lo} {hi}");
                    }
                }
            }
        }
        let open = ValueBand::new(f64::NEG_INFINITY, f64::INFINITY, &|v| v as f64, &[f32::MIN]);
        assert_eq!(open.below, F32Interval::EMPTY);
        assert!(open.inside(f32::MAX) && !open.inside(f32::NAN) && !open.inside(f32::INFINITY));
    }

    #[test]
    fn median_and_noise_of_a_set() {
        assert_eq!(median_and_robust_noise(&[f32::NAN]), None);
        let (m, s) = median_and_robust_noise(&[1.0, 2.0, 3.0, f32::NAN]).unwrap();
        assert_eq!(m, 2.0);
        assert_eq!(s, MAD_TO_SIGMA);
    }
}
