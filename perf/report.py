#!/usr/bin/env python3
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
               "churn", "finalizers", "fin_vs_cleanup", "kvserver"]
# Program name (perf/run) -> benchmark name(s) used in the CSV.
PROGRAM_BENCH = {"alloc_bench": ["alloc", "alloc_bench"]}


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
            m = re.match(r"(.*)-cleanup\d+$", r.case)
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
    m = re.match(r"(\w+)-(\w+)-(\d+)t-(finalizer|cleanup(\d+))$", case)
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

    # Goals first: they are what the reader looks for.
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
             "`perf/report.py --results perf/results --out perf/RESULTS.md`.")
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
           'set termoption noenhanced\n'
           'colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b '
           '#e377c2 #7f7f7f #bcbd22 #17becf #000000 #aec7e8 #ffbb78 '
           '#98df8a #ff9896 #c5b0d5"\n')


def gp_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def plots_fin_vs_cleanup(d, resdir):
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
        # 1) throughput against pool size: one panel per handler cost.
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
                f.write(GP_HEAD)
                f.write('set output "%s.png"\n' % name)
                f.write("set logscale x 2\nset logscale y\n")
                f.write('set xlabel "cleanup_workers (pool size)"\n')
                f.write('set ylabel "resources released per second"\n')
                f.write("set title %s\n" % gp_str(
                    "fin_vs_cleanup (%s, %d threads): throughput vs pool "
                    "size; dashed: tricolor finalizer, dotted: bdwgc "
                    "finalizer" % (res, threads)))
                parts = []
                for i, c in enumerate(costs):
                    col = 2 + 3 * i
                    lc = i + 1
                    parts.append('"%s.dat" using 1:%d with linespoints lw 2 '
                                 'lc %d pt 7 title %s' % (
                                     name, col, lc,
                                     gp_str("cleanup, " + c)))
                    parts.append('"%s.dat" using 1:%d with lines dt 2 lw 2 '
                                 'lc %d title %s' % (
                                     name, col + 1, lc,
                                     gp_str("tri finalizer, " + c)))
                    parts.append('"%s.dat" using 1:%d with lines dt 3 lw 2 '
                                 'lc %d title %s' % (
                                     name, col + 2, lc,
                                     gp_str("bdwgc finalizer, " + c)))
                f.write("plot " + ", \\\n     ".join(parts) + "\n")
            made.append(name + ".png")
        # 2) throughput against handler cost: clustered bars per mechanism.
        mechs = []
        for c in costs:
            for it in groups[(res, c, threads)]:
                lab = it[1] + " " + it[0]
                if (lab, it[0], it[1]) not in mechs:
                    mechs.append((lab, it[0], it[1]))
        if costs and mechs:
            name = "fin_vs_cleanup-%s-cost" % res
            with open(os.path.join(resdir, name + ".dat"), "w") as f:
                f.write("cost " + " ".join('"%s"' % m[0] for m in mechs)
                        + "\n")
                for c in costs:
                    f.write(c)
                    for (_, mech, impl) in mechs:
                        v = d.value("fin_vs_cleanup",
                                    "%s-%s-%dt-%s" % (res, c, threads, mech),
                                    impl, "handlers_per_s")
                        f.write(" %s" % (num(v) if v else "?"))
                    f.write("\n")
            with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
                f.write(GP_HEAD)
                f.write('set output "%s.png"\n' % name)
                f.write("set style data histograms\n"
                        "set style histogram clustered gap 1\n"
                        "set style fill solid 0.8 border -1\n"
                        "set logscale y\nset yrange [*:*]\n")
                f.write('set xlabel "handler cost (on top of the release)"\n')
                f.write('set ylabel "resources released per second"\n')
                f.write("set title %s\n" % gp_str(
                    "fin_vs_cleanup (%s, %d threads): throughput vs handler "
                    "cost" % (res, threads)))
                f.write('plot for [i=2:%d] "%s.dat" using i:xtic(1) '
                        'title columnheader(i)\n' % (len(mechs) + 1, name))
            made.append(name + ".png")
    return made


WINDOW_NS = {"100us": 1e5, "1ms": 1e6, "10ms": 1e7, "100ms": 1e8, "1s": 1e9}


def window_ns(name):
    if name in WINDOW_NS:
        return WINDOW_NS[name]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s)", name)
    return to_ns(float(m.group(1)), m.group(2)) if m else None


