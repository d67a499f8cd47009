//! Levenberg-Marquardt least squares for sums of elliptical Gaussians on a set
//! of pixels, with the analytic Jacobian and box bounds on every parameter.
//!
//! Each component has six parameters `[amp, x0, y0, s1, s2, theta]`: `s1` is the
//! standard deviation along the direction `theta` CCW from +y, `s2` across it
//! (theta in radians). The normal equations are accumulated pixel by pixel using
//! only the components that matter at that pixel, so the cost per iteration is
//! about `pixels x (6 x components near a pixel)^2`, not `(6 x all)^2`.

/// Parameters per component.
pub const NPAR: usize = 6;

/// Beyond this many sigma^2 (q = (a/s1)^2 + (b/s2)^2) a component is treated as
/// zero at a pixel: exp(-q/2) < 1e-12 of its peak.
const Q_CUT: f64 = 55.0;

/// One component with the per-component parts of its evaluation (the
/// rotation and inverse variances) computed once, for use at many pixels.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    amp: f64,
    x0: f64,
    y0: f64,
    s1: f64,
    s2: f64,
    sin: f64,
    cos: f64,
    /// 1 / s^2 (gradient form) and s^2 (value form) of both axes.
    i1: f64,
    i2: f64,
    var1: f64,
    var2: f64,
}

impl Component {
    /// From the six parameters `[amp, x0, y0, s1, s2, theta]`.
    pub fn new(p: &[f64]) -> Component {
        let (sin, cos) = p[5].sin_cos();
        Component {
            amp: p[0],
            x0: p[1],
            y0: p[2],
            s1: p[3],
            s2: p[4],
            sin,
            cos,
            i1: 1.0 / (p[3] * p[3]),
            i2: 1.0 / (p[4] * p[4]),
            var1: p[3] * p[3],
            var2: p[4] * p[4],
        }
    }

    fn rotated(&self, x: f64, y: f64) -> (f64, f64) {
        let dx = x - self.x0;
        let dy = y - self.y0;
        (
            -dx * self.sin + dy * self.cos,
            dx * self.cos + dy * self.sin,
        )
    }

    fn value_and_gradient(&self, x: f64, y: f64, grad: &mut [f64; NPAR]) -> Option<f64> {
        let (a, b) = self.rotated(x, y);
        let (i1, i2) = (self.i1, self.i2);
        let q = a * a * i1 + b * b * i2;
        if q > Q_CUT {
            return None;
        }
        let e = (-0.5 * q).exp();
        let g = self.amp * e;
        grad[0] = e;
        grad[1] = g * (-a * self.sin * i1 + b * self.cos * i2);
        grad[2] = g * (a * self.cos * i1 + b * self.sin * i2);
        grad[3] = g * a * a * i1 / self.s1;
        grad[4] = g * b * b * i2 / self.s2;
        grad[5] = g * a * b * (i1 - i2);
        Some(g)
    }

    /// Value at (x, y), as [`gaussian_value`].
    pub fn value(&self, x: f64, y: f64) -> f64 {
        let (a, b) = self.rotated(x, y);
        let q = a * a / self.var1 + b * b / self.var2;
        if q > Q_CUT {
            0.0
        } else {
            self.amp * (-0.5 * q).exp()
        }
    }
}

/// One component's value and derivatives at (x, y). Returns `None` when the pixel
/// is beyond `Q_CUT`.
pub fn gaussian_and_gradient(p: &[f64], x: f64, y: f64, grad: &mut [f64; NPAR]) -> Option<f64> {
    Component::new(p).value_and_gradient(x, y, grad)
}

/// Value of one component at (x, y) (zero beyond the cut).
pub fn gaussian_value(p: &[f64], x: f64, y: f64) -> f64 {
    Component::new(p).value(x, y)
}

fn components(params: &[f64]) -> Vec<Component> {
    params.chunks_exact(NPAR).map(Component::new).collect()
}

/// The data to fit: pixel coordinates and values.
pub struct FitData<'a> {
    pub xs: &'a [f64],
    pub ys: &'a [f64],
    pub values: &'a [f64],
}

