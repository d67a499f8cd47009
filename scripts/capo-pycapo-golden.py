#!/usr/bin/env python3
"""Reads testdata/capo/ with NRAO's own pycapo 0.3.1 and writes what it sees to
testdata/capo/pycapo-expected.json, the reference the vlass-capo tests compare against.

Run from anywhere: ./scripts/capo-pycapo-golden.py
It creates its own virtual environment (scripts/.venv-capo, ignored by git) on first use.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-capo"
DATA = REPO / "testdata" / "capo"
PYCAPO = "pycapo==0.3.1"
# Variables the cases refer to with ${env:NAME}.
CASE_ENV = {"FOO": "foo", "BAR": "bar"}


def ensure_venv():
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PYCAPO], check=True)
    os.execv(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:])


def clean_environment(home):
    for name in ("CAPO_PROFILE", "CAPO_PATH", "UNSET_VARIABLE_X"):
        os.environ.pop(name, None)
    os.environ.update(CASE_ENV)
    os.environ["HOME"] = str(home)


def read_case(case_file):
    """One file as the only file of profile 'test'; the options or the exception's class."""
    from pycapo import CapoConfig

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "home").mkdir()
        (tmp / "dir").mkdir()
        shutil.copy(case_file, tmp / "dir" / "test.properties")
        clean_environment(tmp / "home")
        try:
            config = CapoConfig(profile="test", path=str(tmp / "dir"))
            return {"options": config.getoptions()}
        except Exception as err:  # pycapo reports syntax problems as configparser errors
            return {"error": type(err).__name__}


def read_layers():
    """The layered tree: site, ssa on the path, home/.capo appended by pycapo itself."""
    from pycapo import CapoConfig

    layers = DATA / "layers"
    clean_environment(layers / "home")
    path = ":".join(str(layers / d) for d in ("site", "ssa"))
    config = CapoConfig(profile="test", path=path)
    locations = {
        key: str(Path(where).relative_to(layers)) for key, where in config.getlocations().items()
    }
    return {"options": config.getoptions(), "locations": locations}


def main():
    ensure_venv()
    import pycapo  # noqa: F401  (fails loudly if the venv is broken)

    result = {
        "generator": "scripts/capo-pycapo-golden.py with " + PYCAPO,
        "case_environment": CASE_ENV,
        "cases": {p.name: read_case(p) for p in sorted((DATA / "cases").glob("*.properties"))},
        "layers": read_layers(),
    }
    out = DATA / "pycapo-expected.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
