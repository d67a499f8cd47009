"""Peak-memory measurements behind the resource requests of condor/*.sub.

Run through scripts/condor_measure (which provides numpy and the dev binaries).
Generates VLASS-size inputs under bench-data/condor/ once (headers from the
casa-sim images, sizes from notes/vlass-products.md: QL 3722^2 at 1.0", SE and CC
6202^2 at 0.6"), runs every tool as its template runs it under /usr/bin/time -v,
and writes the rows into condor/RESOURCES.md between the measurement markers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "casa-sim"
DATA = REPO / "bench-data" / "condor"
RESOURCES = REPO / "condor" / "RESOURCES.md"
BEGIN, END = "<!-- measurements: begin -->", "<!-- measurements: end -->"
HEADERS = SHARED / "headers"
SE_HEADER = HEADERS / "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits.header.txt"
QL_HEADER = HEADERS / "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1.I.iter1.image.pbcor.tt0.subim.fits.header.txt"
QL_STEM = "VLASS3.1.ql.T13t15.J100000+300000.10.2048.v1"
SE_STEM = "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1"
CC_STEM = "VLASS3.1.cc.T13t15.J100000+300000.06.2048.v1"
CC_SPWS = {2: 2.244e9, 6: 2.756e9, 10: 3.268e9, 14: 3.78e9}
CC_MORE_SPWS = {4: 2.5e9, 8: 3.012e9, 12: 3.524e9, 16: 4.036e9}  # cc8: twice the files
BIG_LOG_BYTES = 256 << 20
SOURCES = 300
NOISE_JY = 1.4e-4
BEAM_FWHM_ARCSEC = 2.5


def target_dir() -> Path:
    configured = os.environ.get("CARGO_TARGET_DIR")
    return Path(configured) if configured else REPO / "target"


def primary_cards(header_txt: Path) -> list[str]:
    """The primary HDU's cards of a casa-sim header dump, 80 columns each, without END."""
    cards = []
    for line in header_txt.read_text().splitlines():
        if line.startswith("# HDU"):
            if cards:
                break
            continue
        card = line[:80].ljust(80)
        if card.startswith("END     ") or card.strip() == "END":
            break
        cards.append(card)
    return cards


def card(key: str, value) -> str:
    if isinstance(value, str):
        text = f"'{value:<8}'"
        return f"{key:<8}= {text:<20}".ljust(80)
    if isinstance(value, bool):
        return f"{key:<8}= {'T' if value else 'F':>20}".ljust(80)
    if isinstance(value, int):
        return f"{key:<8}= {value:>20d}".ljust(80)
    return f"{key:<8}= {value:>20.12E}".ljust(80)


