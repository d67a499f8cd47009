#!/usr/bin/env python3
"""Generates the SE-size benchmark image for bench_component_list.py: a
6202x6202 tt0 image at 0.6" with the real CASA header of the casa-sim SE tt0
image (only NAXIS1/2 and CRPIX1/2 changed), beam-correlated Gaussian noise of
150 uJy/beam, and 400 injected sources (320 points, 80 elliptical Gaussians of
3"-12" intrinsic FWHM convolved with the beam; total fluxes log-uniform in
0.45-60 mJy, i.e. true S/N 3-400). The truth goes to <out>.truth.csv
(ra_deg, dec_deg, flux_jy, maj/min arcsec, pa_deg, snr = flux / noise).
Deterministic (numpy seed 6202).

Usage: python3 scripts/bench_component_list_gen.py --out FILE [--casa-sim DIR]
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pybdsf_common import casa_sim_dir, ensure_venv  # noqa: E402

ensure_venv()

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.wcs import WCS, FITSFixedWarning  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

warnings.simplefilter("ignore", FITSFixedWarning)
N = 6202
NOISE = 150e-6
FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--casa-sim")
    args = ap.parse_args()
    sim = casa_sim_dir(args.casa_sim)
    src = os.path.join(sim, "se", "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits")
    header = fits.getheader(src)
    header["NAXIS1"] = N
    header["NAXIS2"] = N
    header["CRPIX1"] = N // 2 + 1.0
    header["CRPIX2"] = N // 2 + 1.0
    for key in ("DATAMIN", "DATAMAX"):
        header.remove(key, ignore_missing=True)
    header.add_history("bench_component_list_gen.py: 6202x6202 noise + 400 injected Gaussians")
    scale = abs(header["CDELT2"]) * 3600.0
    bmaj, bmin, bpa = header["BMAJ"] * 3600.0, header["BMIN"] * 3600.0, header["BPA"]

    rng = np.random.default_rng(6202)
    print("noise ...", file=sys.stderr)
    image = rng.standard_normal((N, N), dtype=np.float32)
    # smoothing white noise with sigma_b / sqrt(2) gives beam-shaped correlation
    sigma_pix = np.sqrt(bmaj * bmin) / FWHM / scale / np.sqrt(2.0)
    image = gaussian_filter(image, sigma_pix)
    image *= np.float32(NOISE / image[::7, ::7].std())

    def cov(maj, mnr, pa):
        t = np.radians(pa)
        u = np.array([-np.sin(t), np.cos(t)])  # PA east of north -> pixel (x, y), east = -x
        v = np.array([np.cos(t), np.sin(t)])
        return ((maj / FWHM) ** 2 * np.outer(u, u) + (mnr / FWHM) ** 2 * np.outer(v, v)) / scale ** 2

    beam = cov(bmaj, bmin, bpa)
    wcs = WCS(header).celestial
    rows = []
    print("sources ...", file=sys.stderr)
    for k in range(400):
        resolved = k >= 320
        flux = float(np.exp(rng.uniform(np.log(0.45e-3), np.log(60e-3))))
        x, y = rng.uniform(40, N - 40, 2)
        if resolved:
            maj = rng.uniform(3.0, 12.0)
            mnr = maj * rng.uniform(0.5, 1.0)
            pa = rng.uniform(0, 180)
        else:
            maj = mnr = pa = 0.0
        c = beam + cov(maj, mnr, pa)
        inv = np.linalg.inv(c)
        peak = flux * np.sqrt(np.linalg.det(beam) / np.linalg.det(c))
        half = int(np.ceil(5 * np.sqrt(np.max(np.linalg.eigvalsh(c)))))
        x0, y0 = int(round(x)), int(round(y))
        ys, xs = np.mgrid[y0 - half:y0 + half + 1, x0 - half:x0 + half + 1]
        dx, dy = xs - x, ys - y
        q = inv[0, 0] * dx * dx + 2 * inv[0, 1] * dx * dy + inv[1, 1] * dy * dy
        image[y0 - half:y0 + half + 1, x0 - half:x0 + half + 1] += (peak * np.exp(-q / 2)).astype(np.float32)
        ra, dec = wcs.all_pix2world([[x, y]], 0)[0]
        rows.append([f"{ra:.7f}", f"{dec:.7f}", f"{flux:.7f}", f"{maj:.2f}", f"{mnr:.2f}", f"{pa:.1f}",
                     f"{flux / NOISE:.2f}", f"{x:.3f}", f"{y:.3f}"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fits.PrimaryHDU(image.reshape(1, 1, N, N), header=header).writeto(args.out, overwrite=True)
    with open(args.out.replace(".fits", ".truth.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ra_deg", "dec_deg", "flux_jy", "maj_arcsec", "min_arcsec", "pa_deg", "snr", "x", "y"])
        w.writerows(rows)
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
