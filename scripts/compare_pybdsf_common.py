"""Shared pieces of the component-list comparison, golden-file and benchmark
scripts: the Python venv with PyBDSF 1.14.1 + astropy, locating the repo and
the shared casa-sim data, building component-list, timing a whole process
with /usr/bin/time -v, reading PyBDSF-layout CSV catalogues, and matching
catalogues by position.
"""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, "scripts", ".venv-compare-pybdsf")
PACKAGES = ["bdsf==1.14.1", "astropy==8.0.2", "numpy"]


def ensure_venv():
    """Re-executes the calling script inside the venv (creating it first)."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        print(f"creating {VENV} (pip install {' '.join(PACKAGES)})", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet"] + PACKAGES)
    os.execv(python, [python] + sys.argv)


def casa_sim_dir(given=None):
    """The shared casa-sim directory: --casa-sim, else ../shared/casa-sim next to the repo."""
    path = given or os.path.join(os.path.dirname(REPO), "shared", "casa-sim")
    if not os.path.isdir(path):
        sys.exit(f"casa-sim data not found at {path} (give --casa-sim DIR)")
    return os.path.abspath(path)


def build_component_list():
    """Builds the release binary; returns its path (CARGO_TARGET_DIR honoured)."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    subprocess.check_call(
        ["cargo", "build", "--quiet", "--release", "-p", "component-list"], cwd=REPO
    )
    return os.path.join(target, "release", "component-list")


def timed(cmd, cwd=None, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB,
    stdout, CPU seconds = user + system of the process and its children).
    Raises on a non-zero exit."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v"] + cmd, cwd=cwd, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    wall = rss = None
    cpu = 0.0
    for line in proc.stderr.splitlines():
        line = line.strip()
        if line.startswith("User time (seconds)") or line.startswith("System time (seconds)"):
            cpu += float(line.rsplit(" ", 1)[1])
        if line.startswith("Elapsed (wall clock) time"):
            value = line.rsplit(" ", 1)[1]
            parts = [float(p) for p in value.split(":")]
            wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1]) / 1024.0
    return wall, rss, proc.stdout, cpu


PYBDSF_RUNNER = r"""
import sys, bdsf
image, outdir, thresh_isl, thresh_pix = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
import os
root = os.path.join(outdir, os.path.basename(image).replace('.fits', ''))
img = bdsf.process_image(image, thresh_isl=thresh_isl, thresh_pix=thresh_pix, thresh='hard', quiet=True)
img.write_catalog(outfile=root + '.pybdsf.srl.csv', format='csv', catalog_type='srl', clobber=True)
img.write_catalog(outfile=root + '.pybdsf.gaul.csv', format='csv', catalog_type='gaul', clobber=True)
print(root)
"""


def run_pybdsf(image, outdir, thresh_isl=3.0, thresh_pix=5.0):
    """PyBDSF 1.14.1 with the given thresholds (thresh='hard', other options
    default) in its own process; returns (wall s, RSS MiB, srl path, gaul path,
    CPU s)."""
    os.makedirs(outdir, exist_ok=True)
    # PyBDSF writes '<image>.pybdsf.log' beside its input: hand it a link in
    # outdir so the (read-only) input tree is never written to.
    link = os.path.join(outdir, os.path.basename(image))
    if os.path.abspath(link) != os.path.abspath(image):
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(image), link)
        image = link
    python = os.path.join(VENV, "bin", "python")
    wall, rss, out, cpu = timed(
        [python, "-c", PYBDSF_RUNNER, image, outdir, str(thresh_isl), str(thresh_pix)], cwd=outdir
    )
    root = out.strip().splitlines()[-1]
    return wall, rss, root + ".pybdsf.srl.csv", root + ".pybdsf.gaul.csv", cpu


def run_ours(binary, image, outdir, extra=(), thresh_isl=3.0, thresh_pix=5.0):
    """component-list on image; returns (wall s, RSS MiB, srl path, gaul path, CPU s)."""
    os.makedirs(outdir, exist_ok=True)
    cmd = [binary, "--output-dir", outdir, "--thresh-isl", str(thresh_isl),
           "--thresh-pix", str(thresh_pix)] + list(extra) + [image]
    wall, rss, _, cpu = timed(cmd)
    stem = os.path.basename(image)
    stem = re.sub(r"\.fits(\.gz)?$", "", stem)
    return wall, rss, os.path.join(outdir, stem + ".srl.csv"), os.path.join(outdir, stem + ".gaul.csv"), cpu


def read_catalog(path):
    """A PyBDSF-layout CSV as a dict of column name -> list of values
    (float where possible, else stripped text)."""
    names = None
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                if "," in line and not rows:
                    names = [n.strip() for n in line[1:].split(",")]
                continue
            rows.append([c.strip() for c in line.split(",")])
    table = {n: [] for n in (names or [])}
    for row in rows:
        for n, v in zip(names, row):
            try:
                table[n].append(float(v))
            except ValueError:
                table[n].append(v)
    return table


def separation_arcsec(ra1, dec1, ra2, dec2):
    """Angular separation (haversine), arcsec; numpy arrays broadcast."""
    import numpy as np
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.minimum(h, 1.0)))) * 3600.0


def match(ra1, dec1, ra2, dec2, radius_arcsec):
    """For each point of set 1, the index of the nearest point of set 2 within
    the radius, or -1."""
    import numpy as np
    ra2, dec2 = np.asarray(ra2, float), np.asarray(dec2, float)
    out = []
    for r, d in zip(ra1, dec1):
        if len(ra2) == 0:
            out.append(-1)
            continue
        sep = separation_arcsec(r, d, ra2, dec2)
        k = int(np.argmin(sep))
        out.append(k if sep[k] <= radius_arcsec else -1)
    return np.array(out, dtype=int)
