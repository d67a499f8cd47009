//! The inner loops over one chunk of pixels, written twice: with SSE2 intrinsics on
//! x86_64 (SSE2 is part of that architecture, so no run-time detection is needed) and in
//! plain Rust everywhere else. Both do the same IEEE operations on the same lanes in the
//! same order, so they give bit-identical results (the tests compare them); the SSE2 one
//! exists because the compiler does not vectorise the plain loops well.
//!
//! Lane layout of the f64 sums (what the results depend on): the chunk is cut into blocks
//! of [`SUM_LANES`] values, and lane `l` sums the values at position `l` of each block, in
//! block order. Values that are not finite count as 0 in the sums and are left out of
//! count, min and max. Only whole blocks are processed here; callers handle the tail.

/// Lanes of the f64 sums; the position of a value in its block of this many picks its lane.
pub(crate) const SUM_LANES: usize = 8;

/// Lanes of the bracket count, and the block size of the bracket's inside mask.
pub(crate) const BRACKET_LANES: usize = 16;

/// What one pass over the whole blocks of a chunk gives: the count of finite values, the
/// per-lane sums of the finite values, and their min and max (±infinity when none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockSums {
    pub count: usize,
    pub sum: [f64; SUM_LANES],
    pub min: f32,
    pub max: f32,
}

/// Per-lane sums of d and d² with d = v - mean for the finite values v of the whole blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockDeviations {
    pub correction: [f64; SUM_LANES],
    pub m2: [f64; SUM_LANES],
}

/// An inclusive f32 interval `first..=last` as the bracket passes test it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub first: f32,
    pub last: f32,
}

/// See [`BlockSums`] (AVX when the processor has it, else SSE2).
#[cfg(target_arch = "x86_64")]
pub(crate) fn block_sums(chunk: &[f32]) -> BlockSums {
    if avx::available() {
        avx::block_sums(chunk)
    } else {
        sse2::block_sums(chunk)
    }
}

/// See [`BlockDeviations`] (AVX when the processor has it, else SSE2).
#[cfg(target_arch = "x86_64")]
pub(crate) fn block_deviations(chunk: &[f32], mean: f64) -> BlockDeviations {
    if avx::available() {
        avx::block_deviations(chunk, mean)
    } else {
        sse2::block_deviations(chunk, mean)
    }
}

