#!/usr/bin/env python3
"""Generate about 1 GB of CASA logs for scripts/bench_casa_judge.sh.

Real records only: the clean logs of testdata/logs (success, false_failure,
missing_product, divergence-free runs) repeated, each file prefixed with the
start-up records, with a few real SEVERE records (flagmanager's, from
testdata/logs/flagmanager_severe) buried at fixed places so the judge and
ripgrep both have something to find. Deterministic: same bytes every run.

usage: bench_casa_judge_gen.py OUT_DIR [TOTAL_MB] [FILES]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LOGS = os.path.join(HERE, "..", "testdata", "logs")
CLEAN = [
    "success/casa-20261125-133037.log",
    "false_failure/casa-20261125-133148.log",
    "missing_product/casa-20261125-133211.log",
    "truncated_product/casa-20261125-133231.log",
]
SEVERE_SOURCE = "flagmanager_severe/casa-20261125-133055.log"


def main():
    out_dir = sys.argv[1]
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    block = b"".join(open(os.path.join(LOGS, p), "rb").read() for p in CLEAN)
    severe = b"".join(
        line
        for line in open(os.path.join(LOGS, SEVERE_SOURCE), "rb").read().splitlines(keepends=True)
        if b"\tSEVERE\t" in line
    )
    os.makedirs(out_dir, exist_ok=True)
    per_file = total_mb * 1024 * 1024 // files
    repeats = max(1, per_file // len(block))
    for i in range(files):
        path = os.path.join(out_dir, "casa-20261125-%06d.log" % i)
        with open(path, "wb") as f:
            for r in range(repeats):
                f.write(block)
                # three SEVERE records buried at 1/3 and 2/3 of every other file
                if i % 2 == 0 and r in (repeats // 3, 2 * repeats // 3):
                    f.write(severe)
    print("wrote %d files of %d bytes each to %s" % (files, repeats * len(block), out_dir))


if __name__ == "__main__":
    main()