/// Result of one least-squares run.
#[derive(Debug, Clone)]
pub struct FitResult {
    pub params: Vec<f64>,
    /// Sum of squared residuals at `params`.
    pub cost: f64,
    pub iterations: usize,
    /// False when the iteration limit was reached before the cost settled.
    pub converged: bool,
}

/// Sum of squared residuals of the model `params` on `data`.
pub fn cost_of(data: &FitData, params: &[f64]) -> f64 {
    let comps = components(params);
    let mut cost = 0.0;
    for i in 0..data.values.len() {
        let mut m = 0.0;
        for c in &comps {
            m += c.value(data.xs[i], data.ys[i]);
        }
        let r = data.values[i] - m;
        cost += r * r;
    }
    cost
}

/// Which parameters of a component are free (false = held at its start value).
pub type FreeMask = [bool; NPAR];

/// Minimises the sum of squared residuals starting from `start`, keeping each
/// parameter within `[lower, upper]`. Parameters not free stay fixed.
pub fn fit(
    data: &FitData,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    free: &[FreeMask],
    max_iterations: usize,
) -> FitResult {
    let n = start.len();
    let ncomp = n / NPAR;
    let mut params: Vec<f64> = start
        .iter()
        .zip(lower.iter().zip(upper))
        .map(|(&p, (&lo, &hi))| p.clamp(lo, hi))
        .collect();
    let free_flat: Vec<bool> = free.iter().flat_map(|m| m.iter().copied()).collect();
    let mut cost = cost_of(data, &params);
    let mut lambda = 1e-3;
    let mut normal = vec![0.0; n * n];
    let mut rhs = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut grads = vec![[0.0; NPAR]; ncomp];
    let mut active = Vec::with_capacity(ncomp);
    let mut iterations = 0;
    let mut converged = false;
    let mut need_jacobian = true;
    while iterations < max_iterations {
        iterations += 1;
        if need_jacobian {
            normal.iter_mut().for_each(|v| *v = 0.0);
            rhs.iter_mut().for_each(|v| *v = 0.0);
            let comps = components(&params);
            for i in 0..data.values.len() {
                let (x, y) = (data.xs[i], data.ys[i]);
                active.clear();
                let mut m = 0.0;
                for (k, c) in comps.iter().enumerate() {
                    if let Some(g) = c.value_and_gradient(x, y, &mut grads[k]) {
                        m += g;
                        active.push(k);
                    }
                }
                let r = data.values[i] - m;
                // upper block triangle: `active` is in increasing order
                for (a, &ka) in active.iter().enumerate() {
                    for pa in 0..NPAR {
                        let ia = ka * NPAR + pa;
                        let ga = grads[ka][pa];
                        rhs[ia] += ga * r;
                        let row = &mut normal[ia * n..(ia + 1) * n];
                        for &kb in &active[a..] {
                            let gb = &grads[kb];
                            let block = &mut row[kb * NPAR..(kb + 1) * NPAR];
                            for (dst, &g) in block.iter_mut().zip(gb) {
                                *dst += ga * g;
                            }
                        }
                    }
                }
            }
            // mirror the upper block triangle and apply the fixed-parameter mask
            for i in 0..n {
                for j in 0..n {
                    if j / NPAR < i / NPAR {
                        normal[i * n + j] = normal[j * n + i];
                    }
                }
            }
            // active set: a parameter on a bound that the gradient pushes
            // outwards is held there for this step, so the others move freely
            for i in 0..n {
                let span = (upper[i] - lower[i]).abs().min(1.0) * 1e-12;
                let at_lower = params[i] <= lower[i] + span && rhs[i] < 0.0;
                let at_upper = params[i] >= upper[i] - span && rhs[i] > 0.0;
                if !free_flat[i] || at_lower || at_upper {
                    for j in 0..n {
                        normal[i * n + j] = 0.0;
                        normal[j * n + i] = 0.0;
                    }
                    normal[i * n + i] = 1.0;
                    rhs[i] = 0.0;
                }
            }
        }
        let step = match solve_damped(&normal, &rhs, lambda, n) {
            Some(s) => s,
            None => {
                lambda *= 10.0;
                if lambda > 1e12 {
                    converged = true;
                    break;
                }
                need_jacobian = false;
                continue;
            }
        };
        for i in 0..n {
            trial[i] = (params[i] + step[i]).clamp(lower[i], upper[i]);
        }
        let trial_cost = cost_of(data, &trial);
        if trial_cost.is_finite() && trial_cost <= cost {
            let relative = (cost - trial_cost) / cost.max(f64::MIN_POSITIVE);
            let moved = step
                .iter()
                .zip(&params)
                .map(|(s, p)| s.abs() / (p.abs() + 1e-6))
                .fold(0.0, f64::max);
            params.copy_from_slice(&trial);
            cost = trial_cost;
            lambda = (lambda / 10.0).max(1e-10);
            need_jacobian = true;
            if relative < 1e-6 || moved < 1e-6 {
                converged = true;
                break;
            }
        } else {
            lambda *= 10.0;
            need_jacobian = false;
            if lambda > 1e12 {
                // no downhill step exists at this precision: a minimum
                converged = true;
                break;
            }
        }
    }
    FitResult {
        params,
        cost,
        iterations,
        converged,
    }
}