/// See [`portable::bracket_blocks`] (AVX when the processor has it, else SSE2).
#[cfg(target_arch = "x86_64")]
pub(crate) fn bracket_blocks(
    chunk: &[f32],
    below: Interval,
    up_to_hi: Interval,
    kept: &mut Vec<f32>,
) -> usize {
    if avx::available() {
        avx::bracket_blocks(chunk, below, up_to_hi, kept)
    } else {
        sse2::bracket_blocks(chunk, below, up_to_hi, kept)
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use portable::{block_deviations, block_sums, bracket_blocks};

/// Plain Rust versions (used off x86_64, and by the tests as the reference).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) mod portable {
    use super::*;

    /// See [`BlockSums`].
    pub(crate) fn block_sums(chunk: &[f32]) -> BlockSums {
        let mut count = 0usize;
        let mut sum = [0.0f64; SUM_LANES];
        let mut min = f32::INFINITY;
        let mut max = f32::NEG_INFINITY;
        for block in chunk.chunks_exact(SUM_LANES) {
            for l in 0..SUM_LANES {
                let v = block[l];
                if v.is_finite() {
                    count += 1;
                    sum[l] += v as f64;
                    min = min.min(v);
                    max = max.max(v);
                }
            }
        }
        BlockSums {
            count,
            sum,
            min,
            max,
        }
    }

    /// See [`BlockDeviations`].
    pub(crate) fn block_deviations(chunk: &[f32], mean: f64) -> BlockDeviations {
        let mut correction = [0.0f64; SUM_LANES];
        let mut m2 = [0.0f64; SUM_LANES];
        for block in chunk.chunks_exact(SUM_LANES) {
            for l in 0..SUM_LANES {
                let v = block[l];
                if v.is_finite() {
                    let d = v as f64 - mean;
                    correction[l] += d;
                    m2[l] += d * d;
                }
            }
        }
        BlockDeviations { correction, m2 }
    }

    /// Over the whole blocks of [`BRACKET_LANES`] values: counts the values in `below` and
    /// appends to `kept` each value in `up_to_hi` but not in `below`, in order.
    pub(crate) fn bracket_blocks(
        chunk: &[f32],
        below: Interval,
        up_to_hi: Interval,
        kept: &mut Vec<f32>,
    ) -> usize {
        let within = |i: Interval, v: f32| v >= i.first && v <= i.last;
        let mut count = 0;
        for block in chunk.chunks_exact(BRACKET_LANES) {
            for &v in block {
                if within(below, v) {
                    count += 1;
                } else if within(up_to_hi, v) {
                    kept.push(v);
                }
            }
        }
        count
    }
}

/// SSE2 versions: four f32 or two f64 lanes per register.
#[cfg(target_arch = "x86_64")]
pub(crate) mod sse2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Loads 4 f32 from `values[at..at + 4]`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(values: &[f32], at: usize) -> __m128 {
        let four = &values[at..at + 4];
        // SAFETY: `four` is 4 valid f32s; the load has no alignment requirement.
        unsafe { _mm_loadu_ps(four.as_ptr()) }
    }

    /// All-ones in the lanes of `v` that are finite (|v| < inf; false for NaN).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn finite_mask(v: __m128) -> __m128 {
        let magnitude = _mm_and_ps(v, _mm_castsi128_ps(_mm_set1_epi32(i32::MAX)));
        _mm_cmplt_ps(magnitude, _mm_set1_ps(f32::INFINITY))
    }

    /// `v` where `mask`, else `other`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn select(mask: __m128, v: __m128, other: __m128) -> __m128 {
        _mm_or_ps(_mm_and_ps(mask, v), _mm_andnot_ps(mask, other))
    }

    /// The two f64 registers of 4 f32 lanes: lanes 0-1 and lanes 2-3.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn widen(v: __m128) -> (__m128d, __m128d) {
        (_mm_cvtps_pd(v), _mm_cvtps_pd(_mm_movehl_ps(v, v)))
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn lanes(registers: [__m128d; 4]) -> [f64; SUM_LANES] {
        let mut out = [0.0f64; SUM_LANES];
        for (pair, r) in out.chunks_exact_mut(2).zip(registers) {
            let mut two = [0.0f64; 2];
            // SAFETY: `two` has room for the 2 f64s of the register.
            unsafe { _mm_storeu_pd(two.as_mut_ptr(), r) };
            pair.copy_from_slice(&two);
        }
        out
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn horizontal(v: __m128, fold: fn(f32, f32) -> f32, start: f32) -> f32 {
        let mut four = [0.0f32; 4];
        // SAFETY: `four` has room for the 4 f32s of the register.
        unsafe { _mm_storeu_ps(four.as_mut_ptr(), v) };
        four.into_iter().fold(start, fold)
    }

    /// Calls `body(half, v, finite_mask(v))` for the two halves of 4 values of each whole
    /// block of [`SUM_LANES`] values, in order.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn for_each_half_block(chunk: &[f32], mut body: impl FnMut(usize, __m128, __m128)) {
        for block in chunk.chunks_exact(SUM_LANES) {
            for half in 0..2 {
                let v = load(block, 4 * half);
                body(half, v, finite_mask(v));
            }
        }
    }

    /// The sum of the 4 u32 lanes of `count`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn total(count: __m128i) -> usize {
        let mut counts = [0u32; 4];
        // SAFETY: `counts` has room for the 4 u32s of the register.
        unsafe { _mm_storeu_si128(counts.as_mut_ptr().cast(), count) };
        counts.iter().map(|&c| c as usize).sum()
    }

    /// See [`BlockSums`].
    pub(crate) fn block_sums(chunk: &[f32]) -> BlockSums {
        // SAFETY: SSE2 is part of every x86_64 processor.
        unsafe { block_sums_sse2(chunk) }
    }

    #[target_feature(enable = "sse2")]
    fn block_sums_sse2(chunk: &[f32]) -> BlockSums {
        let mut sum = [_mm_setzero_pd(); 4];
        let mut count = _mm_setzero_si128();
        let mut min = _mm_set1_ps(f32::INFINITY);
        let mut max = _mm_set1_ps(f32::NEG_INFINITY);
        for_each_half_block(chunk, |half, v, finite| {
            count = _mm_sub_epi32(count, _mm_castps_si128(finite));
            let (low, high) = widen(_mm_and_ps(v, finite));
            sum[2 * half] = _mm_add_pd(sum[2 * half], low);
            sum[2 * half + 1] = _mm_add_pd(sum[2 * half + 1], high);
            min = _mm_min_ps(min, select(finite, v, _mm_set1_ps(f32::INFINITY)));
            max = _mm_max_ps(max, select(finite, v, _mm_set1_ps(f32::NEG_INFINITY)));
        });
        BlockSums {
            count: total(count),
            sum: lanes(sum),
            min: horizontal(min, f32::min, f32::INFINITY),
            max: horizontal(max, f32::max, f32::NEG_INFINITY),
        }
    }

    /// See [`BlockDeviations`].
    pub(crate) fn block_deviations(chunk: &[f32], mean: f64) -> BlockDeviations {
        // SAFETY: SSE2 is part of every x86_64 processor.
        unsafe { block_deviations_sse2(chunk, mean) }
    }

    #[target_feature(enable = "sse2")]
    fn block_deviations_sse2(chunk: &[f32], mean: f64) -> BlockDeviations {
        let mut correction = [_mm_setzero_pd(); 4];
        let mut m2 = [_mm_setzero_pd(); 4];
        let mean = _mm_set1_pd(mean);
        for_each_half_block(chunk, |half, v, finite| {
            // Each 32-bit mask lane doubled to cover its f64 lane.
            let low_mask = _mm_castps_pd(_mm_unpacklo_ps(finite, finite));
            let high_mask = _mm_castps_pd(_mm_unpackhi_ps(finite, finite));
            let (low, high) = widen(v);
            for (k, (x, mask)) in [(low, low_mask), (high, high_mask)].into_iter().enumerate() {
                let d = _mm_and_pd(_mm_sub_pd(x, mean), mask);
                let lane = 2 * half + k;
                correction[lane] = _mm_add_pd(correction[lane], d);
                m2[lane] = _mm_add_pd(m2[lane], _mm_mul_pd(d, d));
            }
        });
        BlockDeviations {
            correction: lanes(correction),
            m2: lanes(m2),
        }
    }

    /// All-ones in the lanes of `v` inside `i` (never for NaN).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn within(i: Interval, v: __m128) -> __m128 {
        _mm_and_ps(
            _mm_cmpge_ps(v, _mm_set1_ps(i.first)),
            _mm_cmple_ps(v, _mm_set1_ps(i.last)),
        )
    }

    /// See the portable version: the count is vectorised, and the values to keep come
    /// from a 16-bit mask per block, so only they cost a scalar step; they go through a
    /// small buffer, so the loop makes no call.
    pub(crate) fn bracket_blocks(
        chunk: &[f32],
        below: Interval,
        up_to_hi: Interval,
        kept: &mut Vec<f32>,
    ) -> usize {
        // SAFETY: SSE2 is part of every x86_64 processor.
        unsafe { bracket_blocks_sse2(chunk, below, up_to_hi, kept) }
    }

    #[target_feature(enable = "sse2")]
    fn bracket_blocks_sse2(
        chunk: &[f32],
        below: Interval,
        up_to_hi: Interval,
        kept: &mut Vec<f32>,
    ) -> usize {
        let mut count = _mm_setzero_si128();
        let mut kept_values = Kept::new(kept);
        for block in chunk.chunks_exact(BRACKET_LANES) {
            let mut mask = 0u32;
            for quarter in 0..4 {
                let v = load(block, 4 * quarter);
                let is_below = within(below, v);
                count = _mm_sub_epi32(count, _mm_castps_si128(is_below));
                let inside = _mm_andnot_ps(is_below, within(up_to_hi, v));
                mask |= (_mm_movemask_ps(inside) as u32) << (4 * quarter);
            }
            kept_values.push_masked(block, mask);
        }
        kept_values.finish();
        total(count)
    }
}

