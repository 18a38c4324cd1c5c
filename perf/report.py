#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""perf/report.py - merge benchmark CSVs, compute ratios, write RESULTS.md,
the gnuplot data files and the gnuplot scripts.

usage: perf/report.py [--results DIR] [--out RESULTS.md] [--status TSV]
                      [--stamp STAMP] [--mode quick|full] [--srcdir DIR]
                      CSV...

Every CSV has the columns benchmark,case,impl,metric,unit,median,min,max,reps
(header lines anywhere are skipped). The rows are merged into
DIR/latest.csv and DIR/results-STAMP.csv. A ratio is tricolor / peer for the
same (benchmark, case, metric); for fin_vs_cleanup a tricolor cleanup case
("...-cleanupN") is compared with the peer's finalizer case ("...-finalizer").
The goals are computed from the rows; a goal without the rows it needs is
reported as "not measured". With no CSV argument, DIR/latest.csv is re-read
(to regenerate RESULTS.md and the plots from the last run).

Python 3 standard library only.
"""
import argparse
import csv
import datetime
import math
import os
import platform
import re
import shutil
import subprocess
import sys

COLUMNS = ["benchmark", "case", "impl", "metric", "unit", "median", "min",
           "max", "reps"]
IMPL_ORDER = ["tricolor", "bdwgc", "bdwgc-m1", "go", "java", "malloc", "redis"]
BENCH_ORDER = ["alloc", "alloc_bench", "gcbench", "msgbuf", "mark",
               "layout", "churn", "finalizers", "fin_vs_cleanup", "kvserver"]
# Program name (perf/run) -> benchmark name(s) used in the CSV.
PROGRAM_BENCH = {"alloc_bench": ["alloc", "alloc_bench"],
                 "layoutbench": ["layout"]}


# ----------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------

class Row:
    __slots__ = COLUMNS

    def __init__(self, rec):
        for k in COLUMNS:
            setattr(self, k, rec[k])

    def key(self):
        return (self.benchmark, self.case, self.impl, self.metric)


def to_float(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    if math.isnan(v):
        return None
    return v


def read_csvs(paths):
    rows = []
    seen = {}
    for p in paths:
        try:
            f = open(p, newline="")
        except OSError as e:
            print("report.py: cannot read %s: %s" % (p, e), file=sys.stderr)
            continue
        with f:
            for rec in csv.reader(f):
                if len(rec) < len(COLUMNS) or rec[0] == "benchmark":
                    continue
                d = dict(zip(COLUMNS, [x.strip() for x in rec[:9]]))
                for k in ("median", "min", "max"):
                    d[k] = to_float(d[k])
                try:
                    d["reps"] = int(float(d["reps"]))
                except ValueError:
                    d["reps"] = 0
                r = Row(d)
                # A later row for the same key replaces an earlier one.
                if r.key() in seen:
                    rows[seen[r.key()]] = r
                else:
                    seen[r.key()] = len(rows)
                    rows.append(r)
    return rows


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.benchmark, r.case, r.impl, r.metric, r.unit,
                        num(r.median), num(r.min), num(r.max), r.reps])
    os.replace(tmp, path)


def num(v):
    if v is None:
        return ""
    return "%.6g" % v


def read_status(path):
    """perf/run's status file: name, status, rc, seconds, log, note."""
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            while len(parts) < 6:
                parts.append("")
            out.append(dict(zip(["name", "status", "rc", "seconds", "log",
                                 "note"], parts)))
    return out


# ----------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------

def higher_is_better(metric, unit):
    m = metric.lower()
    return (unit.endswith("/s") or m.startswith("mmu") or "per_s" in m
            or "throughput" in m or m.endswith("_rate") or m == "speedup"
            or m.startswith("ops") or m.startswith("rps"))


def to_ns(v, unit):
    f = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit)
    return None if f is None or v is None else v * f


def fmt_time_ns(ns):
    a = abs(ns)
    if a >= 1e9:
        return "%.3g s" % (ns / 1e9)
    if a >= 1e6:
        return "%.3g ms" % (ns / 1e6)
    if a >= 1e3:
        return "%.3g us" % (ns / 1e3)
    return "%.3g ns" % ns


def fmt_bytes(b):
    a = abs(b)
    for unit, f in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if a >= f:
            return "%.3g %s" % (b / f, unit)
    return "%.0f B" % b


def fmt_si(v):
    a = abs(v)
    if a >= 1e9:
        return "%.3gG" % (v / 1e9)
    if a >= 1e6:
        return "%.3gM" % (v / 1e6)
    if a >= 1e4:
        return "%.3gk" % (v / 1e3)
    if a >= 100 or a == int(a):
        return "%.0f" % v
    if a == int(a):
        return "%d" % v
    return "%.3g" % v


def fmt(v, unit):
    if v is None:
        return "-"
    ns = to_ns(v, unit)
    if ns is not None:
        return fmt_time_ns(ns)
    if unit in ("bytes", "B"):
        return fmt_bytes(v)
    if unit == "KiB":
        return fmt_bytes(v * 1024)
    if unit == "MiB":
        return fmt_bytes(v * 2 ** 20)
    if unit == "GiB":
        return fmt_bytes(v * 2 ** 30)
    if unit == "fraction":
        return "%.1f%%" % (v * 100)
    if unit.endswith("/s"):
        return "%s %s" % (fmt_si(v), unit)
    return "%s %s" % (fmt_si(v), unit) if unit else fmt_si(v)


def fmt_ratio(x):
    if x is None:
        return "-"
    if x >= 100 or x < 0.01:
        return "%.3gx" % x
    return "%.2fx" % x


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r)
                   + " |")
    return "\n".join(out)


def case_sort_key(case):
    # Natural sort: "64B-2t" < "1024B-1t" by the numbers inside.
    parts = re.split(r"(\d+(?:\.\d+)?)", case)
    return [(0, float(p)) if re.fullmatch(r"\d+(?:\.\d+)?", p) else (1, p)
            for p in parts]


def impl_sort_key(impl):
    return (IMPL_ORDER.index(impl) if impl in IMPL_ORDER else len(IMPL_ORDER),
            impl)


# ----------------------------------------------------------------------
# Ratios
# ----------------------------------------------------------------------

class Data:
    def __init__(self, rows):
        self.rows = rows
        self.by_key = {r.key(): r for r in rows}

    def get(self, bench, case, impl, metric):
        return self.by_key.get((bench, case, impl, metric))

    def value(self, bench, case, impl, metric):
        r = self.get(bench, case, impl, metric)
        return None if r is None else r.median

    def benchmarks(self):
        names = []
        for r in self.rows:
            if r.benchmark not in names:
                names.append(r.benchmark)
        return sorted(names, key=lambda b: (BENCH_ORDER.index(b)
                                            if b in BENCH_ORDER else 99, b))

    def rows_of(self, bench):
        return [r for r in self.rows if r.benchmark == bench]

    def peer_row(self, r, peer):
        """The peer's row to compare tricolor row r with."""
        p = self.get(r.benchmark, r.case, peer, r.metric)
        if p is None and r.benchmark == "fin_vs_cleanup":
            m = re.match(r"(.*)-cleanup\d+(?:\+cnt)?$", r.case)
            if m:
                p = self.get(r.benchmark, m.group(1) + "-finalizer", peer,
                             r.metric)
        return p


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ----------------------------------------------------------------------
# Goals
# ----------------------------------------------------------------------

MET, NOT_MET, NOT_MEASURED = "met", "NOT met", "not measured"


