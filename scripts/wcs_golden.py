#!/usr/bin/env python3
"""Golden data for the vlass-wcs tests: astropy.wcs pixel <-> world samples.

For the primary header of every header dump in ../shared/casa-sim/headers/
(next to the repository) and for hand-made headers covering the other cases
the crate claims (TAN, rotated PC, negative CDELT, CD matrix, CROTA2, SIN with
non-zero PV2_1/PV2_2, NCP, LONPOLE, LATPOLE, axes in unusual order, a field at the
pole, one straddling RA 0/360, a full-size VLASS QL tile), writes to
testdata/wcs/:

  <name>.header.txt      the header used (one card per line; HISTORY and
                         COMMENT cards dropped, they carry no WCS)
  <name>.pix2world.csv   x,y,ra,dec: 0-based pixel on the (longitude,
                         latitude) axes -> astropy's world (deg)
  <name>.world2pix.csv   ra,dec,x,y: sky positions -> astropy's pixel

Pixel samples are an 11 x 11 grid over the image including the corners, plus
points far outside it (up to two image widths away) where astropy gives a
valid answer. Sky samples are seeded-random positions over three times the
image area. Usage: python3 scripts/wcs_golden.py [--casa-sim DIR]
(creates scripts/.venv-fits-wcs/ with astropy on first use)
"""
import csv
import glob
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fits_wcs_venv import casa_sim_dir, ensure_venv  # noqa: E402

ensure_venv()

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.wcs import WCS, FITSFixedWarning  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "testdata", "wcs")


def card_header(cards):
    return fits.Header([fits.Card(k, v) for k, v in cards])


def base(ctype_code="SIN", ra=150.0, dec=30.0, n=1024, cdelt=1.0 / 3600, extra=()):
    """A CASA-like 4-axis header, with `extra` cards added or replacing."""
    cards = [
        ("NAXIS", 4), ("NAXIS1", n), ("NAXIS2", n), ("NAXIS3", 1), ("NAXIS4", 1),
        ("CTYPE1", f"RA---{ctype_code}"), ("CRVAL1", ra), ("CDELT1", -cdelt),
        ("CRPIX1", n / 2 + 1), ("CUNIT1", "deg"),
        ("CTYPE2", f"DEC--{ctype_code}"), ("CRVAL2", dec), ("CDELT2", cdelt),
        ("CRPIX2", n / 2 + 1), ("CUNIT2", "deg"),
        ("CTYPE3", "FREQ"), ("CRVAL3", 3.0e9), ("CDELT3", 2.0e9), ("CRPIX3", 1.0),
        ("CUNIT3", "Hz"),
        ("CTYPE4", "STOKES"), ("CRVAL4", 1.0), ("CDELT4", 1.0), ("CRPIX4", 1.0),
        ("RADESYS", "ICRS"), ("EQUINOX", 2000.0),
    ]
    header = card_header(cards)
    for key, value in extra:
        header[key] = value
    return header


def rotation_pc(angle_deg):
    a = np.radians(angle_deg)
    return [("PC1_1", np.cos(a)), ("PC1_2", -np.sin(a)), ("PC2_1", np.sin(a)), ("PC2_2", np.cos(a))]


def hand_made():
    """(name, header) of the hand-made cases."""
    cd = 1.0 / 3600
    a = np.radians(25.0)
    yield "tan", base("TAN")
    yield "sin-rotated-pc", base("SIN", extra=rotation_pc(37.0))
    yield "tan-negative-cdelt", base("TAN", extra=[("CDELT1", cd), ("CDELT2", -cd)])
    yield "tan-cd-matrix", card_header([
        ("NAXIS", 2), ("NAXIS1", 800), ("NAXIS2", 600),
        ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"),
        ("CRVAL1", 210.5), ("CRVAL2", -12.25), ("CRPIX1", 400.5), ("CRPIX2", 290.0),
        ("CD1_1", -cd * np.cos(a)), ("CD1_2", cd * 1.1 * np.sin(a)),
        ("CD2_1", cd * np.sin(a)), ("CD2_2", cd * 1.1 * np.cos(a)),
    ])
    yield "tan-crota2", base("TAN", extra=[("CROTA2", 15.0)])
    yield "sin-slant-pv", base("SIN", dec=-20.0, extra=[("PV2_1", 0.05), ("PV2_2", -0.03)])
    yield "ncp-dec45", base("NCP", dec=45.0, cdelt=2.0 / 3600)
    yield "ncp-dec-60", base("NCP", dec=-60.0, cdelt=2.0 / 3600)
    yield "sin-lonpole-170", base("SIN", extra=[("LONPOLE", 170.0)])
    # LATPOLE has no effect when the fiducial point is the native pole.
    yield "sin-lonpole-190-latpole", base("SIN", dec=-35.0, extra=[("LONPOLE", 190.0), ("LATPOLE", -20.0)])
    yield "sin-near-pole", base("SIN", ra=45.0, dec=89.9, cdelt=1.0 / 3600, n=2048)
    yield "tan-at-pole", base("TAN", ra=0.0, dec=90.0, cdelt=2.0 / 3600)
    yield "sin-south-pole-region", base("SIN", ra=300.0, dec=-89.5, n=2048, cdelt=1.0 / 3600)
    yield "sin-ra-zero", base("SIN", ra=0.05, dec=2.0, n=1024)
    yield "tan-ra-zero", base("TAN", ra=359.95, dec=-5.0, n=1024)
    yield "sin-vlass-ql-full-tile", base("SIN", ra=128.0083, dec=-12.5, n=3722)
    yield "sin-lat-axis-first", card_header([
        ("NAXIS", 4), ("NAXIS1", 1), ("NAXIS2", 600), ("NAXIS3", 1), ("NAXIS4", 500),
        ("CTYPE1", "FREQ"), ("CRVAL1", 3.0e9), ("CDELT1", 1.0e8), ("CRPIX1", 1.0),
        ("CTYPE2", "DEC--SIN"), ("CRVAL2", 30.0), ("CDELT2", 0.6 / 3600), ("CRPIX2", 300.0),
        ("CTYPE3", "STOKES"), ("CRVAL3", 1.0), ("CDELT3", 1.0), ("CRPIX3", 1.0),
        ("CTYPE4", "RA---SIN"), ("CRVAL4", 150.0), ("CDELT4", -0.6 / 3600), ("CRPIX4", 251.0),
    ])