/// AVX versions: eight f32 or four f64 lanes per register, for processors that have AVX
/// (detected at run time). Counts are kept in f32 lanes, exact far beyond a chunk's size.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx {
    use super::*;
    use std::arch::x86_64::*;

    /// Whether this processor runs AVX instructions (checked once, then cached by std).
    pub(crate) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx")
    }

    /// Loads 8 f32 from `values[at..at + 8]`.
    #[inline]
    #[target_feature(enable = "avx")]
    fn load(values: &[f32], at: usize) -> __m256 {
        let eight = &values[at..at + 8];
        // SAFETY: `eight` is 8 valid f32s; the load has no alignment requirement.
        unsafe { _mm256_loadu_ps(eight.as_ptr()) }
    }

    /// All-ones in the lanes of `v` that are finite (|v| < inf; false for NaN).
    #[inline]
    #[target_feature(enable = "avx")]
    fn finite_mask(v: __m256) -> __m256 {
        let magnitude = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)));
        _mm256_cmp_ps::<_CMP_LT_OQ>(magnitude, _mm256_set1_ps(f32::INFINITY))
    }

    /// The two f64 registers of 8 f32 lanes: lanes 0-3 and lanes 4-7.
    #[inline]
    #[target_feature(enable = "avx")]
    fn widen(v: __m256) -> (__m256d, __m256d) {
        (
            _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)),
        )
    }

    #[inline]
    #[target_feature(enable = "avx")]
    fn lanes(low: __m256d, high: __m256d) -> [f64; SUM_LANES] {
        let mut out = [0.0f64; SUM_LANES];
        // SAFETY: `out` has room for the 2 x 4 f64s of the registers.
        unsafe {
            _mm256_storeu_pd(out.as_mut_ptr(), low);
            _mm256_storeu_pd(out.as_mut_ptr().add(4), high);
        }
        out
    }

    #[inline]
    #[target_feature(enable = "avx")]
    fn to_array(v: __m256) -> [f32; 8] {
        let mut eight = [0.0f32; 8];
        // SAFETY: `eight` has room for the 8 f32s of the register.
        unsafe { _mm256_storeu_ps(eight.as_mut_ptr(), v) };
        eight
    }

    /// The sum of the 8 lanes of `count`, which hold whole numbers.
    #[inline]
    #[target_feature(enable = "avx")]
    fn total(count: __m256) -> usize {
        to_array(count).iter().map(|&c| c as usize).sum()
    }

    /// See [`BlockSums`].
    pub(crate) fn block_sums(chunk: &[f32]) -> BlockSums {
        assert!(available(), "AVX kernel called on a processor without AVX");
        // SAFETY: the processor has AVX (checked above).
        unsafe { block_sums_avx(chunk) }
    }

    #[target_feature(enable = "avx")]
    fn block_sums_avx(chunk: &[f32]) -> BlockSums {
        let (mut low_sum, mut high_sum) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let mut count = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let (inf, neg_inf) = (
            _mm256_set1_ps(f32::INFINITY),
            _mm256_set1_ps(f32::NEG_INFINITY),
        );
        let (mut min, mut max) = (inf, neg_inf);
        for b in 0..chunk.len() / SUM_LANES {
            let v = load(chunk, b * SUM_LANES);
            let finite = finite_mask(v);
            count = _mm256_add_ps(count, _mm256_and_ps(finite, one));
            let (low, high) = widen(_mm256_and_ps(v, finite));
            low_sum = _mm256_add_pd(low_sum, low);
            high_sum = _mm256_add_pd(high_sum, high);
            min = _mm256_min_ps(min, _mm256_blendv_ps(inf, v, finite));
            max = _mm256_max_ps(max, _mm256_blendv_ps(neg_inf, v, finite));
        }
        BlockSums {
            count: total(count),
            sum: lanes(low_sum, high_sum),
            min: to_array(min).into_iter().fold(f32::INFINITY, f32::min),
            max: to_array(max).into_iter().fold(f32::NEG_INFINITY, f32::max),
        }
    }

    /// See [`BlockDeviations`].
    pub(crate) fn block_deviations(chunk: &[f32], mean: f64) -> BlockDeviations {
        assert!(available(), "AVX kernel called on a processor without AVX");
        // SAFETY: the processor has AVX (checked above).
        unsafe { block_deviations_avx(chunk, mean) }
    }

    #[target_feature(enable = "avx")]
    fn block_deviations_avx(chunk: &[f32], mean: f64) -> BlockDeviations {
        let mut correction = [_mm256_setzero_pd(); 2];
        let mut m2 = [_mm256_setzero_pd(); 2];
        let mean = _mm256_set1_pd(mean);
        let magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        let inf = _mm256_set1_pd(f64::INFINITY);
        for b in 0..chunk.len() / SUM_LANES {
            let (low, high) = widen(load(chunk, b * SUM_LANES));
            for (lane, x) in [low, high].into_iter().enumerate() {
                // v - mean is finite exactly when v is (mean is finite).
                let d = _mm256_sub_pd(x, mean);
                let finite = _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_and_pd(d, magnitude), inf);
                let d = _mm256_and_pd(d, finite);
                correction[lane] = _mm256_add_pd(correction[lane], d);
                m2[lane] = _mm256_add_pd(m2[lane], _mm256_mul_pd(d, d));
            }
        }
        BlockDeviations {
            correction: lanes(correction[0], correction[1]),
            m2: lanes(m2[0], m2[1]),
        }
    }

    /// All-ones in the lanes of `v` inside `i` (never for NaN).
    #[inline]
    #[target_feature(enable = "avx")]
    fn within(i: Interval, v: __m256) -> __m256 {
        _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(v, _mm256_set1_ps(i.first)),
            _mm256_cmp_ps::<_CMP_LE_OQ>(v, _mm256_set1_ps(i.last)),
        )
    }

    /// See [`super::sse2::bracket_blocks`].
    pub(crate) fn bracket_blocks(
        chunk: &[f32],
        below: Interval,
        up_to_hi: Interval,
        kept: &mut Vec<f32>,
    ) -> usize {
        assert!(available(), "AVX kernel called on a processor without AVX");
        // SAFETY: the processor has AVX (checked above).
        unsafe { bracket_blocks_avx(chunk, below, up_to_hi, kept) }
    }

    #[target_feature(enable = "avx")]
    fn bracket_blocks_avx(
        chunk: &[f32],
        below: Interval,
        up_to_hi: Interval,
        kept: &mut Vec<f32>,
    ) -> usize {
        let mut count = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let mut kept_values = Kept::new(kept);
        // Pairs of blocks share one 32-bit mask (fewer branch-free rounds per value), then
        // the block left over, if any.
        let whole = chunk.len() / BRACKET_LANES * BRACKET_LANES;
        let pairs = chunk[..whole].chunks_exact(2 * BRACKET_LANES);
        let rest = pairs.remainder();
        let mut block_mask = |block: &[f32]| {
            let mut mask = 0u32;
            for eighth in 0..block.len() / 8 {
                let v = load(block, 8 * eighth);
                let is_below = within(below, v);
                count = _mm256_add_ps(count, _mm256_and_ps(is_below, one));
                let inside = _mm256_andnot_ps(is_below, within(up_to_hi, v));
                mask |= (_mm256_movemask_ps(inside) as u32) << (8 * eighth);
            }
            mask
        };
        for pair in pairs {
            let mask = block_mask(pair);
            kept_values.push_masked(pair, mask);
        }
        if !rest.is_empty() {
            let mask = block_mask(rest);
            kept_values.push_masked(rest, mask);
        }
        kept_values.finish();
        total(count)
    }
}