def goal_alloc(d):
    rows = [r for r in d.rows
            if r.benchmark in ("alloc", "alloc_bench") and r.impl == "tricolor"
            and r.metric in ("alloc_time", "ns_per_op", "ns/op")
            and re.match(r"64B(-|$)", r.case)]
    details, oks = [], []
    for r in rows:
        p = d.peer_row(r, "bdwgc")
        if p is None or r.median is None or p.median is None:
            continue
        x = ratio(r.median, p.median)
        oks.append(x <= 0.5)
        details.append("%s: tricolor %s vs bdwgc %s = %s" % (
            r.case, fmt(r.median, r.unit), fmt(p.median, p.unit),
            fmt_ratio(x)))
    if not oks:
        return NOT_MEASURED, "no 64 B allocation rows for both tricolor and bdwgc"
    return (MET if all(oks) else NOT_MET), "; ".join(details)


def goal_gcbench(d):
    rows = [r for r in d.rows if r.benchmark == "gcbench"
            and r.impl == "tricolor" and r.metric == "time"]
    details, oks, missing = [], [], set()
    for r in sorted(rows, key=lambda r: case_sort_key(r.case)):
        for peer in ("bdwgc", "go"):
            p = d.peer_row(r, peer)
            if p is None or p.median is None or r.median is None:
                missing.add(peer)
                continue
            x = ratio(r.median, p.median)
            oks.append(x <= 1.0)
            details.append("%s vs %s: %s vs %s = %s" % (
                r.case, peer, fmt(r.median, r.unit), fmt(p.median, p.unit),
                fmt_ratio(x)))
    if not oks:
        return NOT_MEASURED, "no GCBench time rows for tricolor and a peer"
    note = "; ".join(details)
    if missing:
        note += " (not measured against: %s)" % ", ".join(sorted(missing))
    return (MET if all(oks) else NOT_MET), note


SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(GiB|GB|G|g|MiB|MB|M|m)(?![a-z])")


def case_heap_bytes(case):
    """Live heap implied by a case name: msgbuf's "w<window>-<size>B"
    (window x message size), else the largest size mentioned in it (e.g.
    live1GiB-2t, 1024MiB-w2)."""
    m = re.match(r"w(\d+)-(\d+)B", case)
    if m:
        return float(m.group(1)) * float(m.group(2))
    best = None
    for m in SIZE_RE.finditer(case):
        v = float(m.group(1))
        v *= 2 ** 30 if m.group(2)[0] in "Gg" else 2 ** 20
        best = v if best is None else max(best, v)
    return best


def goal_pause(d):
    cand = []
    for r in d.rows:
        if r.impl != "tricolor" or r.metric not in ("pause_max", "max_pause"):
            continue
        live = None
        lr = (d.get(r.benchmark, r.case, r.impl, "live_heap")
              or d.get(r.benchmark, r.case, r.impl, "heap_live"))
        if lr is not None and lr.median is not None:
            f = {"bytes": 1, "B": 1, "KiB": 2 ** 10, "MiB": 2 ** 20,
                 "GiB": 2 ** 30}.get(lr.unit)
            live = lr.median * f if f else None
        if live is None:
            live = case_heap_bytes(r.case)
        if live is not None and live >= 0.95 * 2 ** 30:
            cand.append(r)
    if not cand:
        return NOT_MEASURED, ("no tricolor run with a live heap of 1 GiB or "
                              "more in these results")
    worst = max(cand, key=lambda r: to_ns(r.median, r.unit) or 0)
    ns = to_ns(worst.median, worst.unit)
    if ns is None:
        return NOT_MEASURED, "pause unit %s not understood" % worst.unit
    return (MET if ns < 100e3 else NOT_MET), (
        "longest: %s in %s %s (%d run(s) with >= 1 GiB live)" % (
            fmt_time_ns(ns), worst.benchmark, worst.case, len(cand)))


def goal_mmu(d):
    """Judged on the latency benchmark (msgbuf) when it ran; the other
    benchmarks' worst MMU (e.g. churn with more threads than CPUs) is
    listed for information."""
    rows = [r for r in d.rows if r.impl == "tricolor"
            and r.metric == "mmu_10ms" and r.median is not None]
    if not rows:
        return NOT_MEASURED, "no tricolor mmu_10ms rows"
    judged = [r for r in rows if r.benchmark == "msgbuf"] or rows
    others = [r for r in rows if r not in judged]
    worst = min(judged, key=lambda r: r.median)
    note = "worst: %.1f%% in %s %s (%d run(s))" % (
        worst.median * 100, worst.benchmark, worst.case, len(judged))
    if others:
        w2 = min(others, key=lambda r: r.median)
        note += "; for information, other benchmarks' worst: %.1f%% in %s %s" % (
            w2.median * 100, w2.benchmark, w2.case)
    return (MET if worst.median >= 0.70 else NOT_MET), note


def goal_mark(d):
    """markbench: tricolor mark throughput vs a pointer-chasing baseline.
    Accepts either a ratio row (metric mark_vs_chase / chase_ratio) or two
    throughput rows, one with "chase" in the metric or impl name."""
    rows = [r for r in d.rows if r.benchmark in ("mark", "markbench")]
    if not rows:
        return NOT_MEASURED, "no markbench rows"
    details, oks = [], []
    # perf/markbench: tricolor mark_rate_per_worker vs the single-threaded
    # traversal of the same graph (impl malloc), same case.
    for r in sorted(rows, key=lambda r: case_sort_key(r.case)):
        if r.impl != "tricolor" or r.metric != "mark_rate_per_worker":
            continue
        ref = d.get(r.benchmark, r.case, "malloc", r.metric)
        if ref is None or not r.median or ref.median is None:
            continue
        x = ref.median / r.median
        oks.append(x <= 2.0)
        details.append("%s: chase %s, tricolor %s per worker: %.2fx slower"
                       % (r.case, fmt(ref.median, ref.unit),
                          fmt(r.median, r.unit), x))
    if oks:
        return (MET if all(oks) else NOT_MET), "; ".join(details)
    for r in rows:
        if r.impl == "tricolor" and r.metric in ("mark_vs_chase",
                                                 "chase_ratio",
                                                 "slowdown_vs_chase"):
            x = r.median
            oks.append(x is not None and x <= 2.0)
            details.append("%s: %s" % (r.case, fmt_ratio(x)))
    if not oks:
        # Pair rows: tricolor mark_* vs the chase baseline of the same case.
        for r in rows:
            if r.impl != "tricolor" or "chase" in r.metric or \
                    not r.metric.startswith("mark"):
                continue
            base = None
            for b in rows:
                if b.case == r.case and b.unit == r.unit and \
                        ("chase" in b.metric or "chase" in b.impl):
                    base = b
                    break
            if base is None or base.median in (None, 0) or r.median is None:
                continue
            if higher_is_better(r.metric, r.unit):
                x = base.median / r.median if r.median else None
            else:
                x = r.median / base.median
            if x is None:
                continue
            oks.append(x <= 2.0)
            details.append("%s %s vs %s: %.2fx slower" % (
                r.case, r.metric, base.metric, x))
    if not oks:
        return NOT_MEASURED, "no mark-vs-pointer-chasing rows found"
    return (MET if all(oks) else NOT_MET), "; ".join(details)


def goal_finalizers(d):
    rows = [r for r in d.rows if r.benchmark == "finalizers"
            and r.impl == "tricolor" and r.metric == "ns_per_finalizer"]
    details, oks = [], []
    for r in sorted(rows, key=lambda r: case_sort_key(r.case)):
        p = d.peer_row(r, "bdwgc")
        if p is None or p.median is None or r.median is None:
            continue
        x = ratio(r.median, p.median)
        oks.append(x <= 1.0)
        details.append("%s: %s vs %s = %s" % (
            r.case, fmt(r.median, r.unit), fmt(p.median, p.unit),
            fmt_ratio(x)))
    if not oks:
        return NOT_MEASURED, "no finalizers rows for both tricolor and bdwgc"
    return (MET if all(oks) else NOT_MET), "; ".join(details)



