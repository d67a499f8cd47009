#!/usr/bin/env bash
# Benchmark of vlass-fits plane reading (not a test): every plane of the
# casa-sim images read with vlass_fits::Image::read_plane (example
# `read_planes`) versus astropy (memory-mapped, one plane at a time, the same
# finite count and sum), wall time and peak resident memory side by side.
# Times are the best of RUNS; "reading only" is astropy's own timer around
# its read loop (without Python start-up and imports).
# Prints Markdown for BENCHMARKS.md ("## vlass-fits").
#
# usage: scripts/bench_fits.sh [RUNS]      (needs ../shared/casa-sim)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SIM=../shared/casa-sim
TARGET=${CARGO_TARGET_DIR:-target}
CUBE=$SIM/cube/VLASS3.1.cc.T13t15.J100000+300000.06.1024.v1.I.iter3.image.pbcor.subim.fits
SE=$SIM/se/VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.subim.fits
SEGZ=$SIM/se/VLASS3.1.se.T13t15.J100000+300000.06.2048.v1.I.iter3.image.pbcor.tt0.rms.subim.fits.gz

cargo build -q --release -p vlass-fits --example read_planes
OURS=$TARGET/release/examples/read_planes
python3 scripts/fits_wcs_venv.py  # creates the venv on first use
PY=scripts/.venv-fits-wcs/bin/python
ASTROPY=$(mktemp --suffix=.py)
trap 'rm -f "$ASTROPY"' EXIT
cat >"$ASTROPY" <<'PYEOF'
import sys
import time
import numpy as np
from astropy.io import fits
start = time.perf_counter()
for name in sys.argv[1:]:
    with fits.open(name, memmap=True) as hdul:
        data = hdul[0].data
        planes = data.reshape(-1, *data.shape[-2:])
        finite, total = 0, 0.0
        for plane in planes:
            good = np.isfinite(plane)
            finite += int(good.sum())
            total += float(plane[good].astype(np.float64).sum())
        print(f"{name} {len(planes)} {finite} {total:.4f}")
print(f"{time.perf_counter() - start:.2f}", file=sys.stderr)
PYEOF

# best wall time (s) and its peak RSS (MB) over RUNS runs of a command
measure() {
    local best="" rss=""
    for _ in $(seq "$RUNS"); do
        local out
        out=$( { /usr/bin/time -f "%e %M" "$@" >/dev/null; } 2>&1 | tail -1)
        local t=${out% *} m=${out#* }
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$((m / 1024)); fi
    done
    echo "$best $rss"
}

echo "| input | vlass-fits s | astropy s (whole process) | ratio | astropy s (reading only, no start-up) | vlass-fits peak MB | astropy peak MB |"
echo "|---|---|---|---|---|---|---|"
for f in "$CUBE" "$SE" "$SEGZ"; do
    ours=$("$OURS" "$f"); theirs=$("$PY" "$ASTROPY" "$f" 2>/dev/null)
    # Same counts and sums (to the 4 printed decimals; summation order differs).
    [ "$ours" = "$theirs" ] || { echo "results differ: $ours vs $theirs" >&2; exit 1; }
    read -r t1 m1 <<<"$(measure "$OURS" "$f")"
    read -r t2 m2 <<<"$(measure "$PY" "$ASTROPY" "$f")"
    ratio=$(awk "BEGIN{printf \"%.1f\", $t2 / ($t1 > 0 ? $t1 : 0.001)}")
    inproc=$(for _ in $(seq "$RUNS"); do "$PY" "$ASTROPY" "$f" 2>&1 >/dev/null; done | sort -n | head -1)
    echo "| $(basename "$f") ($(du -h "$f" | cut -f1)) | $t1 | $t2 | ${ratio}x | $inproc | $m1 | $m2 |"
done
