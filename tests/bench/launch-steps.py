#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# launch-steps.py: reads berthd's debug log on stdin and prints, for each step of a launch
# (runtime/executor.c's and the supervisor's "launch (ms after the request)" lines), the p50
# of the time it ends at and of its CPU, queued and asleep times, over every launch logged.
import re, sys

step_re = re.compile(r"^(.*?) \+(-?[0-9.]+)(?: \((?:container's exec: )?cpu (-?[0-9.]+)(?: queued (-?[0-9.]+)(?: asleep (-?[0-9.]+))?)?\))?$")
order, vals = [], {}

def add(proc, text):
    for part in text.split("; "):
        m = step_re.match(part.strip())
        if not m:
            continue
        key = proc + ": " + m.group(1)
        if key not in vals:
            order.append(key)
            vals[key] = ([], [], [], [])
        for i in range(4):
            if m.group(i + 2) is not None:
                vals[key][i].append(float(m.group(i + 2)))

n = 0
for line in sys.stdin:
    m = re.search(r"runtime: task \S+ launch \(ms after the request\): (.*)$", line)
    if m:
        add("berthd", m.group(1)); n += 1; continue
    m = re.search(r"spawn: task \S+ container \S+ launch \(ms after the request\): (.*)$", line)
    if m:
        add("task", m.group(1)); continue
    m = re.search(r"runtime: task \S+ RUNNING \+([0-9.]+) ms after the request", line)
    if m:
        add("berthd", "RUNNING +" + m.group(1))

def p50(v):
    return "%.2f" % sorted(v)[len(v) // 2] if v else ""

print("# launch steps over %d launches (p50, ms): step | ends at | cpu | queued | asleep" % n)
for k in order:
    e, c, q, a = vals[k]
    print("#   %-52s %8s %7s %7s %7s" % (k, p50(e), p50(c), p50(q), p50(a)))