# Goals of issues 12 (latency) and 13 (throughput), judged on this run's
# rows only. Each returns (verdict, details).

def _judge(checks, what):
    """checks: list of (ok, text); ok None = that part is not measured."""
    measured = [(ok, t) for ok, t in checks if ok is not None]
    if not measured:
        return NOT_MEASURED, "no rows for %s in these results" % what
    note = "; ".join(t + ("" if ok else " **(miss)**") for ok, t in measured)
    missing = [t for ok, t in checks if ok is None]
    if missing:
        note += "; not measured: " + ", ".join(missing)
    return (MET if all(ok for ok, _ in measured) else NOT_MET), note


def _msgbuf_cases(d, threads, big=False):
    out = []
    for r in d.rows:
        if r.benchmark != "msgbuf" or r.impl != "tricolor" or \
                r.metric != "push_max":
            continue
        m = re.match(r"w(\d+)-(\d+)B-(\d+)t$", r.case)
        if not m or int(m.group(3)) != threads:
            continue
        live = float(m.group(1)) * float(m.group(2))
        if (live >= 0.95 * 2 ** 30) == big:
            out.append(r.case)
    return sorted(set(out))


def goal_msgbuf_1t(d):
    checks = []
    for c in _msgbuf_cases(d, 1):
        mx = d.value("msgbuf", c, "tricolor", "push_max")
        p = d.value("msgbuf", c, "tricolor", "push_p99.9")
        n = d.value("msgbuf", c, "tricolor", "pushes_over_100us")
        j = d.value("msgbuf", c, "java", "pushes_over_100us")
        checks.append((mx < 1000, "%s longest push %s (< 1 ms)" % (c, fmt(mx, "us"))))
        if p is not None:
            checks.append((p < 20, "p99.9 %s (< 20 us)" % fmt(p, "us")))
        if n is not None and j is not None:
            checks.append((n < j, "pushes > 100 us: %d vs ZGC %d" % (n, j)))
        else:
            checks.append((None, "pushes > 100 us against Java ZGC"))
    return _judge(checks, "msgbuf at 1 thread")


def goal_msgbuf_mt(d):
    checks = []
    for t, f in ((2, lambda m: m + 10), (4, lambda m: 1.5 * m)):
        for c in _msgbuf_cases(d, t):
            n = d.value("msgbuf", c, "tricolor", "pushes_over_1ms")
            m = d.value("msgbuf", c, "malloc", "pushes_over_1ms")
            if n is None or m is None:
                checks.append((None, c))
                continue
            checks.append((n <= f(m), "%s pushes > 1 ms: %d vs malloc %d (<= %s)"
                           % (c, n, m, "malloc + 10" if t == 2 else "1.5x malloc")))
    return _judge(checks, "msgbuf at 2 and 4 threads with the malloc floor")


def goal_msgbuf_1gib(d):
    checks = []
    for c in _msgbuf_cases(d, 1, big=True):
        mx = d.value("msgbuf", c, "tricolor", "push_max")
        checks.append((mx < 1000, "%s longest observed push %s (< 1 ms)" % (c, fmt(mx, "us"))))
    return _judge(checks, "msgbuf with 1 GiB live (full run only)")


def goal_msgbuf_run(d):
    checks = []
    for c in _msgbuf_cases(d, 1):
        t = d.value("msgbuf", c, "tricolor", "run_time")
        m = d.value("msgbuf", c, "malloc", "run_time")
        if t is None or m is None:
            continue
        checks.append((t <= 1.5 * m, "%s whole run %s vs malloc %s = %s (<= 1.5x)"
                       % (c, fmt(t, "ms"), fmt(m, "ms"), fmt_ratio(t / m))))
    return _judge(checks, "msgbuf run time with the malloc floor")


def goal_gcbench_std(d):
    checks = []
    for c in ("1t", "2t"):
        for metric, lim in (("time", 0.8), ("cpu", 1.0)):
            t = d.value("gcbench", c, "tricolor", metric)
            b = d.value("gcbench", c, "bdwgc", metric)
            if t is None or b is None:
                continue
            checks.append((t <= lim * b, "%s %s %s vs bdwgc %s = %s (<= %.1fx)"
                           % (c, "wall" if metric == "time" else "CPU",
                              fmt(t, "ms"), fmt(b, "ms"), fmt_ratio(t / b), lim)))
    return _judge(checks, "GCBench (standard form) against bdwgc")


def goal_mark_bdwgc(d):
    checks = []
    cases = sorted({r.case for r in d.rows if r.benchmark == "mark"
                    and re.match(r"tree\d+-\dm$", r.case)})
    for c in cases:
        t = d.value("mark", c, "tricolor", "mark_rate_per_marker")
        b = d.value("mark", c, "bdwgc", "mark_rate_per_marker")
        if t is None or b is None:
            continue
        checks.append((t >= b, "%s per marker %s vs bdwgc %s" % (
            c, fmt(t, "MiB/s"), fmt(b, "MiB/s"))))
    c1 = [c for c in cases if c.endswith("-1m")]
    for c in c1:
        c2 = c[:-3] + "-2m"
        a = d.value("mark", c, "tricolor", "mark_rate")
        b = d.value("mark", c2, "tricolor", "mark_rate")
        if a and b:
            checks.append((b >= 1.6 * a, "second worker: x%.2f (>= 1.6)" % (b / a)))
    return _judge(checks, "markbench tree cases with bdwgc")


def goal_alloc_cpu(d):
    checks = []
    for size in (16, 64, 256):
        for t in (1, 2):
            c = "%dB-%dt" % (size, t)
            a = d.value("alloc", c, "tricolor", "cpu_per_alloc")
            b = d.value("alloc", c, "bdwgc", "cpu_per_alloc")
            if a is None or b is None:
                continue
            checks.append((a <= 0.5 * b, "%s %s vs bdwgc %s = %s" % (
                c, fmt(a, "ns"), fmt(b, "ns"), fmt_ratio(a / b))))
    return _judge(checks, "alloc_bench CPU per object with bdwgc")


def goal_fin_e2e(d):
    checks = []
    for r in d.rows:
        if r.benchmark != "finalizers" or r.impl != "tricolor" or \
                r.metric != "end_to_end_per_s" or not r.case.startswith("noop"):
            continue
        for peer in ("bdwgc", "go"):
            p = d.value("finalizers", r.case, peer, "end_to_end_per_s")
            if p is None:
                checks.append((None, "end to end against " + peer))
                continue
            checks.append((r.median >= p, "%s end to end %s vs %s %s" % (
                r.case, fmt(r.median, "1/s"), peer, fmt(p, "1/s"))))
        s_ = d.value("finalizers", r.case, "tricolor", "set_finalizer")
        if s_ is not None:
            checks.append((s_ <= 150, "allocation + registration %.0f ns/object (<= 150)" % s_))
    return _judge(checks, "finalizers noop end to end")


def goal_kvserver(d):
    checks = []
    for r in d.rows:
        if r.benchmark != "kvserver" or r.impl != "tricolor" or \
                "-r1000000-d100" not in r.case or \
                r.metric not in ("latency_p99", "latency_max"):
            continue
        p = d.value("kvserver", r.case, "redis", r.metric)
        if p is None:
            continue
        lim = 1.0 if r.metric == "latency_p99" else 2.0
        checks.append((r.median <= lim * p, "%s %s %s vs redis %s (<= %gx)" % (
            r.case.split("-")[0].upper(), r.metric.replace("latency_", ""),
            fmt(r.median, "ms"), fmt(p, "ms"), lim)))
    return _judge(checks, "kvserver -r 1000000 case with redis")


