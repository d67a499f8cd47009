#!/usr/bin/env python3
"""Speed and memory of component-list against PyBDSF 1.14.1, whole process,
same machine, same run: on the 2048x2048 casa-sim SE tt0 image and on a
generated 6202x6202 SE-size image (see bench_component_list_gen.py).

Both run with thresh_isl 3, thresh_pix 5 (PyBDSF thresh='hard'), each
tool's default background box; wall and CPU (user + system) times and peak
RSS from /usr/bin/time -v; the load average is printed with the table.
Also prints how many of the injected sources of the generated image each tool
recovers (within 2") above true S/N 10, as a check that both did real work.

Usage: python3 scripts/bench_component_list.py [--casa-sim DIR] [--skip-pybdsf] [--repeat N]
(venv scripts/.venv-compare-pybdsf; data in bench-data/, which git ignores).
"""
import argparse
import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pybdsf_common import (  # noqa: E402
    REPO, build_component_list, casa_sim_dir, ensure_venv, match, read_catalog, run_ours, run_pybdsf,
)

ensure_venv()

import numpy as np  # noqa: E402

SE_NAME = "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits"
BIG_NAME = "VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.6202.fits"


def injected_recovery(srl, truth_csv):
    with open(truth_csv) as f:
        rows = list(csv.DictReader(f))
    ra = np.array([float(r["ra_deg"]) for r in rows])
    dec = np.array([float(r["dec_deg"]) for r in rows])
    snr = np.array([float(r["snr"]) for r in rows])
    cat = read_catalog(srl)
    idx = match(ra, dec, cat.get("RA", []), cat.get("DEC", []), 2.0)
    bright = snr > 10
    return int((idx[bright] >= 0).sum()), int(bright.sum()), len(cat.get("RA", []))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--casa-sim")
    ap.add_argument("--skip-pybdsf", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of component-list (least wall time and least CPU time kept)")
    ap.add_argument("--json", default=os.path.join(REPO, "bench-data", "bench_component_list.json"))
    args = ap.parse_args()
    sim = casa_sim_dir(args.casa_sim)
    binary = build_component_list()
    data = os.path.join(REPO, "bench-data")
    big = os.path.join(data, BIG_NAME)
    truth = big.replace(".fits", ".truth.csv")
    if not os.path.exists(big):
        subprocess.check_call([sys.executable, os.path.join(REPO, "scripts", "bench_component_list_gen.py"),
                               "--casa-sim", sim, "--out", big])
    results = {}
    load_before = os.getloadavg()
    for label, image in [("SE 2048x2048 (casa-sim)", os.path.join(sim, "se", SE_NAME)),
                         ("SE-size 6202x6202 (generated)", big)]:
        size_mib = os.path.getsize(image) / 2 ** 20
        runs = [run_ours(binary, image, os.path.join(data, "bench", "ours")) for _ in range(args.repeat)]
        ours = min(runs, key=lambda r: r[0])
        entry = {"image_mib": size_mib, "ours_wall_s": ours[0], "ours_rss_mib": ours[1],
                 "ours_cpu_s": min(r[4] for r in runs)}
        if not args.skip_pybdsf:
            py = run_pybdsf(image, os.path.join(data, "bench", "pybdsf"))
            entry.update({"pybdsf_wall_s": py[0], "pybdsf_rss_mib": py[1], "pybdsf_cpu_s": py[4],
                          "speedup": py[0] / ours[0], "cpu_speedup": py[4] / entry["ours_cpu_s"]})
        if image == big:
            entry["ours_recovered"] = injected_recovery(ours[2], truth)
            if not args.skip_pybdsf:
                entry["pybdsf_recovered"] = injected_recovery(py[2], truth)
        results[label] = entry
        print(label, json.dumps(entry), flush=True)
    print(f"\nload average before the runs: {load_before}, after: {os.getloadavg()}")
    print("\n| image | component-list wall (s) | PyBDSF wall (s) | wall speed-up | component-list CPU (s) "
          "| PyBDSF CPU (s) | CPU speed-up | component-list peak RSS (MiB) "
          "| PyBDSF peak RSS (MiB) | image size (MiB) | our RSS / image |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, e in results.items():
        def py(key, fmt):
            return format(e[key], fmt) if key in e else "-"
        print(f"| {label} | {e['ours_wall_s']:.2f} | {py('pybdsf_wall_s', '.1f')} | {py('speedup', '.1f')}x "
              f"| {e['ours_cpu_s']:.2f} | {py('pybdsf_cpu_s', '.1f')} | {py('cpu_speedup', '.1f')}x "
              f"| {e['ours_rss_mib']:.0f} | {py('pybdsf_rss_mib', '.0f')} "
              f"| {e['image_mib']:.0f} | {e['ours_rss_mib'] / e['image_mib']:.2f} |")
    for label, e in results.items():
        if "ours_recovered" in e:
            a, b, n = e["ours_recovered"]
            line = f"\n{label}: injected sources with S/N > 10 recovered: component-list {a}/{b} ({n} detections)"
            if "pybdsf_recovered" in e:
                a, b, n = e["pybdsf_recovered"]
                line += f", PyBDSF {a}/{b} ({n} detections)"
            print(line)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
