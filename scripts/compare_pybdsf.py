#!/usr/bin/env python3
"""Accuracy and speed of component-list against PyBDSF 1.14.1 on the
simulated CASA images of ../shared/casa-sim (true sky in truth.csv).

Both tools run with the same thresholds (thresh_isl 3, thresh_pix 5; PyBDSF
with thresh='hard' so it applies them as given, everything else at each tool's
defaults) on the QL and SE tt0 images; both source lists are matched to the
truth within 2". Printed per tool and image:

* detections, matches, false detections (unmatched; those within 60" of the
  0.8 Jy source 1 counted apart);
* completeness in bins of true S/N = true total flux / local rms and of
  expected peak S/N = true flux x beam area / (source convolved with the
  beam) area / local rms; the local rms is the casa-sim rms map (made by CASA,
  independent of both tools) at the true position;
* median and robust scatter (1.4826 MAD) of measured / true total flux and the
  position rms, for true S/N > 10 (flux: point sources);
* deconvolved vs true sizes of the resolved Gaussians;
* the median Total_flux ratio component-list / PyBDSF for sources both find;
* cube: component-list cube on the 8-plane cube with our SE catalogue, fitted
  vs true spectral index for true S/N > 20 (and the SE tt1/tt0 Alpha column),
  and as a diagnostic the same with true positions and sizes put into the
  catalogue (how much of a miss the catalogue's shape causes);
* whether the two tools' median flux offsets differ by more than a bootstrap
  over the sources explains.

Whole-process wall time, CPU time and peak RSS (/usr/bin/time -v) of each run are
printed too. Usage:

    python3 scripts/compare_pybdsf.py [--casa-sim DIR] [--out DIR] [--json FILE]

(creates scripts/.venv-compare-pybdsf with bdsf 1.14.1 and astropy on first use;
outputs go to bench-data/compare/ by default).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pybdsf_common import (  # noqa: E402
    REPO, build_component_list, casa_sim_dir, ensure_venv, match, read_catalog,
    run_ours, run_pybdsf, separation_arcsec, timed,
)

ensure_venv()

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.wcs import WCS, FITSFixedWarning  # noqa: E402

warnings.simplefilter("ignore", FITSFixedWarning)

STEM = "VLASS3.1.{kind}.T13t15.J100000+300000.{cell}.{bw}.v1."
IMAGES = {
    "QL": ("ql", STEM.format(kind="ql", cell="10", bw="2048") + "I.iter1.image.pbcor.tt0.subim.fits",
           STEM.format(kind="ql", cell="10", bw="2048") + "I.iter1.image.pbcor.tt0.rms.subim.fits.gz"),
    "SE": ("se", STEM.format(kind="se", cell="06", bw="2048") + "I.iter3.image.pbcor.tt0.subim.fits",
           STEM.format(kind="se", cell="06", bw="2048") + "I.iter3.image.pbcor.tt0.rms.subim.fits.gz"),
}
SE_TT1 = STEM.format(kind="se", cell="06", bw="2048") + "I.iter3.image.pbcor.tt1.subim.fits"
CUBE = STEM.format(kind="cc", cell="06", bw="1024") + "I.iter3.image.pbcor.subim.fits"
BINS = [(0, 5), (5, 7), (7, 10), (10, 20), (20, np.inf)]
MATCH_ARCSEC = 2.0
BRIGHT_ZONE_ARCSEC = 60.0


def load_truth(path):
    t = {k: [] for k in ["id", "ra", "dec", "flux", "alpha", "shape", "maj", "min", "pa"]}
    import csv
    with open(path) as f:
        for row in csv.DictReader(f):
            t["id"].append(int(row["id"]))
            t["ra"].append(float(row["ra_deg"]))
            t["dec"].append(float(row["dec_deg"]))
            t["flux"].append(float(row["flux_jy"]))
            t["alpha"].append(float(row["alpha"]))
            t["shape"].append(row["shape"])
            t["maj"].append(float(row["maj_arcsec"]))
            t["min"].append(float(row["min_arcsec"]))
            t["pa"].append(float(row["pa_deg"]))
    return {k: np.array(v) for k, v in t.items()}


def covariance(maj, mnr, pa_deg):
    """Covariance (FWHM^2 units) of an ellipse with PA east of north."""
    t = np.radians(pa_deg)
    u = np.array([np.sin(t), np.cos(t)])
    v = np.array([np.cos(t), -np.sin(t)])
    return maj ** 2 * np.outer(u, u) + mnr ** 2 * np.outer(v, v)


def truth_context(truth, image_path, rms_path):
    """Per truth source: inside the image?, local rms, beam, true and peak S/N."""
    with fits.open(image_path) as h:
        hdr = h[0].header
        data = h[0].data.squeeze()
    with fits.open(rms_path) as h:
        rms = h[0].data.squeeze()
    w = WCS(hdr).celestial
    x, y = w.all_world2pix(truth["ra"], truth["dec"], 0)
    ix, iy = np.round(x).astype(int), np.round(y).astype(int)
    ny, nx = data.shape
    inside = (ix >= 0) & (iy >= 0) & (ix < nx) & (iy < ny)
    local_rms = np.full(len(ix), np.nan)
    pixel_ok = np.zeros(len(ix), bool)
    for k in np.nonzero(inside)[0]:
        local_rms[k] = rms[iy[k], ix[k]]
        pixel_ok[k] = np.isfinite(data[iy[k], ix[k]]) and np.isfinite(local_rms[k])
    bmaj, bmin, bpa = hdr["BMAJ"] * 3600, hdr["BMIN"] * 3600, hdr["BPA"]
    beam = covariance(bmaj, bmin, bpa)
    peak_factor = []
    for k in range(len(ix)):
        src = covariance(truth["maj"][k], truth["min"][k], truth["pa"][k])
        peak_factor.append(np.sqrt(np.linalg.det(beam) / np.linalg.det(beam + src)))
    snr = truth["flux"] / local_rms
    peak_snr = truth["flux"] * np.array(peak_factor) / local_rms
    return {"usable": pixel_ok, "rms": local_rms, "snr": snr, "peak_snr": peak_snr,
            "beam": (bmaj, bmin, bpa)}


def robust_scatter(v):
    v = np.asarray(v, float)
    if len(v) == 0:
        return np.nan
    return 1.4826 * np.median(np.abs(v - np.median(v)))


def evaluate(cat, truth, ctx):
    ra, dec = np.array(cat.get("RA", []), float), np.array(cat.get("DEC", []), float)
    flux = np.array(cat.get("Total_flux", []), float)
    usable = ctx["usable"]
    idx = match(truth["ra"], truth["dec"], ra, dec, MATCH_ARCSEC)
    idx[~usable] = -1
    found = idx >= 0
    res = {"detections": int(len(ra)), "matched": int(found.sum()),
           "truth_inside": int(usable.sum())}
    for key in ("snr", "peak_snr"):
        rows = []
        for lo, hi in BINS:
            sel = usable & (ctx[key] >= lo) & (ctx[key] < hi)
            rows.append((int(found[sel].sum()), int(sel.sum())))
        res["completeness_" + key] = rows
    # false detections: detections matching no truth source within 2"
    matched_dets = set(idx[found].tolist())
    bright = np.nonzero(truth["id"] == 1)[0][0]
    false_near = false_far = 0
    for k in range(len(ra)):
        if k in matched_dets:
            continue
        d = separation_arcsec(ra[k], dec[k], truth["ra"][bright], truth["dec"][bright])
        if d <= BRIGHT_ZONE_ARCSEC:
            false_near += 1
        else:
            false_far += 1
    res["false_far"] = false_far
    res["false_near_bright"] = false_near
    hi = found & (ctx["snr"] > 10)
    points = hi & (truth["shape"] == "point")
    ratio = flux[idx[points]] / truth["flux"][points] if points.any() else np.array([])
    res["flux_ratio_points_snr10"] = {
        "n": int(points.sum()), "median": float(np.median(ratio)) if len(ratio) else None,
        "robust_scatter": float(robust_scatter(ratio)) if len(ratio) else None,
        "std": float(np.std(ratio)) if len(ratio) else None}
    offsets = separation_arcsec(truth["ra"][hi], truth["dec"][hi], ra[idx[hi]], dec[idx[hi]]) \
        if hi.any() else np.array([])
    res["position_rms_arcsec_snr10"] = {"n": int(hi.sum()),
                                        "rms": float(np.sqrt(np.mean(offsets ** 2))) if len(offsets) else None}
    sizes = []
    for k in np.nonzero(found & (truth["shape"] == "gaussian"))[0]:
        j = idx[k]
        sizes.append({"id": int(truth["id"][k]), "true_maj": truth["maj"][k], "true_min": truth["min"][k],
                      "dc_maj": cat["DC_Maj"][j] * 3600 if "DC_Maj" in cat else None,
                      "dc_min": cat["DC_Min"][j] * 3600 if "DC_Min" in cat else None,
                      "flux_ratio": float(flux[j] / truth["flux"][k]),
                      "snr": float(ctx["snr"][k])})
    res["resolved"] = sizes
    res["_idx"] = idx
    return res


def fmt_bins(rows):
    return " | ".join(f"{a}/{b}" if b else "-" for a, b in rows)


def print_table(kind, results, timings, common):
    print(f"\n### {kind} image\n")
    print("| | component-list | PyBDSF 1.14.1 |\n|---|---|---|")
    ours, theirs = results["component-list"], results["PyBDSF"]

    def row(label, f):
        print(f"| {label} | {f(ours)} | {f(theirs)} |")

    row("detections (sources)", lambda r: r["detections"])
    row(f"matched to truth (2\"), of {ours['truth_inside']} inside", lambda r: r["matched"])
    row("completeness by true S/N <5, 5-7, 7-10, 10-20, >20", lambda r: fmt_bins(r["completeness_snr"]))
    row("completeness by expected peak S/N (same bins)", lambda r: fmt_bins(r["completeness_peak_snr"]))
    row("false detections (beyond 60\" of source 1)", lambda r: r["false_far"])
    row("unmatched within 60\" of source 1", lambda r: r["false_near_bright"])

    def fr(r):
        f = r["flux_ratio_points_snr10"]
        if not f["n"]:
            return "-"
        return f"{f['median']:.4f} ± {f['robust_scatter']:.4f} (std {f['std']:.4f}, n={f['n']})"
    row("measured/true flux, points S/N>10: median ± 1.4826 MAD", fr)
    row("position rms S/N>10 (arcsec)",
        lambda r: "-" if not r["position_rms_arcsec_snr10"]["n"] else
        f"{r['position_rms_arcsec_snr10']['rms']:.3f} (n={r['position_rms_arcsec_snr10']['n']})")

    def sizes(r):
        parts = []
        for s in r["resolved"]:
            dm = "-" if s["dc_maj"] is None else f"{s['dc_maj']:.1f}x{s['dc_min']:.1f}"
            parts.append(f"#{s['id']} {s['true_maj']:.1f}x{s['true_min']:.1f}→{dm} (S {s['flux_ratio']:.2f})")
        return "; ".join(parts) or "-"
    row("resolved Gaussians: true → deconvolved size (\"), flux ratio", sizes)
    row("wall time (s), whole process", lambda r: f"{timings[r['_tool']][0]:.2f}")
    row("CPU time (s), user + system", lambda r: f"{timings[r['_tool']][2]:.2f}")
    row("peak RSS (MiB)", lambda r: f"{timings[r['_tool']][1]:.0f}")
    (t_ours, _, c_ours), (t_py, _, c_py) = timings["component-list"], timings["PyBDSF"]
    print(f"\nSpeed-up (PyBDSF / component-list): wall {t_py / t_ours:.1f}x, CPU {c_py / c_ours:.1f}x")
    if common["n"]:
        print(f"Sources found by both (2\"): {common['n']}; median Total_flux ratio component-list/PyBDSF "
              f"{common['median']:.4f} (robust scatter {common['scatter']:.4f}); "
              f"for S/N > 10 in the truth: {common['median_bright']} (n={common['n_bright']})")
    if common.get("n_points_both"):
        print(f"S/N > 10 points both find (n={common['n_points_both']}): |median measured/true - 1| of "
              f"component-list minus PyBDSF's {common['median_offset_excess']:+.4f} "
              f"(bootstrap 1-sigma {common['median_offset_excess_err']:.4f})")


def cube_with_true_shapes(binary, cube, srl, truth, out):
    """Runs component-list cube on a copy of the source list `srl` in which
    every row matched to a truth source (2") has the true position and the true
    intrinsic size (DC_*; 0 for points). Returns the catalogue and, per truth
    source, its row (-1 if none)."""
    os.makedirs(out, exist_ok=True)
    cat = read_catalog(srl)
    idx = match(truth["ra"], truth["dec"], cat["RA"], cat["DEC"], MATCH_ARCSEC)
    replace = {}
    for k in np.nonzero(idx >= 0)[0]:
        replace[int(idx[k])] = {"RA": truth["ra"][k], "DEC": truth["dec"][k],
                                "DC_Maj": truth["maj"][k] / 3600, "DC_Min": truth["min"][k] / 3600,
                                "DC_PA": truth["pa"][k]}
    names, row = None, 0
    lines = []
    with open(srl) as f:
        for line in f:
            text = line.rstrip("\n")
            if text.startswith("#") or not text.strip():
                if text.startswith("#") and "," in text:
                    names = [n.strip() for n in text[1:].split(",")]
                lines.append(text)
                continue
            cells = [c.strip() for c in text.split(",")]
            for name, value in replace.get(row, {}).items():
                cells[names.index(name)] = repr(float(value))
            lines.append(", ".join(cells))
            row += 1
    copy = os.path.join(out, os.path.basename(srl))
    with open(copy, "w") as f:
        f.write("\n".join(lines) + "\n")
    timed([binary, "cube", "--catalog", copy, "--output-dir", out, cube])
    result = read_catalog(os.path.join(out, os.path.basename(cube).replace(".fits", "") + ".cube.csv"))
    return {"cat": result, "idx": match(truth["ra"], truth["dec"], result["RA"], result["DEC"], MATCH_ARCSEC)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--casa-sim")
    ap.add_argument("--out", default=os.path.join(REPO, "bench-data", "compare"))
    ap.add_argument("--json", default=None, help="write all numbers here as JSON")
    ap.add_argument("--binary", default=None, help="component-list binary (default: cargo build --release)")
    args = ap.parse_args()
    sim = casa_sim_dir(args.casa_sim)
    binary = args.binary or build_component_list()
    truth = load_truth(os.path.join(sim, "truth.csv"))
    everything = {}
    for kind, (sub, name, rms_name) in IMAGES.items():
        image = os.path.join(sim, sub, name)
        ctx = truth_context(truth, image, os.path.join(sim, sub, rms_name))
        extra = ["--tt1", os.path.join(sim, sub, SE_TT1)] if kind == "SE" else []
        w_ours, r_ours, srl_ours, _, c_ours = run_ours(
            binary, image, os.path.join(args.out, kind, "component-list"), extra)
        w_py, r_py, srl_py, _, c_py = run_pybdsf(image, os.path.join(args.out, kind, "pybdsf"))
        cats = {"component-list": read_catalog(srl_ours), "PyBDSF": read_catalog(srl_py)}
        results = {}
        for tool, cat in cats.items():
            results[tool] = evaluate(cat, truth, ctx)
            results[tool]["_tool"] = tool
        timings = {"component-list": (w_ours, r_ours, c_ours), "PyBDSF": (w_py, r_py, c_py)}
        # sources both tools find
        a, b = cats["component-list"], cats["PyBDSF"]
        j = match(a["RA"], a["DEC"], b["RA"], b["DEC"], MATCH_ARCSEC)
        ok = j >= 0
        ratio = np.array(a["Total_flux"])[ok] / np.array(b["Total_flux"])[j[ok]] if ok.any() else np.array([])
        # bright common sources: both matched to the same truth source with S/N > 10
        io, ip = results["component-list"]["_idx"], results["PyBDSF"]["_idx"]
        bright = (io >= 0) & (ip >= 0) & (ctx["snr"] > 10)
        ratio_bright = np.array(a["Total_flux"])[io[bright]] / np.array(b["Total_flux"])[ip[bright]]
        # is the difference of the two medians of measured/true flux (S/N > 10
        # points both find) larger than its sampling error? bootstrap over sources
        pts = bright & (truth["shape"] == "point")
        r_ours = np.array(a["Total_flux"])[io[pts]] / truth["flux"][pts]
        r_py = np.array(b["Total_flux"])[ip[pts]] / truth["flux"][pts]
        excess = float("nan")
        excess_err = float("nan")
        if len(r_ours):
            def median_offset_excess(sel):
                return abs(np.median(r_ours[sel]) - 1) - abs(np.median(r_py[sel]) - 1)
            excess = median_offset_excess(np.arange(len(r_ours)))
            rng = np.random.default_rng(20261201)
            boot = [median_offset_excess(rng.integers(0, len(r_ours), len(r_ours))) for _ in range(2000)]
            excess_err = float(np.percentile(boot, 84) - np.percentile(boot, 16)) / 2
        common = {"n": int(ok.sum()), "median": float(np.median(ratio)) if len(ratio) else np.nan,
                  "n_points_both": int(pts.sum()), "median_offset_excess": excess,
                  "median_offset_excess_err": excess_err,
                  "scatter": float(robust_scatter(ratio)),
                  "median_bright": f"{np.median(ratio_bright):.4f}" if len(ratio_bright) else "-",
                  "n_bright": int(bright.sum())}
        print_table(kind, results, timings, common)
        if kind == "SE" and "Alpha" in a:
            print("\nSE Alpha (tt1/tt0) of component-list vs truth, true S/N > 20:")
            for k in np.nonzero((io >= 0) & (ctx["snr"] > 20))[0]:
                print(f"  #{truth['id'][k]}: Alpha {a['Alpha'][io[k]]:+.3f} ± {a['AlphaErr'][io[k]]:.3f}"
                      f" (true {truth['alpha'][k]:+.3f})")
        for r in results.values():
            r.pop("_idx")
        everything[kind] = {"results": results, "timings": timings, "common": common, "snr": ctx["snr"].tolist()}
        if kind == "SE":
            se_srl, se_ctx, se_idx = srl_ours, ctx, io

    # cube: our SE catalogue measured in the 8-plane cube
    cube = os.path.join(sim, "cube", CUBE)
    out = os.path.join(args.out, "cube")
    wall, rss, _, _ = timed([binary, "cube", "--catalog", se_srl, "--output-dir", out, cube])
    cat = read_catalog(os.path.join(out, os.path.basename(cube).replace(".fits", "") + ".cube.csv"))
    idx = match(truth["ra"], truth["dec"], cat["RA"], cat["DEC"], MATCH_ARCSEC)
    print(f"\n### Cube (component-list cube, {wall:.2f} s, {rss:.0f} MiB): spectral index vs truth, true SE S/N > 20\n")
    print("| id | true flux (mJy) | true alpha | Spec_Indx | E_Spec_Indx | planes | difference | difference / E |")
    print("|---|---|---|---|---|---|---|---|")
    diffs = []
    for k in np.nonzero((idx >= 0) & (se_ctx["snr"] > 20))[0]:
        j = idx[k]
        s, e, n = cat["Spec_Indx"][j], cat["E_Spec_Indx"][j], cat["N_planes_fit"][j]
        if not (isinstance(s, float) and np.isfinite(s)):
            continue  # outside the cube (the cube covers 24 of the 35 truth sources)
        d = s - truth["alpha"][k]
        diffs.append(d)
        print(f"| {truth['id'][k]} | {truth['flux'][k] * 1e3:.1f} | {truth['alpha'][k]:+.3f} | {s:+.3f} | {e:.3f} "
              f"| {int(n)} | {d:+.3f} | {d / e:+.1f} |")
    if diffs:
        print(f"\nmax |difference| {np.max(np.abs(diffs)):.3f} over {len(diffs)} sources (goal 0.1)")
    oracle = cube_with_true_shapes(binary, cube, se_srl, truth, os.path.join(args.out, "cube-true-shapes"))
    print("\nDiagnostic (not a result): the same cube run with each matched component's RA, DEC and"
          " DC_Maj/DC_Min/DC_PA replaced by the truth, to separate the SE catalogue's position and size"
          " errors from what the cube planes themselves allow:\n")
    print("| id | Spec_Indx (SE shapes) | Spec_Indx (true shapes) | E_Spec_Indx | difference to truth |")
    print("|---|---|---|---|---|")
    for k in np.nonzero((idx >= 0) & (se_ctx["snr"] > 20))[0]:
        j = oracle["idx"][k]
        s, e = oracle["cat"]["Spec_Indx"][j], oracle["cat"]["E_Spec_Indx"][j]
        if j < 0 or not (isinstance(s, float) and np.isfinite(s)):
            continue
        print(f"| {truth['id'][k]} | {cat['Spec_Indx'][idx[k]]:+.3f} | {s:+.3f} | {e:.3f} "
              f"| {s - truth['alpha'][k]:+.3f} |")
    everything["cube"] = {"wall_s": wall, "rss_mib": rss, "alpha_differences": diffs}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1, default=float)


if __name__ == "__main__":
    main()
