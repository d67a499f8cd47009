#!/usr/bin/env bash
# Benchmark of casa-judge (not a test): judging ~1 GB of CASA logs versus
# `rg -c SEVERE` on the same files, and start-up time of the binary versus a
# minimal Python script doing the same scan. Results go to stdout as Markdown
# for BENCHMARKS.md ("## casa-judge").
#
# usage: scripts/bench_casa_judge.sh [TOTAL_MB] [RUNS]
# Needs: cargo, python3; installs ripgrep with apt-get if missing. Timing by
# bench_casa_judge_time.py: rounds of every command in turn, minimum and median
# of CPU time (user + sys) and wall time, ratios, load average.
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

cargo build --release -p casa-judge >/dev/null
JUDGE=$TARGET/release/casa-judge

if [ ! -d "$DATA" ] || [ "$(du -sm "$DATA" | cut -f1)" -lt $((TOTAL_MB * 9 / 10)) ]; then
    rm -rf "$DATA"
    python3 scripts/bench_casa_judge_gen.py "$DATA" "$TOTAL_MB" 8
fi
# Old enough to be memory-mapped with --mmap auto (only files unchanged for 10 s are).
touch -d '1 hour ago' "$DATA"/*.log
cat "$DATA"/*.log >/dev/null   # warm the page cache for both tools

echo "# data: $(du -sh "$DATA" | cut -f1) in $(ls "$DATA" | wc -l) files; $(nproc) cores"
echo "# casa-judge verdict: $($JUDGE --exit-status 0 "$DATA" | head -1)"
echo "# rg -c SEVERE total: $(rg -c SEVERE "$DATA" | awk -F: '{s+=$2} END {print s}')"

# The scan kernel casa-judge picks on this CPU (avx512, avx2 or portable); the
# AVX2 kernel is timed too (VLASS_CASALOG_SCAN=avx2), for CPUs without AVX-512.
echo "# scan kernels: $(grep -o -w -E 'avx2|avx512bw|avx512vbmi' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# scan of the whole data set: casa-judge (streamed, the default; AVX2 kernel; mapped) vs ripgrep, all cores"
python3 scripts/bench_casa_judge_time.py "$RUNS" 1 -- \
    "$JUDGE" --exit-status 0 -q "$DATA" ";;" \
    env VLASS_CASALOG_SCAN=avx2 "$JUDGE" --exit-status 0 -q "$DATA" ";;" \
    "$JUDGE" --exit-status 0 -q --mmap auto "$DATA" ";;" \
    rg -c SEVERE "$DATA"

echo "# the same on one thread each"
python3 scripts/bench_casa_judge_time.py "$RUNS" 1 -- \
    "$JUDGE" -j1 --exit-status 0 -q "$DATA" ";;" \
    env VLASS_CASALOG_SCAN=avx2 "$JUDGE" -j1 --exit-status 0 -q "$DATA" ";;" \
    "$JUDGE" -j1 --exit-status 0 -q --mmap auto "$DATA" ";;" \
    rg -j1 -c SEVERE "$DATA"

SMALL=testdata/logs/success/casa-20261125-133037.log
echo "# start-up: a minimal Python scan vs casa-judge on one small log"
python3 scripts/bench_casa_judge_time.py 30 3 -- \
    python3 scripts/bench_casa_judge_min.py "$SMALL" ";;" \
    "$JUDGE" --exit-status 0 -q "$SMALL"
