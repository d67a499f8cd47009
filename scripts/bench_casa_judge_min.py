#!/usr/bin/env python3
"""The smallest Python doing casa-judge's core scan: read each log as bytes and
count SEVERE records. Used only to compare start-up time with the static binary
(scripts/bench_casa_judge.sh)."""
import sys

severe = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            if b"\tSEVERE\t" in line:
                severe += 1
print("failure" if severe else "success")
sys.exit(1 if severe else 0)
