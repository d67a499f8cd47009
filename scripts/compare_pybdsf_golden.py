#!/usr/bin/env python3
"""Independent golden catalogues for component-list's tests: PyBDSF 1.14.1
run on the committed QL and SE cut-outs of testdata/images/ with the same
thresholds component-list uses by default (thresh_isl 3, thresh_pix 5,
thresh='hard'; everything else PyBDSF's defaults). Writes
testdata/component-list/pybdsf/<image stem>.pybdsf.{srl,gaul}.csv, which
tools/component-list/tests/golden.rs compares with (counts, positions,
fluxes within tolerances).

Usage: python3 scripts/compare_pybdsf_golden.py
(creates scripts/.venv-compare-pybdsf with bdsf 1.14.1 and astropy on first use;
needs only the repository).
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pybdsf_common import REPO, ensure_venv, run_pybdsf  # noqa: E402

ensure_venv()

IMAGES = [
    "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits",
    "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits",
]


def main():
    out = os.path.join(REPO, "testdata", "component-list", "pybdsf")
    os.makedirs(out, exist_ok=True)
    for name in IMAGES:
        with tempfile.TemporaryDirectory() as work:
            # run on a copy so PyBDSF's log file lands in the temporary directory
            image = os.path.join(work, name)
            shutil.copyfile(os.path.join(REPO, "testdata", "images", name), image)
            _, _, srl, gaul, _ = run_pybdsf(image, work)
            for path in (srl, gaul):
                shutil.copyfile(path, os.path.join(out, os.path.basename(path)))
                print("wrote", os.path.join(out, os.path.basename(path)))


if __name__ == "__main__":
    main()