/// The values a bracket pass keeps, through a small buffer so that the loop over the
/// blocks makes no call.
#[cfg(target_arch = "x86_64")]
struct Kept<'a> {
    out: &'a mut Vec<f32>,
    buffer: [f32; Kept::BUFFER],
    filled: usize,
}

#[cfg(target_arch = "x86_64")]
impl<'a> Kept<'a> {
    const BUFFER: usize = 256;
    /// Values kept without a branch per block: a bracket holds a few per cent of the
    /// values, so a block of 16 or 32 rarely has more than 3 inside.
    const ROUNDS: usize = 3;

    fn new(out: &'a mut Vec<f32>) -> Self {
        Kept {
            out,
            buffer: [0.0; Kept::BUFFER],
            filled: 0,
        }
    }

    /// Keeps the values of `block` (16 or 32 of them) whose bits are set in `mask`, in
    /// order.
    #[inline(always)]
    fn push_masked(&mut self, block: &[f32], mut mask: u32) {
        let lane = block.len() - 1;
        // The first `ROUNDS` set bits without a branch (a round with no bit left writes a
        // value it does not count), then a loop that is almost never entered.
        for _ in 0..Kept::ROUNDS {
            self.buffer[self.filled % Kept::BUFFER] = block[mask.trailing_zeros() as usize & lane];
            self.filled += usize::from(mask != 0);
            mask &= mask.wrapping_sub(1);
        }
        while mask != 0 {
            self.buffer[self.filled % Kept::BUFFER] = block[mask.trailing_zeros() as usize & lane];
            self.filled += 1;
            mask &= mask - 1;
        }
        if self.filled > Kept::BUFFER - 2 * BRACKET_LANES {
            self.out.extend_from_slice(&self.buffer[..self.filled]);
            self.filled = 0;
        }
    }