/// Solves (N + lambda diag(N)) x = b by Cholesky; `None` if not positive definite.
fn solve_damped(normal: &[f64], rhs: &[f64], lambda: f64, n: usize) -> Option<Vec<f64>> {
    let mut a = normal.to_vec();
    for i in 0..n {
        let d = normal[i * n + i];
        a[i * n + i] = d + lambda * d.max(1e-12 * (1.0 + d.abs())) + 1e-300;
    }
    // Cholesky: a = L L^T, L stored in the lower triangle
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut x = rhs.to_vec();
    for i in 0..n {
        let mut s = x[i];
        for k in 0..i {
            s -= a[i * n + k] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= a[k * n + i] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    if x.iter().all(|v| v.is_finite()) {
        Some(x)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let p = [2.0, 10.3, 11.7, 3.1, 1.7, 0.6];
        for &(x, y) in &[(9.0, 12.0), (12.0, 10.0), (10.3, 14.0)] {
            let mut g = [0.0; NPAR];
            gaussian_and_gradient(&p, x, y, &mut g).expect("inside");
            for k in 0..NPAR {
                let h = 1e-6;
                let mut hi = p;
                let mut lo = p;
                hi[k] += h;
                lo[k] -= h;
                let fd = (gaussian_value(&hi, x, y) - gaussian_value(&lo, x, y)) / (2.0 * h);
                assert!(
                    (fd - g[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "param {k}: {fd} vs {}",
                    g[k]
                );
            }
        }
    }

    #[test]
    fn recovers_noise_free_gaussian() {
        let truth = [5.0, 15.2, 14.6, 3.0, 2.0, 0.4];
        let mut xs = vec![];
        let mut ys = vec![];
        let mut vs = vec![];
        for y in 0..30 {
            for x in 0..30 {
                xs.push(x as f64);
                ys.push(y as f64);
                vs.push(gaussian_value(&truth, x as f64, y as f64));
            }
        }
        let data = FitData {
            xs: &xs,
            ys: &ys,
            values: &vs,
        };
        let start = [4.0, 15.0, 15.0, 2.5, 2.5, 0.0];
        let lower = [0.0, 0.0, 0.0, 1.0, 1.0, -10.0];
        let upper = [100.0, 30.0, 30.0, 20.0, 20.0, 10.0];
        let r = fit(&data, &start, &lower, &upper, &[[true; NPAR]], 200);
        assert!(r.converged);
        for (fitted, want) in r.params.iter().zip(&truth).take(5) {
            assert!((fitted - want).abs() < 1e-6, "{:?}", r.params);
        }
        let dtheta = (r.params[5] - truth[5]).rem_euclid(std::f64::consts::PI);
        assert!(!(1e-6..=std::f64::consts::PI - 1e-6).contains(&dtheta));
    }
}