def header(template: Path, size: int, cdelt_deg: float, stokes: int, updates: dict) -> bytes:
    values = {"NAXIS1": size, "NAXIS2": size, "NAXIS3": 1, "NAXIS4": stokes, "CRPIX1": float(size // 2 + 1),
              "CRPIX2": float(size // 2 + 1), "CDELT1": -cdelt_deg, "CDELT2": cdelt_deg,
              "BMAJ": BEAM_FWHM_ARCSEC / 3600, "BMIN": 0.9 * BEAM_FWHM_ARCSEC / 3600, **updates}
    out, seen = [], set()
    for c in primary_cards(template):
        key = c[:8].strip()
        if key == "CASAMBM":
            continue
        if key in values:
            out.append(card(key, values[key]))
            seen.add(key)
        else:
            out.append(c)
    for key in values:
        if key not in seen:
            out.append(card(key, values[key]))
    out.append("END".ljust(80))
    text = "".join(out).encode("ascii")
    return text + b" " * (-len(text) % 2880)


def write_fits(path: Path, head: bytes, planes: list[np.ndarray]) -> None:
    temp = path.with_suffix(".partial")
    with temp.open("wb") as f:
        f.write(head)
        written = 0
        for plane in planes:
            data = plane.astype(">f4").tobytes()
            f.write(data)
            written += len(data)
        f.write(b"\0" * (-written % 2880))
    temp.rename(path)


def gaussian_sources(rng: np.random.Generator, size: int, count: int) -> list[tuple[float, float, float, float]]:
    """(x, y, peak Jy/beam at 3 GHz, spectral index) of injected point sources."""
    xs = rng.uniform(40, size - 40, count)
    ys = rng.uniform(40, size - 40, count)
    peaks = np.exp(rng.uniform(np.log(8 * NOISE_JY), np.log(0.05), count))
    alphas = rng.normal(-0.7, 0.3, count)
    return list(zip(xs, ys, peaks, alphas))


def sky(rng: np.random.Generator, size: int, pixel_arcsec: float, sources, freq_hz: float = 3e9) -> np.ndarray:
    plane = rng.normal(0.0, NOISE_JY, (size, size)).astype(np.float32)
    fwhm_px = BEAM_FWHM_ARCSEC * (3e9 / freq_hz) / pixel_arcsec
    sigma = fwhm_px / 2.3548
    half = int(4 * sigma) + 1
    grid = np.arange(-half, half + 1)
    for x, y, peak, alpha in sources:
        ix, iy = int(round(x)), int(round(y))
        gx = np.exp(-0.5 * ((grid + ix - x) / sigma) ** 2)
        gy = np.exp(-0.5 * ((grid + iy - y) / sigma) ** 2)
        stamp = peak * (freq_hz / 3e9) ** alpha * np.outer(gy, gx)
        plane[iy - half:iy + half + 1, ix - half:ix + half + 1] += stamp.astype(np.float32)
    return plane


def generate() -> None:
    rng = np.random.default_rng(20261201)
    ql, se, cc = DATA / "ql" / "products", DATA / "se" / "products", DATA / "cc" / "products"
    for d in (ql, se, cc):
        d.mkdir(parents=True, exist_ok=True)
    # QL: 3722^2 at 1.0", tt0 and its rms.
    size, pix = 3722, 1.0
    sources = gaussian_sources(rng, size, SOURCES)
    files = {
        f"{QL_STEM}.I.iter1.image.pbcor.tt0.subim.fits": lambda: sky(rng, size, pix, sources),
        f"{QL_STEM}.I.iter1.image.pbcor.tt0.rms.subim.fits":
            lambda: np.full((size, size), NOISE_JY, np.float32) * rng.uniform(0.9, 1.1, (size, size)).astype(np.float32),
    }
    for name, make in files.items():
        if not (ql / name).exists():
            print(f"generating {name}", flush=True)
            write_fits(ql / name, header(QL_HEADER, size, pix / 3600, 1, {}), [make()])
    # SE: 6202^2 at 0.6", the six files of a product.
    size, pix = 6202, 0.6
    sources = gaussian_sources(rng, size, SOURCES)
    flat = lambda value, spread: lambda: (value + spread * rng.standard_normal((size, size))).astype(np.float32)
    files = {
        f"{SE_STEM}.I.iter3.image.pbcor.tt0.subim.fits": lambda: sky(rng, size, pix, sources),
        f"{SE_STEM}.I.iter3.image.pbcor.tt0.rms.subim.fits": flat(NOISE_JY, NOISE_JY / 20),
        f"{SE_STEM}.I.iter3.image.pbcor.tt1.subim.fits": flat(0.0, NOISE_JY),
        f"{SE_STEM}.I.iter3.image.pbcor.tt1.rms.subim.fits": flat(NOISE_JY, NOISE_JY / 20),
        f"{SE_STEM}.I.iter3.alpha.subim.fits": flat(-0.7, 0.3),
        f"{SE_STEM}.I.iter3.alpha.error.subim.fits": flat(0.2, 0.02),
    }
    for name, make in files.items():
        if not (se / name).exists():
            print(f"generating {name}", flush=True)
            write_fits(se / name, header(SE_HEADER, size, pix / 3600, 1, {}), [make()])
    # CC: per-spw IQU files, 6202^2 x 1 x 3, the same sky at each spw's frequency;
    # cc8/ holds those four (hard links) and four more, to see whether memory grows with files.
    cc8 = DATA / "cc8" / "products"
    cc8.mkdir(parents=True, exist_ok=True)
    for spw, freq in {**CC_SPWS, **CC_MORE_SPWS}.items():
        name = f"{CC_STEM}.spw{spw}.IQU.iter3.image.pbcor.tt0.subim.fits"
        home = cc if spw in CC_SPWS else cc8
        if spw in CC_SPWS and (cc / name).exists() and not (cc8 / name).exists():
            os.link(cc / name, cc8 / name)
        if (home / name).exists():
            continue
        print(f"generating {name}", flush=True)
        scale = 3e9 / freq
        head = header(SE_HEADER, size, pix / 3600, 3,
                      {"CRVAL3": freq, "CDELT3": 1.28e8, "BMAJ": BEAM_FWHM_ARCSEC * scale / 3600,
                       "BMIN": 0.9 * BEAM_FWHM_ARCSEC * scale / 3600})
        planes = [sky(rng, size, pix, sources, freq)] + [rng.normal(0, NOISE_JY, (size, size)) for _ in "QU"]
        write_fits(home / name, head, planes)
        if home is cc:
            os.link(cc / name, cc8 / name)
    # casa-judge: the largest casa-sim log repeated to 256 MiB (a long CASA run's log).
    big = DATA / "judge" / "casa-20261125-000000.log"
    if not big.exists():
        big.parent.mkdir(parents=True, exist_ok=True)
        source = max((SHARED / "logs").rglob("casa-*.log"), key=lambda p: p.stat().st_size).read_bytes()
        with big.open("wb") as f:
            for _ in range(BIG_LOG_BYTES // len(source) + 1):
                f.write(source)


def measure(argv: list[str], threads: int, cwd: Path) -> tuple[int, float, int]:
    """(peak RSS KiB, wall seconds, exit code) of one run under /usr/bin/time -v."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(["/usr/bin/time", "-v", *argv], cwd=cwd, env=env, capture_output=True, text=True)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr).group(1)
    seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
    if proc.returncode != 0:
        tail = [l for l in proc.stderr.splitlines() if not l.startswith("\t")][-3:]
        print(f"  exit {proc.returncode}: {' | '.join(tail)}", flush=True)
    return peak, seconds, proc.returncode


def runs() -> list[tuple[str, str, int, list[str], Path]]:
    """(template, input, threads, argv relative to the run directory, run directory)."""
    binary = lambda tool: str(target_dir() / "release" / tool)
    out = DATA / "out"
    se_tt0 = f"products/{SE_STEM}.I.iter3.image.pbcor.tt0.subim.fits"
    ql_tt0 = f"products/{QL_STEM}.I.iter1.image.pbcor.tt0.subim.fits"
    cubes = [f"products/{CC_STEM}.spw{s}.IQU.iter3.image.pbcor.tt0.subim.fits" for s in sorted(CC_SPWS)]
    catalog = out / "se-catalog" / f"{SE_STEM}.I.iter3.image.pbcor.tt0.subim.gaul.csv"
    logs = SHARED / "logs"
    return [
        ("annotate-qa.sub", "QL product: tt0 + rms, 3722^2", 2,
         [binary("annotate-qa"), "--json", str(out / "qa-ql.json"), "--no-progress", "--jobs", "2", "products"], DATA / "ql"),
        ("annotate-qa.sub", "SE product: 6 files of 6202^2", 2,
         [binary("annotate-qa"), "--json", str(out / "qa-se.json"), "--no-progress", "--jobs", "2", "products"], DATA / "se"),
        ("annotate-qa.sub", "CC: 4 spw files of 6202^2 x IQU", 2,
         [binary("annotate-qa"), "--json", str(out / "qa-cc.json"), "--no-progress", "--jobs", "2", "products"], DATA / "cc"),
        ("annotate-qa.sub", "CC: 8 spw files of 6202^2 x IQU", 2,
         [binary("annotate-qa"), "--json", str(out / "qa-cc8.json"), "--no-progress", "--jobs", "2", "products"],
         DATA / "cc8"),
        ("component-list.sub", "QL tt0 3722^2, 300 sources", 2,
         [binary("component-list"), "--output-dir", str(out / "ql-catalog"), "--format", "csv,fits,ds9,json",
          "--jobs", "2", ql_tt0], DATA / "ql"),
        ("component-list.sub", "SE tt0 6202^2, 300 sources", 2,
         [binary("component-list"), "--output-dir", str(out / "se-catalog"), "--format", "csv,fits,ds9,json",
          "--jobs", "2", se_tt0], DATA / "se"),
        ("component-list-cube.sub", "4 spw files of 6202^2 x IQU, SE catalogue", 2,
         [binary("component-list"), "cube", "--catalog", str(catalog), "--output-dir", str(out / "cube"),
          "--jobs", "2", *cubes], DATA / "cc"),
        ("casa-judge.sub", "casa-sim logs/success (one run, its products expected)", 1,
         [binary("casa-judge"), "--exit-status", "0", "--policy", "quicklook", "--workdir", ".", "--json",
          str(out / "judge-success.json"), "--jobs", "1", "--expect", "products/target.image.fits",
          "--expect", "products/target.pb.fits", "."], logs / "success"),
        ("casa-judge.sub", "a 256 MiB log (casa-sim records repeated)", 1,
         [binary("casa-judge"), "--exit-status", "0", "--policy", "quicklook", "--workdir", ".", "--json",
          str(out / "judge-big.json"), "--jobs", "1", "--expect", "casa-*.log", "."], DATA / "judge"),
        ("casa-judge.sub", "casa-sim logs/ (all scenarios and the imaging runs)", 1,
         [binary("casa-judge"), "--exit-status", "0", "--policy", "quicklook", "--workdir", ".", "--json",
          str(out / "judge-all.json"), "--jobs", "1", "."], logs),
    ]


def display(argv: list[str], cwd: Path) -> str:
    shown = [a.replace(str(target_dir() / "release") + "/", "").replace(str(DATA) + "/", "bench-data/condor/")
             .replace(str(SHARED) + "/", "../shared/casa-sim/") for a in argv]
    where = str(cwd).replace(str(DATA), "bench-data/condor").replace(str(SHARED), "../shared/casa-sim")
    return f"`cd {where} && {' '.join(shown)}`"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESOURCES.md alone")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print("condor_measure: ../shared/casa-sim is needed (headers and logs)", file=sys.stderr)
        return 2
    generate()
    out = DATA / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = ["| template | input | threads | peak RSS (KiB) | exit | wall (s) | command |",
            "|---|---|---|---|---|---|---|"]
    for template, what, threads, argv, cwd in runs():
        print(f"{template}: {what}", flush=True)
        peak, seconds, code = measure(argv, threads, cwd)
        print(f"  peak {peak} KiB ({peak / 1024:.0f} MiB), {seconds:.1f} s, exit {code}", flush=True)
        rows.append(f"| {template} | {what} | {threads} | {peak} | {code} | {seconds:.1f} | {display(argv, cwd)} |")
    table = "\n".join(rows)
    print(table)
    if not args.no_write:
        text = RESOURCES.read_text()
        start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
        RESOURCES.write_text(text[:start] + "\n" + table + "\n" + text[stop:])
        print(f"wrote {RESOURCES.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
