"""Independent reference values for vlass-qa's header writer and previews.

Run through scripts/golden-qa-writers.sh, which sets up the venv.

  inputs DIR  astropy writes DIR/input.fits (a small CASA-like image with a
              BEAMS table, an existing VLASSPK and a duplicated VLASSPL) and
              DIR/cards.json (the cards the Rust test writes into it); numpy
              writes the zscale test arrays and astropy's ZScaleInterval limits
              of each to DIR/zscale/.
  check DIR   astropy opens DIR/annotated.fits (written by our writer),
              verifies it against the FITS standard, and records in
              DIR/annotated.astropy.json what it reads: each card's value,
              type, comment and count, and whether every HDU's data equal the
              input's, byte for byte.
"""

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval

# key, type, value, comment: what the Rust test writes. Chosen to exercise the
# card format: long comments (cut at column 80), a real that needs free
# format, the smallest subnormal, quotes inside a string, a 68-character
# string, the most negative integer, and a logical.
CARDS = [
    ("VLASSRMS", "real", 1.4321e-4, "Median rms calculated from RMS_TT0 (Stokes I) image"),
    ("VLASSPK", "real", 0.0123456789012345, "Peak flux density of INTENSITY_PBCOR_TT0 (Stokes I) image"),
    ("VLASSBWN", "int", 2000000000, "Nominal bandwidth"),
    ("VLASSPL", "str", "I", "Stokes plane"),
    ("VLASSTN", "str", "T07t14", "Tile name"),
    ("VLASSEP", "str", "VLASS2.1", "Epoch"),
    ("VLASSQAR", "str", "beam axial ratio 3.2 > 3 ('warn')", "QA reason"),
    ("VLASSQA", "bool", False, "QA passed"),
    ("QAFREE", "real", 1.2345678901234567e-4, "needs more than 20 characters"),
    ("QATINY", "real", 5e-324, "smallest subnormal"),
    ("QANEG", "real", -2.5e20, ""),
    ("QAINT", "int", -9223372036854775808, "i64 minimum"),
    ("QALONG", "str", "x" * 60 + "'quoted", "no room for this comment"),
]


def data_sha256_after_primary_header(path):
    with fits.open(path) as hdul:
        offset = hdul.fileinfo(0)["datLoc"]
    return hashlib.sha256(Path(path).read_bytes()[offset:]).hexdigest()


def write_inputs(out):
    rng = np.random.default_rng(20261201)
    data = rng.normal(0.0, 1.4e-4, size=(30, 20)).astype(np.float32)
    data[3:6, 4:9] = np.nan
    header = fits.Header()
    # CASA exportfits layout: RA, Dec, FREQ, STOKES.
    for axis, (ctype, crval, cdelt, crpix, cunit) in enumerate(
        [
            ("RA---SIN", 130.5, -2.7777778e-4, 11.0, "deg"),
            ("DEC--SIN", -12.5, 2.7777778e-4, 16.0, "deg"),
            ("FREQ", 3.0e9, 2.0e9, 1.0, "Hz"),
            ("STOKES", 1.0, 1.0, 1.0, ""),
        ],
        start=1,
    ):
        header[f"CTYPE{axis}"] = ctype
        header[f"CRVAL{axis}"] = crval
        header[f"CDELT{axis}"] = cdelt
        header[f"CRPIX{axis}"] = crpix
        header[f"CUNIT{axis}"] = cunit
    header["BUNIT"] = ("Jy/beam", "Brightness (pixel) unit")
    header["BMAJ"] = (8.9e-4, "")
    header["BMIN"] = (7.6e-4, "")
    header["BPA"] = (-12.5, "")
    header["VLASSPK"] = (1.0, "old peak")
    header.append(("VLASSPL", "Q", "first copy"))
    header.append(("VLASSPL", "U", "duplicate"))
    primary = fits.PrimaryHDU(data=data.reshape(1, 1, 30, 20), header=header)
    # Fill the first header block exactly (35 cards + END, counting the EXTEND
    # card astropy adds when writing), so the new cards must grow the header.
    while len(primary.header) < 34:
        primary.header.append(("FILNAM%02d" % len(primary.header), "part", ""))
    beams = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="BMAJ", format="1E", unit="arcsec", array=np.array([3.2, 3.1], np.float32)),
            fits.Column(name="BMIN", format="1E", unit="arcsec", array=np.array([2.8, 2.7], np.float32)),
            fits.Column(name="BPA", format="1E", unit="deg", array=np.array([-12.5, 10.0], np.float32)),
            fits.Column(name="CHAN", format="1J", array=np.array([0, 1], np.int32)),
            fits.Column(name="POL", format="1J", array=np.array([0, 0], np.int32)),
        ],
        name="BEAMS",
    )
    fits.HDUList([primary, beams]).writeto(out / "input.fits", overwrite=True)
    with fits.open(out / "input.fits") as written:
        assert len(written[0].header) == 35 and written.fileinfo(0)["datLoc"] == 2880
    cards = [
        {"key": k, "type": t, "value": repr(v) if t == "real" else v, "comment": c}
        for k, t, v, c in CARDS
    ]
    (out / "cards.json").write_text(json.dumps(cards, indent=1) + "\n")
    write_zscale_cases(out / "zscale", rng)