GOALS = [
    ("msgbuf 1 thread: longest push < 1 ms, p99.9 < 20 us, fewer pushes > 100 us than ZGC", goal_msgbuf_1t),
    ("msgbuf 2/4 threads: pushes > 1 ms within malloc + 10 / 1.5x malloc", goal_msgbuf_mt),
    ("msgbuf 1 GiB live: longest observed push < 1 ms", goal_msgbuf_1gib),
    ("msgbuf whole run <= 1.5x the malloc/free floor", goal_msgbuf_run),
    ("kvserver (-c 50 -P 16 -r 1000000 -d 100): p99 <= redis, max <= 2x redis", goal_kvserver),
    ("GCBench (standard form): wall <= 0.8x and CPU <= 1.0x bdwgc", goal_gcbench_std),
    ("Mark: >= bdwgc per marker; 2nd worker adds >= 60%", goal_mark_bdwgc),
    ("Allocation CPU per object <= 0.5x bdwgc (16/64/256 B, 1 and 2 threads)", goal_alloc_cpu),
    ("1M finalizers: end to end >= bdwgc and Go; registration <= 150 ns", goal_fin_e2e),
    ("Allocation at 64 B: <= 0.5x bdwgc ns/op (wall)", goal_alloc),
    ("GCBench: no slower than bdwgc or Go (wall)", goal_gcbench),
    ("Longest recorded pause < 100 us at a 1 GiB live heap", goal_pause),
    ("MMU at 10 ms >= 70%", goal_mmu),
    ("Mark throughput within 2x of pointer chasing", goal_mark),
    ("Finalizers no slower than bdwgc per finalizer", goal_finalizers),
]


# ----------------------------------------------------------------------
# Wins and losses: a short, honest summary of this run
# ----------------------------------------------------------------------

# The figures a person compares, per benchmark: (metric, peers).
HEADLINE = {
    "msgbuf": (["push_max", "push_p99.9", "push_p99.99", "pushes_over_1ms",
                "pushes_over_100us", "run_time", "cpu", "peak_rss"],
               ["malloc", "bdwgc", "go", "java"]),
    "gcbench": (["time", "cpu", "peak_rss"], ["bdwgc", "bdwgc-m1", "go", "malloc"]),
    "mark": (["mark_rate_per_marker"], ["bdwgc"]),
    "layout": (["mark_rate", "collect_cpu"], ["bdwgc"]),
    "alloc": (["cpu_per_alloc", "alloc_time"], ["bdwgc", "malloc"]),
    "finalizers": (["end_to_end_per_s", "set_finalizer", "ns_per_finalizer",
                    "latency_p99", "peak_rss"], ["bdwgc", "go"]),
    "fin_vs_cleanup": (["handlers_per_s", "latency_p50", "latency_p99",
                        "pause_max", "peak_rss", "peak_open_fds",
                        "peak_unreleased"], ["bdwgc"]),
    "kvserver": (["throughput", "latency_p99", "latency_max"], ["redis"]),
}


def wins_losses(d, threshold=1.10, top=10):
    """(wins, losses): lists of text lines, the largest factors first.
    A win is a figure where tricolor is better than a peer by at least
    `threshold` (better = lower, or higher for metrics marked up)."""
    wins, losses = [], []
    for r in d.rows:
        spec = HEADLINE.get(r.benchmark)
        if not spec or r.impl != "tricolor" or r.metric not in spec[0] \
                or r.median is None:
            continue
        for peer in spec[1]:
            p = d.peer_row(r, peer)
            if p is None or p.median is None:
                continue
            a, b = r.median, p.median
            if a <= 0 or b <= 0:
                if a == b:
                    continue
                # one side is zero (e.g. no pushes over 1 ms)
                better = (a > b) if higher_is_better(r.metric, r.unit) else (a < b)
                factor = float("inf")
            else:
                x = a / b
                if higher_is_better(r.metric, r.unit):
                    x = 1 / x
                better = x < 1
                factor = 1 / x if better else x
            if factor < threshold:
                continue
            text = "%s %s %s: tricolor %s vs %s %s (%s)" % (
                r.benchmark, r.case, r.metric, fmt(a, r.unit), peer,
                fmt(b, p.unit),
                ("%.1fx %s" % (factor, "better" if better else "worse"))
                if factor != float("inf") else "better" if better else "worse")
            (wins if better else losses).append(
                (factor, (r.benchmark, r.metric), text))

    def pick(lst):
        # the largest factor of each (benchmark, metric), so one
        # benchmark's many cases do not fill the list
        lst.sort(key=lambda t: -t[0])
        seen, out = set(), []
        for f, k, t in lst:
            if k not in seen:
                seen.add(k)
                out.append(t)
        return out[:top]
    return pick(wins), pick(losses), len(wins), len(losses)


def counted_lines(d):
    """fin_vs_cleanup's counted configuration (cleanupN+cnt: the program
    counts its resources with a tri_resource) against bdwgc, per case:
    the losses above are mostly the uncounted configurations."""
    out = []
    for r in d.rows_of("fin_vs_cleanup"):
        if r.impl != "tricolor" or not r.case.endswith("+cnt") or \
                r.metric != "peak_unreleased" or r.median is None:
            continue
        base = r.case.rsplit("-", 1)[0] + "-finalizer"
        parts = []
        for m in ("peak_unreleased", "latency_p50", "peak_rss", "handlers_per_s"):
            a = d.value("fin_vs_cleanup", r.case, "tricolor", m)
            b = d.value("fin_vs_cleanup", base, "bdwgc", m)
            if a is None or b is None:
                continue
            unit = next((x.unit for x in d.rows_of("fin_vs_cleanup")
                         if x.metric == m), "")
            parts.append("%s %s vs %s" % (m, fmt(a, unit), fmt(b, unit)))
        if parts:
            out.append("  = %s: %s" % (r.case, "; ".join(parts)))
    return out


def summary_text(d):
    wins, losses, nw, nl = wins_losses(d)
    L = ["Where tricolor wins (%d figures at least 10%% better than a peer; "
         "the largest of each benchmark and metric shown):" % nw]
    L += ["  + " + t for t in wins] or ["  (none)"]
    L.append("Where tricolor loses (%d figures at least 10%% worse than a "
             "peer; the largest of each benchmark and metric shown):" % nl)
    L += ["  - " + t for t in losses] or ["  (none)"]
    cl = counted_lines(d)
    if cl:
        L.append("With the resources counted (tri_resource, soft limit 1024), "
                 "tricolor vs bdwgc; the losses above are mostly the "
                 "uncounted runs (docs/perf.md, \"Where tricolor loses\"):")
        L += cl
    return "\n".join(L) + "\n"


# ----------------------------------------------------------------------
# RESULTS.md
# ----------------------------------------------------------------------

