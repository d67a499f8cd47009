"""What the astropy golden-data scripts (make_testdata.py, wcs_golden.py,
qa_golden.py) share: the bootstrap of their Python environment (scripts/.venv-fits-wcs/ with pinned
astropy and numpy, created on first use, the calling script re-run with it)
and their one command-line option, the casa-sim directory.
"""
import argparse
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
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


def casa_sim_dir(description):
    """Parses `--casa-sim DIR` (default: shared/casa-sim beside the repository)."""
    parser = argparse.ArgumentParser(description=description)
    default = os.path.join(os.path.dirname(REPO), "shared", "casa-sim")
    parser.add_argument("--casa-sim", default=default, help="casa-sim directory")
    return parser.parse_args().casa_sim
