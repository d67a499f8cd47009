#!/usr/bin/env python3
"""Independent reference values for annotate-qa, computed with numpy and astropy.

    python3 scripts/qa_golden.py testdata   # cut the small cube test files into testdata/qa/
    python3 scripts/qa_golden.py iqu        # make the per-spw IQU tile in testdata/qa-iqu/
    python3 scripts/qa_golden.py golden     # write testdata/qa/golden*.json

The first run creates scripts/.venv-fits-wcs/ (pinned astropy and numpy, shared with the
FITS/WCS golden scripts through fits_wcs_venv.py) and re-runs itself inside it.
Definitions (the README's): statistics over the finite pixels of each plane in float64;
population std (ddof=0); numpy's median (mean of the two middle values for an even count); robust noise = 1.4826 x median(|x - median|); peak = first maximum in
row-major order (numpy.nanargmax), sky position from astropy.wcs (0-based pixel). Planes
are numbered as annotate-qa numbers them: the non-celestial axes flattened with FITS axis
3 varying fastest.

Each plane's "stokes" label comes from astropy's WCS of the STOKES axis (null without one).

Inputs: testdata/images/*.fits[.gz], testdata/qa/*.fits and testdata/qa-iqu/*.fits
(committed; "file" is the path from the repository root), and, when the
shared CASA simulation is present beside the repository (../shared/casa-sim), its
ql/, se/ and cube/ images (testdata/qa/golden_casa_sim.json; the test using it is
skipped without ../shared; "file" is the path inside casa-sim/).
"""
import json
import os
import sys

from fits_wcs_venv import ensure_venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASA_SIM = os.path.join(os.path.dirname(ROOT), "shared", "casa-sim")
QA_DATA = os.path.join(ROOT, "testdata", "qa")
MAD_TO_SIGMA = 1.4826
ALPHA_SNR_MIN = 10.0
CUBE = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits"
SPW_FILES = [
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw2.I.iter3.image.pbcor.subim.fits",
    "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw6.I.iter3.image.pbcor.subim.fits",
]
# Central cut of the cube planes kept in testdata/qa (0-based, inclusive start, exclusive end).
CUT = (412, 612)
# The per-spw IQU tile of testdata/qa-iqu: central 48 x 48 pixels of every cube plane.
IQU_DIR = os.path.join(ROOT, "testdata", "qa-iqu")
IQU_CUT = (488, 536)
IQU_SPWS = list(range(8))
IQU_NAME = "VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.spw{}.IQU.iter3.image.pbcor.subim.fits"
# Q and U are seeded Gaussian noise at this fraction of the I plane's robust noise (thermal
# polarization noise lies below total intensity's, which carries the deconvolution residue)...
QU_NOISE_FRACTION = 0.5
# ... except Stokes Q of this spw, twice as noisy: a Q-only noise outlier.
NOISY_Q_SPW = 4
STOKES_LABELS = {1: "I", 2: "Q", 3: "U", 4: "V", -1: "RR", -2: "LL", -3: "RL", -4: "LR",
                 -5: "XX", -6: "YY", -7: "XY", -8: "YX"}


def planes_of(data):
    """(ny, nx) planes in annotate-qa's order (FITS axis 3 fastest)."""
    ny, nx = data.shape[-2:]
    return data.reshape(-1, ny, nx)


def plane_stats(plane, wcs):
    import numpy as np

    values = plane[np.isfinite(plane)].astype(np.float64)
    out = {"pixels": int(values.size), "total_pixels": int(plane.size),
           "finite_fraction": values.size / plane.size}
    if values.size == 0:
        return out
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    filled = np.where(np.isfinite(plane), plane.astype(np.float64), -np.inf)
    flat = int(np.argmax(filled))
    y, x = divmod(flat, plane.shape[1])
    ra, dec = wcs.celestial.wcs_pix2world([[x, y]], 0)[0]
    out.update({
        "min": float(values.min()), "max": float(values.max()),
        "mean": float(values.mean()), "std": float(values.std(ddof=0)),
        "median": median, "robust_noise": MAD_TO_SIGMA * mad,
        "peak": {"value": float(filled[y, x]), "x": x, "y": y,
                 "ra_deg": float(ra), "dec_deg": float(dec)},
    })
    return out


def stokes_labels(header, wcs, count):
    """The Stokes label of each plane (annotate-qa's order), from the STOKES axis's WCS."""
    import numpy as np

    naxis = header["NAXIS"]
    axis = next((n for n in range(1, naxis + 1)
                 if str(header.get(f"CTYPE{n}", "")).strip().upper() == "STOKES"), None)
    if axis is None:
        return [None] * count
    lengths = [header[f"NAXIS{n}"] for n in range(3, naxis + 1)]
    # Plane index -> pixel on each non-celestial axis, FITS axis 3 fastest.
    stride = int(np.prod(lengths[: axis - 3]))
    pixels = [(i // stride) % header[f"NAXIS{axis}"] for i in range(count)]
    sub = wcs.sub([axis])
    codes = sub.wcs_pix2world(np.array(pixels, dtype=float), 0)[0]
    return [STOKES_LABELS.get(int(round(c))) for c in codes]


def file_golden(path, base):
    from astropy.io import fits
    from astropy.wcs import WCS
    import warnings

    with fits.open(path, memmap=False) as hdul:
        header = hdul[0].header
        data = hdul[0].data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header)
        planes = [plane_stats(p, wcs) for p in planes_of(data)]
        for plane, label in zip(planes, stokes_labels(header, wcs, len(planes))):
            plane["stokes"] = label
    return {"file": os.path.relpath(path, base), "planes": planes}


def alpha_golden(alpha_path, tt0_path, tt0_noise):
    from astropy.io import fits
    import numpy as np

    alpha = planes_of(fits.getdata(alpha_path))[0].astype(np.float64)
    tt0 = planes_of(fits.getdata(tt0_path))[0].astype(np.float64)
    keep = np.isfinite(alpha) & np.isfinite(tt0) & (tt0 / tt0_noise > ALPHA_SNR_MIN)
    values = alpha[keep]
    median = float(np.median(values))
    return {"median": median,
            "spread": MAD_TO_SIGMA * float(np.median(np.abs(values - median))),
            "count": int(values.size)}


def fits_files(directory):
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.endswith(".fits") or n.endswith(".fits.gz"))


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}", file=sys.stderr)