    /// Moves what is left in the buffer to the output.
    fn finish(self) {
        self.out.extend_from_slice(&self.buffer[..self.filled]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of every kind: noise, NaN, infinities, zeros, subnormals, extremes.
    fn values(n: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            1e-45,
            f32::MAX,
            f32::MIN,
        ];
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if i % 37 == 0 {
                    specials[(i / 37) % specials.len()]
                } else {
                    ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1e-3
                }
            })
            .collect()
    }

    /// The kernels of one instruction set.
    struct Kernels {
        name: &'static str,
        sums: fn(&[f32]) -> BlockSums,
        deviations: fn(&[f32], f64) -> BlockDeviations,
        bracket: fn(&[f32], Interval, Interval, &mut Vec<f32>) -> usize,
    }

    /// Every vector version this processor can run.
    fn vector_kernels() -> Vec<Kernels> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            all.push(Kernels {
                name: "sse2",
                sums: sse2::block_sums,
                deviations: sse2::block_deviations,
                bracket: sse2::bracket_blocks,
            });
            if avx::available() {
                all.push(Kernels {
                    name: "avx",
                    sums: avx::block_sums,
                    deviations: avx::block_deviations,
                    bracket: avx::bracket_blocks,
                });
            }
        }
        all.push(Kernels {
            name: "dispatched",
            sums: block_sums,
            deviations: block_deviations,
            bracket: bracket_blocks,
        });
        all
    }

    #[test]
    fn vector_kernels_equal_the_plain_ones_bit_for_bit() {
        let bits = |k: &[f32]| k.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for kernels in vector_kernels() {
            let name = kernels.name;
            for n in [0, 7, 8, 16, 1000, 32_768] {
                let v = values(n);
                let (a, b) = ((kernels.sums)(&v), portable::block_sums(&v));
                assert_eq!(a.count, b.count, "{name} {n}");
                assert_eq!(
                    a.sum.map(f64::to_bits),
                    b.sum.map(f64::to_bits),
                    "{name} {n}"
                );
                assert_eq!(
                    (a.min.to_bits(), a.max.to_bits()),
                    (b.min.to_bits(), b.max.to_bits()),
                    "{name} {n}"
                );
                for mean in [0.0, 1.25e-4, -3.0] {
                    let a = (kernels.deviations)(&v, mean);
                    let b = portable::block_deviations(&v, mean);
                    assert_eq!(
                        a.correction.map(f64::to_bits),
                        b.correction.map(f64::to_bits)
                    );
                    assert_eq!(a.m2.map(f64::to_bits), b.m2.map(f64::to_bits), "{name} {n}");
                }
                let below = Interval {
                    first: f32::MIN,
                    last: -1e-4,
                };
                for last in [2e-4, 4e-4, f32::MAX] {
                    let up_to_hi = Interval {
                        first: f32::MIN,
                        last,
                    };
                    let (mut kept_a, mut kept_b) = (Vec::new(), Vec::new());
                    let count_a = (kernels.bracket)(&v, below, up_to_hi, &mut kept_a);
                    let count_b = portable::bracket_blocks(&v, below, up_to_hi, &mut kept_b);
                    assert_eq!(
                        (count_a, bits(&kept_a)),
                        (count_b, bits(&kept_b)),
                        "{name} {n} {last}"
                    );
                }
            }
        }
    }
}