def sh(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info(srcdir):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = fmt_bytes(int(line.split()[1]) * 1024)
                    break
    except OSError:
        pass
    commit = sh(["git", "rev-parse", "--short", "HEAD"], srcdir) or \
        "none (no commit yet)"
    if commit and not commit.startswith("none") and \
            sh(["git", "status", "--porcelain", "--untracked-files=no"],
               srcdir):
        commit += " (with uncommitted changes)"
    return [
        ("CPUs (nproc)", str(os.cpu_count())),
        ("Memory", mem),
        ("CPU model", cpu),
        ("Kernel", "%s %s" % (platform.system(), platform.release())),
        ("git commit", commit),
        ("C compiler", sh(["cc", "--version"]).split("\n")[0] or "unknown"),
    ]


BENCH_TEXT = {
    "alloc": "Allocation cost per object by size and thread count "
             "(ns/alloc, lower is better): alloc_time is wall time per "
             "allocation of one thread, cpu_per_alloc the process's "
             "user+sys CPU divided by all objects allocated.",
    "gcbench": "Boehm's GCBench in its standard form (24-byte nodes, "
               "stretch 18, long-lived 16): wall time and user+sys CPU "
               "time (ms) per implementation and thread count; bdwgc is "
               "Debian's default build (all interior pointers, one marker "
               "per core), bdwgc-m1 the same with GC_MARKERS=1. Cases "
               "node32-Nt (if present) are the older 32-byte variant, not "
               "the standard form.",
    "msgbuf": "Message buffer (GC latency): a sliding window of live "
              "messages; push latency observed by the mutator (clock_gettime "
              "around alloc + memset + store), pushes over 100 us / 1 ms, "
              "whole-run wall and CPU time, recorded-vs-observed "
              "(recorded_pause_max against push_max; slow_explained: "
              "pushes over 100 us that overlap a recorded pause), pause "
              "distribution and MMU. Case w<window>-<size>B-<T>t: the live "
              "heap is window x size, split across T threads. malloc is "
              "the no-GC floor; java is ZGC.",
    "mark": "Mark throughput (markbench). tree<D>-<N>m: full collections "
            "of a live binary tree of 24-byte nodes, tricolor with N mark "
            "workers against bdwgc with N markers (GC_gcollect; MiB/s = "
            "nodes x 24 B / mark time, per marker = / N). <M>MiB-w<N>: the "
            "random 64-byte-node graph against a single-threaded "
            "pointer-chasing traversal of the same graph (impl malloc).",
    "layout": "Precise object layouts (layoutbench): full collections of "
              "a live binary tree of 96-byte nodes (2 pointers, 2 integers, "
              "a 64-byte payload of random words). cons-<N>m: tri_alloc "
              "and GC_malloc (every word scanned); typed-<N>m: "
              "tri_alloc_typed and GC_malloc_explicitly_typed (only the 2 "
              "pointer words). 1m: tricolor mark_workers=1, bdwgc "
              "GC_MARKERS=1; 2m: tricolor 2 workers, bdwgc default. "
              "MiB/s = nodes x 96 B / mark time; collect_cpu is the "
              "process's user+sys CPU per collection.",
    "churn": "Many threads allocating: handshake cost, pauses and MMU "
             "against the number of threads.",
    "finalizers": "Finalizer throughput and queued-to-run latency: N objects "
                  "dropped at once, one collection, all finalizers run "
                  "(tri_set_finalizer vs GC_register_finalizer vs Go's "
                  "runtime.SetFinalizer; Go's time.Sleep(100us) lasts about "
                  "1 ms, which dominates its block100us figures).",
    "fin_vs_cleanup": "Releasing real resources (pipe descriptors or 4 KiB "
                      "buffers) owned by garbage: tricolor finalizers vs "
                      "tricolor cleanups with a pool of N workers vs bdwgc "
                      "finalizers, while threads allocate.",
    "kvserver": "tricolor-kvserver against redis-server (redis-benchmark).",
}


def bench_table(d, bench):
    rows = [r for r in d.rows_of(bench) if r.metric != "failed"]
    impls = sorted({r.impl for r in rows}, key=impl_sort_key)
    peers = [i for i in impls if i != "tricolor"]
    header = ["case", "metric"] + impls + \
        ["tricolor/%s" % p for p in peers if "tricolor" in impls]
    groups = {}
    for r in rows:
        groups.setdefault((r.case, r.metric), {})[r.impl] = r
    out = []
    for (case, metric) in sorted(groups, key=lambda k: (case_sort_key(k[0]),
                                                        k[1])):
        g = groups[(case, metric)]
        any_row = next(iter(g.values()))
        label = metric + (" ↑" if higher_is_better(metric, any_row.unit)
                          else "")
        line = [case, label]
        for i in impls:
            r = g.get(i)
            line.append(fmt(r.median, r.unit) if r else "")
        t = g.get("tricolor")
        if "tricolor" in impls:
            for p in peers:
                pr = d.peer_row(t, p) if t else None
                line.append(fmt_ratio(ratio(t.median, pr.median))
                            if t and pr else "")
        out.append(line)
    return md_table(header, out)


FVC_COLS = [("handlers_per_s", "handlers/s"), ("latency_p50", "latency p50"),
            ("latency_p99", "latency p99"), ("peak_queue", "peak queue"),
            ("peak_unreleased", "peak unreleased"),
            ("peak_open_fds", "peak open fds"), ("peak_rss", "peak RSS"),
            ("gc_cycles", "GC cycles"), ("emfile_waits", "EMFILE waits"),
            ("pause_max", "longest pause")]


def parse_fvc_case(case):
    # cleanupN+cnt: N workers, the resource counted by a tri_resource
    m = re.match(r"(\w+)-(\w+)-(\d+)t-(finalizer|cleanup(\d+)(?:\+cnt)?)$", case)
    if not m:
        return None
    return {"resource": m.group(1), "cost": m.group(2),
            "threads": int(m.group(3)), "mech": m.group(4),
            "pool": int(m.group(5)) if m.group(5) else 0}


COST_ORDER = ["cost0", "cpu10us", "block100us"]


def fvc_groups(d):
    """{(resource, cost, threads): [(label, impl, case), ...]}"""
    groups = {}
    for r in d.rows_of("fin_vs_cleanup"):
        c = parse_fvc_case(r.case)
        if not c:
            continue
        k = (c["resource"], c["cost"], c["threads"])
        item = (c["mech"], r.impl, r.case, c["pool"])
        lst = groups.setdefault(k, [])
        if item not in lst:
            lst.append(item)
    for lst in groups.values():
        lst.sort(key=lambda it: (impl_sort_key(it[1]),
                                 0 if it[0] == "finalizer" else 1, it[3]))
    return groups


def fvc_summary(d):
    """One computed line per (resource, cost): the best cleanup pool
    against the tricolor finalizer and bdwgc's finalizer."""
    lines = []
    groups = fvc_groups(d)
    for k in sorted(groups, key=lambda k: (k[0], COST_ORDER.index(k[1])
                                           if k[1] in COST_ORDER else 9,
                                           k[2])):
        B = "fin_vs_cleanup"
        base = "%s-%s-%dt-" % k
        best, best_rate = None, None
        for (mech, impl, case, pool) in groups[k]:
            if impl != "tricolor" or not mech.startswith("cleanup"):
                continue
            v = d.value(B, case, impl, "handlers_per_s")
            if v is not None and (best_rate is None or v > best_rate):
                best, best_rate = (mech, case), v
        fin = d.value(B, base + "finalizer", "tricolor", "handlers_per_s")
        bdw = d.value(B, base + "finalizer", "bdwgc", "handlers_per_s")
        if best is None:
            continue
        p99 = d.value(B, best[1], "tricolor", "latency_p99")
        fin99 = d.value(B, base + "finalizer", "tricolor", "latency_p99")
        parts = ["%s, %s handler: best cleanup pool %s releases %s/s" % (
            k[0], k[1], best[0], fmt_si(best_rate))]
        if fin:
            parts.append("%s the tricolor finalizer (%s/s)" % (
                fmt_ratio(best_rate / fin), fmt_si(fin)))
        if bdw:
            parts.append("%s bdwgc's finalizer (%s/s)" % (
                fmt_ratio(best_rate / bdw), fmt_si(bdw)))
        line = "; ".join(parts)
        if p99 is not None and fin99 is not None:
            line += "; release latency p99 %s vs %s with the finalizer" % (
                fmt_time_ns(p99), fmt_time_ns(fin99))
        lines.append("- " + line + ".")
    return "\n".join(lines)


def fvc_tables(d):
    out = []
    groups = fvc_groups(d)
    for k in sorted(groups, key=lambda k: (k[0], COST_ORDER.index(k[1])
                                           if k[1] in COST_ORDER else 9,
                                           k[2])):
        resource, cost, threads = k
        cols = [c for c in FVC_COLS
                if any(d.get("fin_vs_cleanup", case, impl, c[0])
                       for (_, impl, case, _) in groups[k])]
        header = ["mechanism", "impl"] + [c[1] for c in cols] + \
            ["handlers/s vs bdwgc"]
        peer_rate = d.value("fin_vs_cleanup",
                            "%s-%s-%dt-finalizer" % k, "bdwgc",
                            "handlers_per_s")
        lines = []
        for (mech, impl, case, _) in groups[k]:
            failed = d.get("fin_vs_cleanup", case, impl, "failed")
            if failed is not None and not d.get("fin_vs_cleanup", case,
                                                impl, "handlers_per_s"):
                lines.append([mech, impl] + ["FAILED"] +
                             [""] * len(cols))
                continue
            line = [mech, impl]
            for (m, _) in cols:
                r = d.get("fin_vs_cleanup", case, impl, m)
                line.append(fmt(r.median, r.unit) if r else "-")
            rate = d.value("fin_vs_cleanup", case, impl, "handlers_per_s")
            line.append(fmt_ratio(ratio(rate, peer_rate))
                        if impl != "bdwgc" else "1.00x" if peer_rate else "")
            lines.append(line)
        out.append("**%s, %s handler, %d allocating threads**\n\n%s" % (
            resource, cost, threads, md_table(header, lines)))
    return "\n\n".join(out)


def write_results_md(path, d, status, stamp, mode, srcdir, plots):
    L = []
    now = datetime.datetime.now(datetime.timezone.utc)
    L.append("# tricolor benchmark results\n")
    L.append("Generated by `perf/run%s` on %s (run %s). Every figure is the "
             "median over the repetitions shown in the CSV; timings on a "
             "shared machine are noisy. Ratios are tricolor / peer for the "
             "same case and metric: below 1 means tricolor is lower, which "
             "is better except for metrics marked ↑ (throughput, MMU), where "
             "higher is better.\n" % (
                 " --quick" if mode == "quick" else "",
                 now.strftime("%Y-%m-%d %H:%M UTC"), stamp or "-"))
    L.append("Raw data: [results/latest.csv](results/latest.csv)"
             + (" (copy: `results/results-%s.csv`)" % stamp if stamp else "")
             + ".\n")
    L.append("## Machine\n")
    L.append(md_table(["", ""], machine_info(srcdir)) + "\n")

    # Wins and losses, then the goals: they are what the reader looks for.
    L.append("## Summary\n")
    L.append("Computed from this run's rows (headline figures only; "
             "malloc is the no-GC floor, so losing to it is expected).\n")
    L.append("```\n" + summary_text(d) + "```\n")
    L.append("## Goals\n")
    grows = []
    for (name, fn) in GOALS:
        try:
            verdict, detail = fn(d)
        except Exception as e:  # a malformed row must not kill the report
            verdict, detail = NOT_MEASURED, "error evaluating: %s" % e
        grows.append([name, "**%s**" % verdict if verdict == NOT_MET
                      else verdict, detail])
    L.append(md_table(["goal", "verdict", "measured"], grows) + "\n")
    L.append("Verdicts are computed from the rows above by perf/report.py; "
             "\"not measured\" means this run has no rows for it (for "
             "example the 1 GiB heap is only used by the full run).\n")

    # Status of each benchmark.
    if status:
        L.append("## Runs\n")
        srows = []
        for s in status:
            srows.append([s["name"], s["status"],
                          s["seconds"] + " s" if s["seconds"] not in
                          ("", "0") else "",
                          ("`%s`" % s["log"]) if s["log"] else "",
                          s["note"]])
        L.append(md_table(["benchmark", "status", "time", "log", "note"],
                          srows) + "\n")
    failed = [r for r in d.rows if r.metric == "failed"]
    if failed:
        L.append("Failed measurements (the program reported them; their "
                 "figures are missing below):\n")
        for r in failed:
            st = int(r.median) if r.median is not None else -1
            what = ("timed out" if st == 124 else
                    "killed by signal %d" % (st - 128) if st > 128 else
                    "exit status %d" % st)
            L.append("- %s %s, %s: %s" % (r.benchmark, r.case, r.impl, what))
        L.append("")

    L.append("## Results\n")
    benches = d.benchmarks()
    if "fin_vs_cleanup" in benches:
        benches.remove("fin_vs_cleanup")
        benches.insert(0, "fin_vs_cleanup")
    for b in benches:
        L.append("### %s\n" % b)
        if b in BENCH_TEXT:
            L.append(BENCH_TEXT[b] + "\n")
        if b == "fin_vs_cleanup":
            summ = fvc_summary(d)
            if summ:
                L.append("Summary (computed from the tables below):\n")
                L.append(summ + "\n")
            L.append(fvc_tables(d) + "\n")
            L.append("handlers/s: resources released per second, from the "
                     "first allocation to the last release. Latency: object "
                     "dropped to resource released. Peak queue: handlers "
                     "queued but not finished (tricolor metrics, sampled "
                     "every ms). Peak unreleased: resources acquired and not "
                     "yet released (including the few still reachable).\n")
            fv = [p for p in plots if "fin_vs_cleanup" in p]
            for p in fv:
                L.append("![%s](results/%s)\n" % (p, p))
            L.append("<details><summary>all fin_vs_cleanup rows</summary>\n")
            L.append(bench_table(d, b) + "\n")
            L.append("</details>\n")
        else:
            L.append(bench_table(d, b) + "\n")
    if not benches:
        L.append("No results.\n")

    other = [p for p in plots if "fin_vs_cleanup" not in p]
    if other:
        L.append("## Plots\n")
        for p in other:
            L.append("![%s](results/%s)\n" % (p, p))
    L.append("## How to read this\n")
    L.append("See perf/README.md: what each benchmark does, its flags, and "
             "the CSV format. Re-create this file from the last run with "
             "`perf/report.py --results DIR/results --out DIR/RESULTS.md` "
             "(DIR: perf/out, or perf for the committed reference copy).")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(path + ".tmp", path)


# ----------------------------------------------------------------------
# gnuplot data and scripts
# ----------------------------------------------------------------------

GP_HEAD = ('set terminal pngcairo size 1100,650 font "sans,10"\n'
           'set datafile missing "?"\n'
           'set key outside right top\n'
           'set grid\n'
           'set termoption noenhanced\n')

# Plot style: every series has its own colour (never a dash style); the
# colours of one implementation come from one family (tricolor blues,
# bdwgc reds, Go greens, Java oranges), and the reference a reader compares
# against (the malloc/free floor, bdwgc's finalizer, redis) is drawn thick
# and black so it stands out. Goal lines are grey with a text label.
FAMILY = {
    "tricolor": ["#08519c", "#3182bd", "#6baed6", "#9ecae1"],
    "bdwgc": ["#a50f15", "#de2d26", "#fb6a4a", "#fcae91"],
    "bdwgc-m1": ["#67000d", "#cb181d", "#ef3b2c", "#fc9272"],
    "go": ["#006d2c", "#31a354", "#74c476", "#a1d99b"],
    "java": ["#a63603", "#e6550d", "#fd8d3c", "#fdae6b"],
    "malloc": ["#000000", "#525252", "#969696", "#bdbdbd"],
    "malloc-nofree": ["#6a51a3", "#9e9ac8", "#bcbddc", "#dadaeb"],
}


def series_style(impl, k, reference=("malloc",)):
    """gnuplot style for the k-th series of impl."""
    fam = FAMILY.get(impl, ["#7f7f7f", "#17becf", "#bcbd22", "#e377c2"])
    col = fam[k % len(fam)]
    lw = 4 if impl in reference else 2
    return 'lw %d lc rgb "%s" pt %d' % (lw, col, 7 if impl in reference
                                        else 5 + 2 * (k % 4))


def goal_line_y(y, text):
    return ('set arrow from graph 0, first %g to graph 1, first %g nohead '
            'lw 1.5 lc rgb "#555555"\n'
            'set label %s at graph 0.01, first %g offset 0,0.6 '
            'tc rgb "#333333"\n' % (y, y, gp_str(text), y))


def goal_line_x(x, text):
    return ('set arrow from %g, graph 0 to %g, graph 1 nohead lw 1.5 '
            'lc rgb "#555555"\n'
            'set label %s at %g, graph 0.04 offset 0.5,0 tc rgb "#333333"\n'
            % (x, x, gp_str(text), x))


def gp_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def plots_fin_vs_cleanup(d, resdir):
    """Per resource: handlers/s against pool size (one panel per handler
    cost, linear axes: the costs differ by orders of magnitude, a panel
    each keeps every one readable) and against handler cost (bars on a
    linear axis, one panel per cost)."""
    made = []
    groups = fvc_groups(d)
    resources = sorted({k[0] for k in groups})
    for res in resources:
        keys = [k for k in groups if k[0] == res]
        threads = sorted({k[2] for k in keys})[0]
        costs = sorted({k[1] for k in keys if k[2] == threads},
                       key=lambda c: COST_ORDER.index(c)
                       if c in COST_ORDER else 9)
        pools = sorted({it[3] for k in keys if k[2] == threads
                        for it in groups[k] if it[0] != "finalizer"})
        if pools:
            name = "fin_vs_cleanup-%s-pool" % res
            with open(os.path.join(resdir, name + ".dat"), "w") as f:
                f.write("# pool")
                for c in costs:
                    f.write(" cleanup_%s tri_finalizer_%s bdwgc_%s" % (c, c, c))
                f.write("\n")
                for p in pools:
                    f.write("%d" % p)
                    for c in costs:
                        base = "%s-%s-%dt-" % (res, c, threads)
                        for (case, impl) in ((base + "cleanup%d" % p,
                                              "tricolor"),
                                             (base + "finalizer", "tricolor"),
                                             (base + "finalizer", "bdwgc")):
                            v = d.value("fin_vs_cleanup", case, impl,
                                        "handlers_per_s")
                            f.write(" %s" % (num(v) if v else "?"))
                    f.write("\n")
            with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
                f.write(GP_HEAD.replace("size 1100,650",
                                        "size %d,500" % (420 * len(costs) + 80)))
                f.write('set output "%s.png"\n' % name)
                f.write("set key inside top left\n")
                f.write("set multiplot layout 1,%d title %s\n" % (
                    len(costs), gp_str(
                        "fin_vs_cleanup (%s, %d threads): resources released "
                        "per second against the cleanup pool size (higher is "
                        "better)" % (res, threads))))
                f.write("set xrange [0:%d]\nset yrange [0:*]\n" % (max(pools) + 1))
                f.write("set xtics (%s)\n" % ", ".join(str(p) for p in pools))
                for i, c in enumerate(costs):
                    col = 2 + 3 * i
                    f.write('set title %s\nset xlabel "cleanup_workers"\n'
                            'set ylabel "handlers/s"\n' % gp_str(c))
                    f.write('plot "%s.dat" using 1:%d with linespoints %s '
                            'title "tricolor cleanup pool", \\\n'
                            '     "%s.dat" using 1:%d with linespoints %s '
                            'title "tricolor finalizer (1 thread)", \\\n'
                            '     "%s.dat" using 1:%d with linespoints %s '
                            'title "bdwgc finalizer (peer)"\n' % (
                                name, col, series_style("tricolor", 0),
                                name, col + 1, series_style("tricolor", 2),
                                name, col + 2, 'lw 4 lc rgb "#000000" pt 7'))
                f.write("unset multiplot\n")
            made.append(name + ".png")
        mechs = []
        for c in costs:
            for it in groups[(res, c, threads)]:
                lab = it[1] + " " + it[0]
                if (lab, it[0], it[1]) not in mechs:
                    mechs.append((lab, it[0], it[1]))
        if costs and mechs:
            name = "fin_vs_cleanup-%s-cost" % res
            with open(os.path.join(resdir, name + ".dat"), "w") as f:
                for c in costs:
                    f.write("# %s\n" % c)
                    for k, (lab, mech, impl) in enumerate(mechs):
                        v = d.value("fin_vs_cleanup",
                                    "%s-%s-%dt-%s" % (res, c, threads, mech),
                                    impl, "handlers_per_s")
                        shades = ["#2171b5", "#4292c6", "#6baed6",
                                  "#9ecae1", "#807dba", "#9e9ac8"]
                        col = "#000000" if impl != "tricolor" else \
                            "#08306b" if mech == "finalizer" else \
                            shades[(k - 1) % len(shades)]
                        f.write('%d "%s" %s 0x%s\n' % (k, lab.replace(
                            "tricolor ", "tri "), num(v) if v else "?", col[1:]))
                    f.write("\n\n")
            with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
                f.write(GP_HEAD.replace("size 1100,650",
                                        "size %d,520" % (420 * len(costs) + 80)))
                f.write('set output "%s.png"\n' % name)
                f.write("set multiplot layout 1,%d title %s\n" % (
                    len(costs), gp_str(
                        "fin_vs_cleanup (%s, %d threads): resources released "
                        "per second by mechanism, one panel per handler cost "
                        "(black: bdwgc, the peer)" % (res, threads))))
                f.write("set style fill solid 0.85 border -1\nset boxwidth 0.7\n"
                        "set yrange [0:*]\nset xtics rotate by -45\nunset key\n"
                        "set ylabel \"handlers/s\"\n")
                for i, c in enumerate(costs):
                    f.write("set title %s\n" % gp_str(c))
                    f.write('plot "%s.dat" index %d using 1:3:4:xtic(2) with '
                            'boxes lc rgb variable\n' % (name, i))
                f.write("unset multiplot\n")
            made.append(name + ".png")
    return made


WINDOW_NS = {"100us": 1e5, "1ms": 1e6, "10ms": 1e7, "100ms": 1e8, "1s": 1e9}


def window_ns(name):
    if name in WINDOW_NS:
        return WINDOW_NS[name]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s)", name)
    return to_ns(float(m.group(1)), m.group(2)) if m else None