def make_golden():
    import astropy
    import numpy

    meta = {"script": "scripts/qa_golden.py", "astropy": astropy.__version__,
            "numpy": numpy.__version__}
    files = (fits_files(os.path.join(ROOT, "testdata", "images")) + fits_files(QA_DATA)
             + fits_files(IQU_DIR))
    write_json(os.path.join(QA_DATA, "golden.json"),
               {**meta, "files": [file_golden(p, ROOT) for p in files]})
    if not os.path.isdir(CASA_SIM):
        print("../shared/casa-sim absent: golden_casa_sim.json not updated", file=sys.stderr)
        return
    sim = [p for d in ("ql", "se", "cube") for p in fits_files(os.path.join(CASA_SIM, d))]
    results = [file_golden(p, CASA_SIM) for p in sim]
    tt0 = next(i for i, p in enumerate(sim) if ".se." in p and p.endswith(".tt0.subim.fits"))
    alpha = next(i for i, p in enumerate(sim) if p.endswith(".alpha.subim.fits.gz"))
    noise = results[tt0]["planes"][0]["robust_noise"]
    results[alpha]["alpha"] = alpha_golden(sim[alpha], sim[tt0], noise)
    write_json(os.path.join(QA_DATA, "golden_casa_sim.json"), {**meta, "files": results})


def make_testdata():
    """Central 200 x 200 cut of the casa-sim cube (all 8 planes, BEAMS table kept) and of
    its spw2 / spw6 single-plane files, without the HISTORY cards."""
    from astropy.io import fits

    lo, hi = CUT
    os.makedirs(QA_DATA, exist_ok=True)
    for name in [CUBE, *SPW_FILES]:
        with fits.open(os.path.join(CASA_SIM, "cube", name), memmap=False) as hdul:
            header = hdul[0].header.copy()
            del header["HISTORY"]
            header["CRPIX1"] -= lo
            header["CRPIX2"] -= lo
            data = hdul[0].data[..., lo:hi, lo:hi].copy()
            out = fits.HDUList([fits.PrimaryHDU(data=data, header=header)])
            for extra in hdul[1:]:
                out.append(extra.copy())
            out.writeto(os.path.join(QA_DATA, name), overwrite=True, output_verify="exception")
        print(f"wrote testdata/qa/{name}", file=sys.stderr)


def make_iqu():
    """A coarse-cube tile as VLASS delivers it: one IQU file per spw (NAXIS3 = 1, NAXIS4 = 3),
    spws 0-7. Stokes I is the central 48 x 48 cut of the casa-sim cube plane with that spw's beam from the BEAMS table (spw 6: CASA's
    placeholder beam and 1.5x the noise); Q and U are seeded Gaussian noise, see
    QU_NOISE_FRACTION and NOISY_Q_SPW."""
    from astropy.io import fits
    import numpy as np

    lo, hi = IQU_CUT
    rng = np.random.default_rng(20261202)
    os.makedirs(IQU_DIR, exist_ok=True)
    template = fits.getheader(os.path.join(QA_DATA, SPW_FILES[0]))
    with fits.open(os.path.join(CASA_SIM, "cube", CUBE), memmap=False) as hdul:
        cube = hdul[0].data
        beams = hdul["BEAMS"].data
        for spw in IQU_SPWS:
            stokes_i = cube[0, spw, lo:hi, lo:hi].astype(np.float32)
            noise = MAD_TO_SIGMA * np.median(np.abs(stokes_i - np.median(stokes_i)))
            planes = [stokes_i]
            for stokes in "QU":
                sigma = QU_NOISE_FRACTION * noise * (2 if (spw, stokes) == (NOISY_Q_SPW, "Q") else 1)
                planes.append(rng.normal(0.0, sigma, stokes_i.shape).astype(np.float32))
            header = template.copy()
            # The template is the 200-px cut starting at CUT[0]; this one starts at IQU_CUT[0].
            header["CRPIX1"] -= lo - CUT[0]
            header["CRPIX2"] -= lo - CUT[0]
            frequency = 2.125e9 + 0.25e9 * spw
            header["CRVAL3"] = frequency
            header["RESTFRQ"] = frequency
            row = beams[beams["CHAN"] == spw][0]
            header["BMAJ"] = float(row["BMAJ"]) / 3600.0
            header["BMIN"] = float(row["BMIN"]) / 3600.0
            header["BPA"] = float(row["BPA"])
            data = np.stack(planes)[:, np.newaxis, :, :]
            hdu = fits.PrimaryHDU(data=data, header=header)
            name = IQU_NAME.format(spw)
            hdu.writeto(os.path.join(IQU_DIR, name), overwrite=True, output_verify="exception")
            print(f"wrote testdata/qa-iqu/{name}", file=sys.stderr)


def main():
    ensure_venv()
    what = sys.argv[1] if len(sys.argv) > 1 else "golden"
    if what == "testdata":
        make_testdata()
    elif what == "iqu":
        make_iqu()
    elif what == "golden":
        make_golden()
    else:
        sys.exit(f"usage: {sys.argv[0]} testdata|iqu|golden")


if __name__ == "__main__":
    main()