def plots_mmu(d, resdir, max_series=12):
    series = {}
    for r in d.rows:
        if not r.metric.startswith("mmu_") or r.median is None:
            continue
        w = window_ns(r.metric[4:])
        if w is None:
            continue
        series.setdefault((r.benchmark, r.case, r.impl), []).append(
            (w, r.median))
    if not series:
        return []
    keys = sorted(series, key=lambda k: (impl_sort_key(k[2]), k[0],
                                         case_sort_key(k[1])))[:max_series]
    name = "mmu"
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        for i, k in enumerate(keys):
            f.write("# %s %s %s\n" % k)
            for (w, v) in sorted(series[k]):
                f.write("%g %g\n" % (w / 1e6, v * 100))
            f.write("\n\n")
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD)
        f.write('set output "%s.png"\n' % name)
        f.write("set logscale x 10\nset yrange [0:100]\n")
        f.write('set xlabel "window (ms)"\nset ylabel "MMU (%)"\n')
        f.write('set title "Minimum mutator utilization (worst thread)"\n')
        f.write("set arrow from 10, graph 0 to 10, graph 1 nohead dt 2\n")
        f.write("set arrow from graph 0, first 70 to graph 1, first 70 "
                "nohead dt 2\n")
        parts = ['"%s.dat" index %d using 1:2 with linespoints lw 2 '
                 'lc rgb word(colors, %d) pt %d title %s'
                 % (name, i, i % 16 + 1, i + 1, gp_str("%s %s %s" % k))
                 for i, k in enumerate(keys)]
        f.write("plot " + ", \\\n     ".join(parts) + "\n")
    return [name + ".png"]


def plots_pauses(d, resdir, max_series=12):
    stats = ["pause_p50", "pause_p99", "pause_p99.9", "pause_max"]
    series = {}
    for r in d.rows:
        if r.metric in stats and r.median is not None:
            ns = to_ns(r.median, r.unit)
            if ns is not None:
                series.setdefault((r.benchmark, r.case, r.impl),
                                  {})[r.metric] = ns
    series = {k: v for k, v in series.items() if "pause_p50" in v}
    if not series:
        return []
    keys = sorted(series, key=lambda k: (impl_sort_key(k[2]), k[0],
                                         case_sort_key(k[1])))[:max_series]
    name = "pauses"
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        f.write("stat " + " ".join('"%s %s %s"' % k for k in keys) + "\n")
        for s in stats:
            f.write(s.replace("pause_", ""))
            for k in keys:
                v = series[k].get(s)
                f.write(" %s" % ("%g" % (v / 1e3) if v is not None else "?"))
            f.write("\n")
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD)
        f.write('set output "%s.png"\n' % name)
        f.write("set logscale y\n")
        f.write('set xlabel "percentile"\nset ylabel "pause (us)"\n')
        f.write('set title "Pause distribution"\n')
        f.write("set arrow from graph 0, first 100 to graph 1, first 100 "
                "nohead dt 2\n")
        f.write('plot for [i=2:%d] "%s.dat" using 0:i:xtic(1) with '
                'linespoints lw 2 lc rgb word(colors, i-1) pt (i-1) '
                'title columnheader(i)\n' % (len(keys) + 1, name))
    return [name + ".png"]


def plots_alloc(d, resdir):
    series = {}
    for r in d.rows:
        if r.benchmark not in ("alloc", "alloc_bench") or r.median is None:
            continue
        if r.metric not in ("alloc_time", "alloc_time_nofree"):
            continue
        m = re.match(r"(\d+)B-(\d+)t$", r.case)
        if not m:
            continue
        impl = r.impl + ("-nofree" if r.metric.endswith("nofree") else "")
        series.setdefault((impl, int(m.group(2))), {})[int(m.group(1))] = \
            r.median
    if not series:
        return []
    keys = sorted(series, key=lambda k: (impl_sort_key(k[0].split("-")[0]),
                                         k[0], k[1]))
    sizes = sorted({s for v in series.values() for s in v})
    name = "alloc"
    with open(os.path.join(resdir, name + ".dat"), "w") as f:
        f.write("size " + " ".join('"%s %dt"' % k for k in keys) + "\n")
        for s in sizes:
            f.write("%d" % s)
            for k in keys:
                v = series[k].get(s)
                f.write(" %s" % ("%g" % v if v is not None else "?"))
            f.write("\n")
    with open(os.path.join(resdir, "plot-%s.gp" % name), "w") as f:
        f.write(GP_HEAD)
        f.write('set output "%s.png"\n' % name)
        f.write("set logscale x 2\nset logscale y\n")
        f.write('set xlabel "object size (bytes)"\n'
                'set ylabel "ns per allocation"\n')
        f.write('set title "Allocation cost by size"\n')
        f.write('plot for [i=2:%d] "%s.dat" using 1:i with linespoints lw 2 '
                'lc rgb word(colors, i-1) pt (i-1) title columnheader(i)\n'
                % (len(keys) + 1, name))
    return [name + ".png"]


def write_plots(d, resdir):
    # Old scripts would plot stale data: remove them first.
    for fn in os.listdir(resdir):
        if fn.startswith("plot-") and fn.endswith(".gp"):
            os.remove(os.path.join(resdir, fn))
    made = []
    for fn in (plots_fin_vs_cleanup, plots_mmu, plots_pauses, plots_alloc):
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
    print("report: %d rows from %d file(s) -> %s, %s; %d plot script(s)" % (
        len(rows), len(inputs), os.path.relpath(latest),
        os.path.relpath(a.out), len(plots)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