def _msgbuf_threads(case):
    m = re.search(r"-(\d+)t$", case)
    return int(m.group(1)) if m else 1


def plots_mmu(d, resdir, max_series=15):
    """MMU of msgbuf (the benchmark the goal is judged on). The windows
    span 100 us .. 1 s, four decades: the x axis must be logarithmic."""
    series = {}
    for r in d.rows:
        if r.benchmark != "msgbuf" or not r.metric.startswith("mmu_") or \
                r.median is None:
            continue
        w = window_ns(r.metric[4:])
        if w is None:
            continue
        series.setdefault((r.case, r.impl), []).append((w, r.median))
    if not series:
        return []
    keys = sorted(series, key=lambda k: (impl_sort_key(k[1]),
                                         case_sort_key(k[0])))[:max_series]
    name = "mmu"
    count = {}
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        for k in keys:
            f.write("# %s %s\n" % k)
            for (w, v) in sorted(series[k]):
                f.write("%g %g\n" % (w / 1e6, v * 100))
            f.write("\n\n")
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD)
        f.write('set output "%s.png"\n' % name)
        f.write("set logscale x 10\nset yrange [0:105]\n")
        f.write('set xlabel "window (ms, log scale)"\n'
                'set ylabel "MMU (%, worst thread; higher is better)"\n')
        f.write('set title "msgbuf: minimum mutator utilization from the '
                'recorded pauses"\n')
        f.write(goal_line_y(70, "goal: >= 70% at 10 ms"))
        f.write(goal_line_x(10, "10 ms"))
        parts = []
        for i, k in enumerate(keys):
            n = count.get(k[1], 0)
            count[k[1]] = n + 1
            parts.append('"%s.dat" index %d using 1:2 with linespoints %s '
                         'title %s' % (name, i, series_style(k[1], n),
                                       gp_str("%s %s" % (k[1], k[0]))))
        f.write("plot " + ", \\\n     ".join(parts) + "\n")
    return [name + ".png"]


