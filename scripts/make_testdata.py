#!/usr/bin/env python3
"""Cuts the small test images in testdata/images/ out of the simulated CASA
products in ../shared/casa-sim/ (next to the repository), with astropy.

Every cutout keeps the VLASS file name and the full CASA primary header card
for card (only the values of NAXIS1/NAXIS2 and CRPIX1/CRPIX2 change, the new
reference pixel checked against astropy's Cutout2D; two HISTORY cards naming
the cut are added before END) and, for the multi-plane cube, the BEAMS binary
table HDU byte for byte. Pixel values are copied bit for bit; gzip files are
written again as gzip (level 9, mtime 0, so reruns give identical bytes).
A `<name>.header.txt` dump of every HDU header is written beside each file.

Usage: python3 scripts/make_testdata.py [--casa-sim DIR]
(creates scripts/.venv-fits-wcs/ with astropy on first use)
"""
import csv
import gzip
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fits_wcs_venv import casa_sim_dir, ensure_venv  # noqa: E402
from dump_headers import dump as header_dump  # noqa: E402

ensure_venv()

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.nddata import Cutout2D  # noqa: E402
from astropy.wcs import WCS, FITSFixedWarning  # noqa: E402

# astropy's notes about OBSGEO/MJD-OBS fixes concern no keyword used here.
warnings.simplefilter("ignore", FITSFixedWarning)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "testdata", "images")
STEM = "VLASS3.1.{kind}.T13t15.J100000+300000.{cell}.{bw}.v1."

# Cut boxes as 0-based, end-exclusive pixel ranges (x = RA axis, y = Dec axis).
# The continuum box (0.6" SE pixels) holds truth sources 28 (46 mJy), 29
# (27 mJy), 11 (1.0 mJy) and 6 (0.8 mJy); the QL box covers the same sky at
# 1" pixels. The cube box holds sources 28 and 11.
SE_BOX = (440, 760, 1260, 1580)
QL_BOX = (161, 353, 653, 845)
CUBE_BOX = (65, 193, 749, 877)

SE = STEM.format(kind="se", cell="06", bw="2048")
QL = STEM.format(kind="ql", cell="10", bw="2048")
CC = STEM.format(kind="cc", cell="06", bw="1024")
FILES = [
    ("ql", QL + "I.iter1.image.pbcor.tt0.subim.fits", QL_BOX),
    ("ql", QL + "I.iter1.image.pbcor.tt0.rms.subim.fits.gz", QL_BOX),
    ("se", SE + "I.iter3.image.pbcor.tt0.subim.fits", SE_BOX),
    ("se", SE + "I.iter3.image.pbcor.tt1.subim.fits", SE_BOX),
    ("se", SE + "I.iter3.image.pbcor.tt0.rms.subim.fits.gz", SE_BOX),
    ("se", SE + "I.iter3.image.pbcor.alpha.subim.fits.gz", SE_BOX),
    ("se", SE + "I.iter3.image.pbcor.alpha.error.subim.fits.gz", SE_BOX),
    ("se", SE + "I.iter3.pb.tt0.subim.fits.gz", SE_BOX),
    ("cube", CC + "I.iter3.image.pbcor.subim.fits", CUBE_BOX),
    ("cube", CC + "spw6.I.iter3.image.pbcor.subim.fits", CUBE_BOX),
]


CARD = 80
BLOCK = 2880


