"""Bootstrap of the Python environment used by the FITS/WCS scripts
(make_testdata.py, wcs_golden.py): creates scripts/.venv-fits-wcs/ with
pinned astropy and numpy on first use and re-runs the calling script with it.
"""
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-fits-wcs")
REQUIREMENTS = ["astropy==8.0.2", "numpy==2.4.6"]


def ensure_venv():
    """Re-executes the running script inside the venv (creating it if needed)."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        print(f"creating {VENV} with {' '.join(REQUIREMENTS)}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS])
    os.execv(python, [python, *sys.argv])