def plots_msgbuf_latency(d, resdir):
    """The latency the mutator observes: push latency percentiles per
    implementation, one panel per thread count (1 GiB case separately).
    The values span 40 ns .. tens of ms, so the y axis is logarithmic;
    lines, not bars."""
    stats = [("push_p50", "p50"), ("push_p99", "p99"), ("push_p99.9", "p99.9"),
             ("push_p99.99", "p99.99"), ("push_max", "max")]
    cases = sorted({r.case for r in d.rows_of("msgbuf")
                    if r.metric == "push_max"}, key=case_sort_key)
    if not cases:
        return []
    impls = sorted({r.impl for r in d.rows_of("msgbuf")
                    if r.metric == "push_max"}, key=impl_sort_key)
    name = "msgbuf-latency"
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        for c in cases:
            f.write("# %s\nstat %s\n" % (c, " ".join(impls)))
            for (m, lab) in stats:
                f.write(lab)
                for im in impls:
                    v = d.value("msgbuf", c, im, m)
                    f.write(" %s" % ("%g" % v if v else "?"))
                f.write("\n")
            f.write("\n\n")
    ncol = min(len(cases), 4)
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD.replace("size 1100,650",
                                "size %d,560" % (380 * ncol + 60)))
        f.write('set output "%s.png"\n' % name)
        f.write("set key inside bottom right\nset logscale y\n")
        f.write("set multiplot layout 1,%d title %s\n" % (ncol, gp_str(
            "msgbuf: push latency the mutator observes (clock_gettime around "
            "alloc + memset + store; lower is better; black: malloc/free, "
            "the no-GC floor)")))
        for i, c in enumerate(cases[:ncol]):
            f.write("unset arrow\nunset label\n")
            if _msgbuf_threads(c) == 1:
                f.write(goal_line_y(1000, "goal: max < 1 ms (1 thread)"))
                f.write(goal_line_y(20, "goal: p99.9 < 20 us"))
            f.write('set title %s\nset xlabel "percentile of pushes"\n'
                    'set ylabel "push latency (us, log scale)"\n' % gp_str(c))
            parts = []
            for k, im in enumerate(impls):
                parts.append('"%s.dat" index %d using 0:%d:xtic(1) with '
                             'linespoints %s title %s' % (
                                 name, i, k + 2, series_style(im, 0),
                                 gp_str(im)))
            f.write("plot " + ", \\\n     ".join(parts) + "\n")
        f.write("unset multiplot\n")
    return [name + ".png"]