def casa_sim_headers(casa_sim):
    """(name, header) of the primary HDU of every casa-sim header dump."""
    for path in sorted(glob.glob(os.path.join(casa_sim, "headers", "*.header.txt"))):
        with open(path) as f:
            text = f.read()
        primary = text.split("# HDU 1")[0]
        lines = [line for line in primary.splitlines() if not line.startswith("# HDU")]
        header = fits.Header.fromstring("\n".join(lines), sep="\n")
        name = os.path.basename(path)[: -len(".header.txt")]
        yield name, header


def celestial_axes(header):
    """0-based positions of the longitude and latitude axes, and NAXIS."""
    naxis = header["NAXIS"]
    lon = lat = None
    for i in range(naxis):
        ctype = str(header.get(f"CTYPE{i + 1}", "")).upper()
        if ctype.startswith("RA"):
            lon = i
        elif ctype.startswith("DEC"):
            lat = i
    return lon, lat, naxis


def samples(header):
    """(pix2world rows, world2pix rows) from astropy for a header."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header)
    lon, lat, naxis = celestial_axes(header)
    nx, ny = header[f"NAXIS{lon + 1}"], header[f"NAXIS{lat + 1}"]

    def pix2world(xs, ys):
        pixels = np.zeros((len(xs), naxis))
        pixels[:, lon] = xs
        pixels[:, lat] = ys
        world = wcs.all_pix2world(pixels, 0)
        return world[:, lon], world[:, lat]

    def world2pix(ras, decs):
        world = np.tile(wcs.wcs.crval, (len(ras), 1))
        world[:, lon] = ras
        world[:, lat] = decs
        pixels = wcs.all_world2pix(world, 0)
        return pixels[:, lon], pixels[:, lat]

    grid_x = np.linspace(0, nx - 1, 11)
    grid_y = np.linspace(0, ny - 1, 11)
    xs, ys = [a.ravel() for a in np.meshgrid(grid_x, grid_y)]
    far = np.array([-2.0, -1.0, -0.5, 1.5, 2.0, 3.0])
    far_x = np.concatenate([far * nx, np.full(far.size, nx / 2), far * nx])
    far_y = np.concatenate([np.full(far.size, ny / 2), far * ny, far[::-1] * ny])
    xs = np.concatenate([xs, far_x, [nx / 2 + 0.25]])
    ys = np.concatenate([ys, far_y, [ny / 2 - 0.75]])
    ras, decs = pix2world(xs, ys)
    keep = np.isfinite(ras) & np.isfinite(decs)
    forward = list(zip(xs[keep], ys[keep], ras[keep], decs[keep]))

    # Sky positions: seeded-random pixels over 3x the image in each direction,
    # turned into sky positions, then perturbed so they are not grid points.
    rng = np.random.default_rng(20260601)
    rx = rng.uniform(-nx, 2 * nx, 60)
    ry = rng.uniform(-ny, 2 * ny, 60)
    sky_ra, sky_dec = pix2world(rx, ry)
    ok = np.isfinite(sky_ra) & np.isfinite(sky_dec)
    sky_ra = np.mod(sky_ra[ok] + rng.normal(0, 1e-4, ok.sum()), 360.0)
    sky_dec = np.clip(sky_dec[ok] + rng.normal(0, 1e-4, ok.sum()), -90.0, 90.0)
    px, py = world2pix(sky_ra, sky_dec)
    back_ra, back_dec = pix2world(px, py)
    # Keep only positions astropy itself maps back (visible side of the projection).
    sep = np.hypot((back_ra - sky_ra + 180) % 360 - 180, back_dec - sky_dec)
    good = np.isfinite(px) & np.isfinite(py) & (sep < 1e-9)
    backward = list(zip(sky_ra[good], sky_dec[good], px[good], py[good]))
    return forward, backward


def write(name, header, forward, backward):
    with open(os.path.join(OUT, name + ".header.txt"), "w") as f:
        for card in header.cards:
            if card.keyword in ("HISTORY", "COMMENT", ""):
                continue
            f.write(card.image + "\n")
    for suffix, columns, rows in (
        ("pix2world", ("x", "y", "ra", "dec"), forward),
        ("world2pix", ("ra", "dec", "x", "y"), backward),
    ):
        with open(os.path.join(OUT, f"{name}.{suffix}.csv"), "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([repr(float(v)) for v in row])


def main():
    casa_sim = casa_sim_dir(__doc__.splitlines()[0])
    os.makedirs(OUT, exist_ok=True)
    cases = list(casa_sim_headers(casa_sim)) + list(hand_made())
    if not any(True for _ in casa_sim_headers(casa_sim)):
        sys.exit(f"no header dumps under {casa_sim}/headers")
    import astropy

    for name, header in cases:
        forward, backward = samples(header)
        write(name, header, forward, backward)
        print(f"{name}: {len(forward)} pixel and {len(backward)} sky samples")
    print(f"astropy {astropy.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
