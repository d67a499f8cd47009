#!/usr/bin/env python3
"""Time commands side by side for scripts/bench_casa_judge.sh (not a test).

Each round runs every command once, in turn, so a change in the machine's load
hits all of them alike. For every run the wall time and the CPU time the
command used (user + system, from the kernel's rusage of that child) are
recorded; the table gives the minimum and the median over the rounds, then the
ratio of each command to the last one by minimum CPU time, minimum wall time
and median wall time. The load average is printed before and after.

usage: bench_casa_judge_time.py ROUNDS WARMUP -- CMD1 ;; CMD2 ;; ... ;; PEER
(commands are split on whitespace; ';;' separates them)
"""
import os
import statistics
import subprocess
import sys
import time


def run_once(argv):
    """Wall seconds and CPU seconds (user + system) of one run of argv."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    rounds, warmup = int(sys.argv[1]), int(sys.argv[2])
    rest = " ".join(sys.argv[4:]) if sys.argv[3] == "--" else " ".join(sys.argv[3:])
    commands = [c.split() for c in rest.split(";;")]
    print("# load average before: %s" % load_average())
    for _ in range(warmup):
        for argv in commands:
            run_once(argv)
    walls = [[] for _ in commands]
    cpus = [[] for _ in commands]
    for _ in range(rounds):
        for i, argv in enumerate(commands):
            wall, cpu = run_once(argv)
            walls[i].append(wall)
            cpus[i].append(cpu)
    print("# load average after: %s" % load_average())
    print("# %d rounds, %d warm-up round(s)" % (rounds, warmup))
    print()
    print("| command | min CPU s (user+sys) | median CPU s | min wall s | median wall s |")
    print("|---|---|---|---|---|")
    for argv, w, c in zip(commands, walls, cpus):
        print("| `%s` | %.3f | %.3f | %.3f | %.3f |" % (
            " ".join(argv), min(c), statistics.median(c), min(w), statistics.median(w)))
    print()
    last = len(commands) - 1
    for i in range(last):
        print("ratio of command %d to command %d: %.2fx min CPU, %.2fx min wall, %.2fx median wall"
              % (i + 1, last + 1, min(cpus[i]) / min(cpus[last]),
                 min(walls[i]) / min(walls[last]),
                 statistics.median(walls[i]) / statistics.median(walls[last])))


if __name__ == "__main__":
    main()
