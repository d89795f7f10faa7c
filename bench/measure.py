#!/usr/bin/env python3
"""Run a command RUNS times; print the median wall time (s) and median peak RSS (KiB).

usage: measure.py RUNS PREP_SHELL_CMD -- CMD ARGS...   (PREP runs before every run; '' for none)
Wall time comes from perf_counter around fork/exec/wait4, peak RSS from wait4's rusage.
"""
import os, statistics, subprocess, sys, time

runs, prep = int(sys.argv[1]), sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
walls, rss = [], []
for _ in range(runs):
    if prep:
        subprocess.run(prep, shell=True, check=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    walls.append(time.perf_counter() - t0)
    if status != 0:
        sys.stderr.write(f"FAILED ({status}): {' '.join(cmd)}\n{p.stderr.read().decode()[-500:]}\n")
        print("nan nan")
        sys.exit(0)
    rss.append(ru.ru_maxrss)
print(f"{statistics.median(walls):.4f} {int(statistics.median(rss))}")
