//! Synthetic test images: seeded Gaussian noise correlated by the beam, plus
//! elliptical Gaussian sources of known parameters (tests only).

use ndarray::Array2;

use crate::errors::FWSIG;
use crate::lm::gaussian_value;
use crate::model::BeamPix;

/// SplitMix64: small, seeded, reproducible on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Internal parameters of a Gaussian with FWHM sizes and PA in degrees.
pub fn params(amp: f64, x: f64, y: f64, maj: f64, min: f64, pa_deg: f64) -> [f64; 6] {
    [amp, x, y, maj / FWSIG, min / FWSIG, pa_deg.to_radians()]
}

/// White noise convolved with the beam, scaled to unit rms.
pub fn correlated_noise(nx: usize, ny: usize, beam: BeamPix, seed: u64) -> Array2<f64> {
    let mut rng = Rng::new(seed);
    let white = Array2::from_shape_fn((ny, nx), |_| rng.normal());
    let kernel_params = params(
        1.0,
        0.0,
        0.0,
        beam.maj_fwhm_pix,
        beam.min_fwhm_pix,
        beam.pa_deg,
    );
    let r = (2.0 * beam.maj_fwhm_pix).ceil() as i64;
    let mut kernel = Vec::new();
    for dy in -r..=r {
        for dx in -r..=r {
            kernel.push((dx, dy, gaussian_value(&kernel_params, dx as f64, dy as f64)));
        }
    }
    let norm = kernel.iter().map(|k| k.2 * k.2).sum::<f64>().sqrt();
    Array2::from_shape_fn((ny, nx), |(y, x)| {
        let mut s = 0.0;
        for &(dx, dy, w) in &kernel {
            // periodic wrap keeps the noise stationary up to the edges
            let xx = (x as i64 + dx).rem_euclid(nx as i64) as usize;
            let yy = (y as i64 + dy).rem_euclid(ny as i64) as usize;
            s += w * white[[yy, xx]];
        }
        s / norm
    })
}

/// Adds a Gaussian (FWHM sizes, PA degrees CCW from +y) to `image`.
pub fn add_gaussian(
    image: &mut Array2<f64>,
    amp: f64,
    x: f64,
    y: f64,
    maj: f64,
    min: f64,
    pa_deg: f64,
) {
    let p = params(amp, x, y, maj, min, pa_deg);
    for ((yy, xx), v) in image.indexed_iter_mut() {
        *v += gaussian_value(&p, xx as f64, yy as f64);
    }
}

/// The image as f32, scaled by `rms`.
pub fn to_f32(image: &Array2<f64>, rms: f64) -> Array2<f32> {
    image.mapv(|v| (v * rms) as f32)
}