def plots_alloc(d, resdir):
    """Wall ns per allocation and CPU ns per object by size (1 and 2
    threads). Sizes double (16 .. 4096) and costs span two or three
    decades: both axes are logarithmic."""
    panels = [("alloc_time", "wall ns per allocation (one thread's view)"),
              ("cpu_per_alloc", "CPU ns per object (user+sys, all threads)")]
    series = {}
    for r in d.rows:
        if r.benchmark not in ("alloc", "alloc_bench") or r.median is None:
            continue
        if r.metric not in [p[0] for p in panels]:
            continue
        m = re.match(r"(\d+)B-(\d+)t$", r.case)
        if not m:
            continue
        series.setdefault((r.metric, r.impl, int(m.group(2))),
                          {})[int(m.group(1))] = r.median
    if not series:
        return []
    sizes = sorted({s for v in series.values() for s in v})
    name = "alloc"
    idx = []
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        for k in sorted(series, key=lambda k: (k[0], impl_sort_key(k[1]), k[2])):
            f.write("# %s %s %dt\n" % k)
            for s in sizes:
                v = series[k].get(s)
                f.write("%d %s\n" % (s, "%g" % v if v is not None else "?"))
            f.write("\n\n")
            idx.append(k)
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD.replace("size 1100,650", "size 1300,560"))
        f.write('set output "%s.png"\n' % name)
        f.write("set key inside top left\nset logscale x 2\nset logscale y\n")
        f.write("set yrange [*:*]\n")
        f.write('set multiplot layout 1,2 title "alloc_bench: allocation cost '
                'by object size (lower is better; black: malloc/free)"\n')
        for (metric, title) in panels:
            f.write('set title %s\nset xlabel "object size (bytes, log 2)"\n'
                    'set ylabel "ns (log scale)"\n' % gp_str(title))
            parts = []
            for i, k in enumerate(idx):
                if k[0] != metric:
                    continue
                parts.append('"%s.dat" index %d using 1:2 with linespoints %s '
                             'title %s' % (name, i,
                                           series_style(k[1], k[2] - 1),
                                           gp_str("%s %dt" % (k[1], k[2]))))
            if parts:
                f.write("plot " + ", \\\n     ".join(parts) + "\n")
        f.write("unset multiplot\n")
    return [name + ".png"]


def write_plots(d, resdir):
    # Old scripts, data and images would show stale data: remove them first.
    for fn in os.listdir(resdir):
        if (fn.startswith("plot-") and fn.endswith(".gp")) or \
                fn.endswith(".png") or fn.endswith(".dat"):
            os.remove(os.path.join(resdir, fn))
    made = []
    for fn in (plots_fin_vs_cleanup, plots_msgbuf_latency, plots_mmu,
               plots_alloc):
        try:
            made += fn(d, resdir)
        except Exception as e:
            print("report.py: %s: %s" % (fn.__name__, e), file=sys.stderr)
    return made


# ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--results", default=os.path.join(here, "results"))
    ap.add_argument("--out", default=os.path.join(here, "RESULTS.md"))
    ap.add_argument("--status")
    ap.add_argument("--stamp", default="")
    ap.add_argument("--mode", default="full", choices=["quick", "full"])
    ap.add_argument("--srcdir", default=os.path.dirname(here))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("csv", nargs="*")
    a = ap.parse_args()

    os.makedirs(a.results, exist_ok=True)
    latest = os.path.join(a.results, "latest.csv")
    inputs = [p for p in a.csv if os.path.exists(p)]
    if not a.csv:
        inputs = [latest]
    rows = read_csvs(inputs)
    d = Data(rows)
    if a.csv:
        write_csv(latest, rows)
        if a.stamp:
            shutil.copyfile(latest, os.path.join(a.results,
                                                 "results-%s.csv" % a.stamp))
    plots = [] if a.no_plots else write_plots(d, a.results)
    write_results_md(a.out, d, read_status(a.status), a.stamp, a.mode,
                     a.srcdir, plots)
    # Plain-text summary and goals for the terminal (perf/run, scripts/demo).
    with open(os.path.join(a.results, "summary.txt"), "w") as f:
        f.write(summary_text(d))
        f.write("Goals (issues 12 and 13; details in RESULTS.md):\n")
        unmeasured = 0
        for (name, fn) in GOALS:
            try:
                verdict, _ = fn(d)
            except Exception as e:
                verdict = "error: %s" % e
            if verdict == NOT_MEASURED:
                unmeasured += 1
                continue
            f.write("  %-13s %s\n" % (verdict, name))
        if unmeasured:
            f.write("  (%d more goals have no rows in this run)\n" % unmeasured)
    print("report: %d rows from %d file(s) -> %s, %s; %d plot script(s)" % (
        len(rows), len(inputs), os.path.relpath(latest),
        os.path.relpath(a.out), len(plots)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