def read_bytes(path):
    """The file's bytes, decompressed if it is gzip."""
    with open(path, "rb") as f:
        raw = f.read()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def split_cards(raw):
    """Primary header cards (80-byte strings, END excluded) and header length."""
    cards = []
    for offset in range(0, len(raw), CARD):
        card = raw[offset:offset + CARD].decode("ascii")
        if card.rstrip() == "END":
            header_len = (offset // BLOCK + 1) * BLOCK
            return cards, header_len
        cards.append(card)
    raise ValueError("no END card")


def set_value(cards, key, text):
    """Replaces the value of `key` keeping CASA's layout (value right-aligned in
    columns 11-30, comment kept)."""
    for i, card in enumerate(cards):
        if card[:8].rstrip() == key and card[8:10] == "= ":
            rest = card[30:]
            cards[i] = (f"{key:<8}= {text:>20}" + rest)[:CARD].ljust(CARD)
            return
    raise KeyError(key)


def cut_cards(cards, box):
    """The original header cards with the cut applied to NAXISn/CRPIXn and two
    HISTORY cards recording it; every other card is kept byte for byte."""
    x0, x1, y0, y1 = box
    header = fits.Header.fromstring("".join(cards))
    out = list(cards)
    set_value(out, "NAXIS1", f"{x1 - x0:d}")
    set_value(out, "NAXIS2", f"{y1 - y0:d}")
    set_value(out, "CRPIX1", f"{header['CRPIX1'] - x0:.12E}")
    set_value(out, "CRPIX2", f"{header['CRPIX2'] - y0:.12E}")
    for text in (
        f"testdata cutout x {x0}:{x1}, y {y0}:{y1} (0-based, end exclusive) made",
        "by scripts/make_testdata.py from the casa-sim file of the same name",
    ):
        out.append(f"HISTORY {text}".ljust(CARD))
    # astropy's Cutout2D of the same box must agree with the shifted reference pixel.
    new = fits.Header.fromstring("".join(out))
    cutout = Cutout2D(
        np.zeros((header["NAXIS2"], header["NAXIS1"]), dtype=np.uint8),
        position=((x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2),
        size=(y1 - y0, x1 - x0),
        wcs=WCS(header, naxis=2),
        mode="strict",
    )
    assert cutout.bbox_original == ((y0, y1 - 1), (x0, x1 - 1)), cutout.bbox_original
    crpix = cutout.wcs.wcs.crpix
    assert np.allclose(crpix, [new["CRPIX1"], new["CRPIX2"]], rtol=0, atol=1e-9), crpix
    return out


def padded(data, fill):
    return data + fill * (-len(data) % BLOCK)


def dump_headers(path):
    """Writes <file>.header.txt: every HDU header (scripts/dump_headers.py, whose dumps are
    byte-identical to astropy's `repr(hdu.header)` layout that this script used to write)."""
    with open(path + ".header.txt", "w") as out:
        out.write(header_dump(Path(path)))


def make(casa_sim, subdir, name, box):
    source = os.path.join(casa_sim, subdir, name)
    x0, x1, y0, y1 = box
    raw = read_bytes(source)
    cards, header_len = split_cards(raw)
    header = fits.Header.fromstring("".join(cards))
    shape = tuple(header[f"NAXIS{n}"] for n in range(header["NAXIS"], 0, -1))
    dtype = {-32: ">f4", -64: ">f8", 16: ">i2", 32: ">i4"}[header["BITPIX"]]
    data_len = int(np.prod(shape)) * np.dtype(dtype).itemsize
    data = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=header_len)
    cut = np.ascontiguousarray(data.reshape(shape)[..., y0:y1, x0:x1])
    new_header = "".join(cut_cards(cards, box)) + "END".ljust(CARD)
    # Extensions (the cube's BEAMS table) follow the padded primary data verbatim.
    extensions = raw[header_len + len(padded(b"\0" * data_len, b"\0")):]
    out = padded(new_header.encode("ascii"), b" ") + padded(cut.tobytes(), b"\0") + extensions
    target = os.path.join(OUT, name)
    if name.endswith(".gz"):
        out = gzip.compress(out, compresslevel=9, mtime=0)
    with open(target, "wb") as f:
        f.write(out)
    # The written file must read back as the same pixels and WCS in astropy.
    with fits.open(target) as hdul:
        assert np.array_equal(hdul[0].data, cut, equal_nan=True)
        assert len(hdul) == 1 + (len(extensions) > 0)
    dump_headers(target)
    print(f"{name}: {cut.shape} -> {os.path.getsize(target)} bytes")


def write_truth(casa_sim):
    """Copies truth.csv and lists, per cutout, the truth sources that fall
    inside it with their 0-based pixel position (astropy all_world2pix)."""
    source = os.path.join(casa_sim, "truth.csv")
    shutil.copyfile(source, os.path.join(OUT, "truth.csv"))
    with open(source) as f:
        truth = list(csv.DictReader(f))
    rows = []
    for _, name, _ in FILES:
        path = os.path.join(OUT, name)
        header = fits.getheader(path)
        wcs = WCS(header, naxis=2)
        for t in truth:
            x, y = wcs.all_world2pix(float(t["ra_deg"]), float(t["dec_deg"]), 0)
            if -0.5 <= x < header["NAXIS1"] - 0.5 and -0.5 <= y < header["NAXIS2"] - 0.5:
                rows.append((name, t["id"], f"{float(x):.3f}", f"{float(y):.3f}"))
    with open(os.path.join(OUT, "truth_pixels.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "id", "x", "y"])
        writer.writerows(rows)


def plane_beams(hdul):
    """{(chan, pol): (bmaj_arcsec, bmin_arcsec, bpa_deg)} from a BEAMS table,
    converted by the units the table declares."""
    table = hdul["BEAMS"]
    to_arcsec = {"arcsec": 1.0, "arcmin": 60.0, "deg": 3600.0}
    columns = {c.name: c for c in table.columns}
    bmaj = table.data["BMAJ"] * to_arcsec[columns["BMAJ"].unit]
    bmin = table.data["BMIN"] * to_arcsec[columns["BMIN"].unit]
    assert columns["BPA"].unit == "deg"
    return {
        (int(c), int(p)): (float(a), float(b), float(pa))
        for a, b, pa, c, p in zip(bmaj, bmin, table.data["BPA"], table.data["CHAN"], table.data["POL"])
    }


def write_expected():
    """astropy's view of every cut-out (axes, per-plane frequency, Stokes,
    beam, finite-pixel count and sum, a few pixel values) for the Rust tests."""
    expected = {}
    for _, name, _ in FILES:
        with fits.open(os.path.join(OUT, name)) as hdul:
            header = hdul[0].header
            data = hdul[0].data  # (stokes, freq, y, x)
            wcs = WCS(header)
            beams = plane_beams(hdul) if header.get("CASAMBM") else None
            n_stokes, n_freq, ny, nx = data.shape
            planes = []
            for s in range(n_stokes):
                for f in range(n_freq):
                    plane = data[s, f].astype(np.float64)
                    world = wcs.all_pix2world([[0, 0, f, s]], 0)[0]
                    if beams is None:
                        beam = [header["BMAJ"] * 3600, header["BMIN"] * 3600, header["BPA"]] if "BMAJ" in header else None
                    else:
                        beam = list(beams[(f, s)])
                    finite = np.isfinite(plane)
                    samples = [
                        [x, y, None if not np.isfinite(plane[y, x]) else float(plane[y, x])]
                        for x, y in ((0, 0), (nx - 1, 0), (0, ny - 1), (nx // 2, ny // 3), (nx - 1, ny - 1))
                    ]
                    peak = np.unravel_index(np.nanargmax(plane), plane.shape) if finite.any() else None
                    planes.append({
                        "frequency_hz": float(world[2]),
                        "stokes": int(round(world[3])),
                        "beam": beam,
                        "finite": int(finite.sum()),
                        "sum": float(plane[finite].sum()),
                        "peak_xy": None if peak is None else [int(peak[1]), int(peak[0])],
                        "samples": samples,
                    })
            bunit = str(header.get("BUNIT", "")).strip()
            expected[name] = {
                "naxis": list(reversed(data.shape)),
                "bunit": bunit or None,
                "planes": planes,
            }
    with open(os.path.join(OUT, "astropy_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    casa_sim = casa_sim_dir(__doc__.splitlines()[0])
    os.makedirs(OUT, exist_ok=True)
    for subdir, name, box in FILES:
        make(casa_sim, subdir, name, box)
    write_truth(casa_sim)
    write_expected()


if __name__ == "__main__":
    main()