def write_zscale_cases(out, rng):
    out.mkdir(exist_ok=True)
    cases = {}
    noise = rng.normal(2e-5, 1.4e-4, size=(150, 200))
    for _ in range(20):
        y, x = rng.integers(2, 148), rng.integers(2, 198)
        noise[y - 1 : y + 2, x - 1 : x + 2] += rng.uniform(1e-3, 1e-1)
    noise[100:130, 0:60] = np.nan
    cases["noise_sources_nan"] = noise
    cases["small_ramp"] = np.linspace(-1.0, 3.0, 23 * 37).reshape(23, 37) + rng.normal(0, 0.05, (23, 37))
    cases["heavy_tail"] = rng.standard_t(2, size=(100, 100))
    bimodal = np.where(rng.random((60, 70)) < 0.5, 0.0, 1.0) + rng.normal(0, 1e-3, (60, 70))
    cases["bimodal"] = bimodal
    cases["large_stride"] = rng.normal(5.0, 2.0, size=(300, 350)) + np.linspace(0, 3, 350)
    cases["constant"] = np.full((10, 10), 7.0)
    results = []
    for name, array in cases.items():
        array = array.astype(np.float32)
        (out / f"{name}.f32").write_bytes(array.astype("<f4").tobytes())
        vmin, vmax = ZScaleInterval().get_limits(array)
        ny, nx = array.shape
        results.append({"name": name, "ny": ny, "nx": nx, "vmin": repr(float(vmin)), "vmax": repr(float(vmax))})
    (out / "limits.json").write_text(json.dumps(results, indent=1) + "\n")


def check_annotated(out):
    path = out / "annotated.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path) as after, fits.open(out / "input.fits") as before:
            after.verify("exception")
            header = after[0].header
            cards = []
            for key, kind, _, _ in CARDS:
                value = header[key]
                cards.append(
                    {
                        "key": key,
                        "type": type(value).__name__,
                        "value": repr(value) if isinstance(value, float) else value,
                        "comment": header.comments[key],
                        "count": sum(1 for k in header.keys() if k == key),
                    }
                )
            hdus_equal = len(after) == len(before) and all(
                a.data.tobytes() == b.data.tobytes() for a, b in zip(after, before)
            )
            header_blocks = after.fileinfo(0)["datLoc"] // 2880
            input_blocks = before.fileinfo(0)["datLoc"] // 2880
    result = {
        "verify": "ok",
        "cards": cards,
        "hdus_equal": hdus_equal,
        "header_blocks": header_blocks,
        "input_header_blocks": input_blocks,
        "data_sha256": data_sha256_after_primary_header(path),
        "input_data_sha256": data_sha256_after_primary_header(out / "input.fits"),
    }
    (out / "annotated.astropy.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    mode, directory = sys.argv[1], Path(sys.argv[2])
    if mode == "inputs":
        write_inputs(directory)
    elif mode == "check":
        check_annotated(directory)
    else:
        sys.exit(f"unknown mode {mode!r}")
