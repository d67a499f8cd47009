#!/usr/bin/env bash
# Benchmark of casa-judge (not a test): judging ~1 GB of CASA logs versus
# `rg -c SEVERE` on the same files, and start-up time of the binary versus a
# minimal Python script doing the same scan. Results go to stdout as Markdown
# for BENCHMARKS.md ("## casa-judge").
#
# usage: scripts/bench_casa_judge.sh [TOTAL_MB] [RUNS]
# Needs: cargo, python3; installs ripgrep and hyperfine with apt-get if missing.
# Data: bench-data/casa-judge/ (git-ignored), made by bench_casa_judge_gen.py.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL_MB=${1:-1024}
RUNS=${2:-7}
DATA=bench-data/casa-judge
TARGET=${CARGO_TARGET_DIR:-target}

install_if_missing() { # command package
    if command -v "$1" >/dev/null 2>&1; then
        echo "# $1 already installed: $($1 --version | head -1)"
    else
        echo "# installing $2 with apt-get"
        apt-get install -y "$2" >/dev/null
    fi
}
install_if_missing rg ripgrep
install_if_missing hyperfine hyperfine

cargo build --release -p casa-judge >/dev/null
JUDGE=$TARGET/release/casa-judge

if [ ! -d "$DATA" ] || [ "$(du -sm "$DATA" | cut -f1)" -lt $((TOTAL_MB * 9 / 10)) ]; then
    rm -rf "$DATA"
    python3 scripts/bench_casa_judge_gen.py "$DATA" "$TOTAL_MB" 8
fi
# Old enough to be memory-mapped (casa-judge maps only files unchanged for 10 s).
touch -d '1 hour ago' "$DATA"/*.log
cat "$DATA"/*.log >/dev/null   # warm the page cache for both tools

echo "# data: $(du -sh "$DATA" | cut -f1) in $(ls "$DATA" | wc -l) files; $(nproc) cores"
echo "# casa-judge verdict: $($JUDGE --exit-status 0 "$DATA" | head -1)"
echo "# rg -c SEVERE total: $(rg -c SEVERE "$DATA" | awk -F: '{s+=$2} END {print s}')"

hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json /tmp/bench_casa_judge_scan.json \
    "$JUDGE --exit-status 0 -q $DATA" \
    "$JUDGE --exit-status 0 -q --mmap read $DATA" \
    "rg -c SEVERE $DATA"

SMALL=testdata/logs/success/casa-20261125-133037.log
hyperfine -N --warmup 3 --runs 30 --export-json /tmp/bench_casa_judge_start.json \
    "$JUDGE --exit-status 0 -q $SMALL" \
    "python3 scripts/bench_casa_judge_min.py $SMALL"

python3 - <<'PY'
import json
scan = json.load(open("/tmp/bench_casa_judge_scan.json"))["results"]
start = json.load(open("/tmp/bench_casa_judge_start.json"))["results"]
def cpu(r):
    return r["user"] + r["system"]
print("\n| command | median wall s | min wall s | mean CPU s (user+sys) |\n|---|---|---|---|")
for r in scan + start:
    print("| `%s` | %.3f | %.3f | %.3f |" % (r["command"], r["median"], r["min"], cpu(r)))
judge, judge_read, rg = scan
print("\nratio casa-judge / rg, median wall (mmap): %.2f" % (judge["median"] / rg["median"]))
print("ratio casa-judge / rg, min wall (mmap): %.2f" % (judge["min"] / rg["min"]))
print("ratio casa-judge / rg, CPU time (mmap): %.2f" % (cpu(judge) / cpu(rg)))
print("ratio casa-judge / rg, median wall (--mmap read): %.2f" % (judge_read["median"] / rg["median"]))
print("start-up: python / casa-judge, median wall: %.1f" % (start[1]["median"] / start[0]["median"]))
PY
echo "# load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
