/* SPDX-License-Identifier: MIT */
// Package bench holds what the Go peers of the tricolor benchmarks share:
// statistics, the pause/MMU analysis, and result rows in the shared CSV
// format (benchmark,case,impl,metric,unit,median,min,max,reps). When run by
// a C benchmark (environment PERF_BENCH_CHILD set) rows are printed as
// "@@ROW\t..." lines for the parent; otherwise a table is printed and rows
// are appended to the -csv file.
package bench

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Stats is median/min/max over N repetitions.
type Stats struct {
	Median, Min, Max float64
	N                int
}

// Of computes Stats of v.
func Of(v []float64) Stats {
	if len(v) == 0 {
		return Stats{}
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	n := len(c)
	med := c[n/2]
	if n%2 == 0 {
		med = (c[n/2-1] + c[n/2]) / 2
	}
	return Stats{med, c[0], c[n-1], n}
}

// One is a single value as Stats.
func One(v float64) Stats { return Stats{v, v, v, 1} }

// Pct is the nearest-rank percentile (p in [0,1]) of sorted values.
func Pct(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	k := int(p*float64(n) + 0.999999999)
	if k < 1 {
		k = 1
	}
	if k > n {
		k = n
	}
	return sorted[k-1]
}

type row struct {
	bench, cas, impl, metric, unit string
	s                              Stats
}

var rows []row

// IsChild reports whether a C benchmark started this program.
func IsChild() bool { return os.Getenv("PERF_BENCH_CHILD") != "" }

func clean(s string) string {
	return strings.NewReplacer(",", ";", "\t", ";", "\n", ";").Replace(s)
}

// Emit records one result row (impl is "go").
func Emit(bench, cas, metric, unit string, s Stats) {
	r := row{clean(bench), clean(cas), "go", clean(metric), clean(unit), s}
	if IsChild() {
		fmt.Printf("@@ROW\t%s\t%s\t%s\t%s\t%s\t%.17g\t%.17g\t%.17g\t%d\n",
			r.bench, r.cas, r.impl, r.metric, r.unit, s.Median, s.Min, s.Max, s.N)
		return
	}
	rows = append(rows, r)
}

// Finish prints the rows and appends them to csvPath (if not empty).
func Finish(csvPath string) {
	if IsChild() {
		return
	}
	fmt.Printf("\n%-22s %-20s %-8s %12s %12s %12s %5s\n", "case", "metric", "unit", "median", "min", "max", "reps")
	for _, r := range rows {
		fmt.Printf("%-22s %-20s %-8s %12.4g %12.4g %12.4g %5d\n", r.cas, r.metric, r.unit, r.s.Median, r.s.Min, r.s.Max, r.s.N)
	}
	if csvPath == "" {
		return
	}
	f, err := os.OpenFile(csvPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		fmt.Fprintln(f, "benchmark,case,impl,metric,unit,median,min,max,reps")
	}
	for _, r := range rows {
		fmt.Fprintf(f, "%s,%s,%s,%s,%s,%.6g,%.6g,%.6g,%d\n", r.bench, r.cas, r.impl, r.metric, r.unit, r.s.Median, r.s.Min, r.s.Max, r.s.N)
	}
	fmt.Printf("(%d rows appended to %s)\n", len(rows), csvPath)
}

// ParseList parses "1,2,4".
func ParseList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// PeakRSSMiB is getrusage ru_maxrss in MiB.
func PeakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// Pause is one stop-the-world pause, nanoseconds on one clock.
type Pause struct{ Start, Len int64 }

// MMUWindows are the windows reported: 100us, 1ms, 10ms, 100ms, 1s.
var MMUWindows = []struct {
	Name string
	NS   int64
}{{"100us", 1e5}, {"1ms", 1e6}, {"10ms", 1e7}, {"100ms", 1e8}, {"1s", 1e9}}

// PauseSummary is the distribution and MMU of the pauses in [t0, t1].
type PauseSummary struct {
	Count                      int
	Total, P50, P99, P999, Max int64
	MMU                        []float64 // -1: window longer than the run
}

// Analyze summarises pauses overlapping [t0, t1]; they stop every goroutine,
// so they are treated as the pauses of one mutator.
func Analyze(ps []Pause, t0, t1 int64) PauseSummary {
	var s PauseSummary
	var lens []int64
	var iv []Pause
	for _, p := range ps {
		if p.Start+p.Len < t0 || p.Start > t1 {
			continue
		}
		lens = append(lens, p.Len)
		s.Total += p.Len
		iv = append(iv, p)
	}
	s.Count = len(lens)
	sort.Slice(lens, func(i, j int) bool { return lens[i] < lens[j] })
	s.P50, s.P99, s.P999 = Pct(lens, 0.5), Pct(lens, 0.99), Pct(lens, 0.999)
	if len(lens) > 0 {
		s.Max = lens[len(lens)-1]
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].Start < iv[j].Start })
	var st, en []int64
	for _, p := range iv {
		a, b := p.Start, p.Start+p.Len
		if a < t0 {
			a = t0
		}
		if b > t1 {
			b = t1
		}
		if b <= a {
			continue
		}
		if k := len(en); k > 0 && a <= en[k-1] {
			if b > en[k-1] {
				en[k-1] = b
			}
			continue
		}
		st = append(st, a)
		en = append(en, b)
	}
	for _, w := range MMUWindows {
		s.MMU = append(s.MMU, mmu(st, en, t0, t1, w.NS))
	}
	return s
}

func mmu(st, en []int64, t0, t1, w int64) float64 {
	if t1 <= t0 || w > t1-t0 {
		return -1
	}
	n := len(st)
	if n == 0 {
		return 1
	}
	prefix := make([]int64, n+1)
	for i := 0; i < n; i++ {
		prefix[i+1] = prefix[i] + en[i] - st[i]
	}
	covered := func(a, b int64) int64 {
		lo := sort.Search(n, func(i int) bool { return en[i] > a })
		hi := sort.Search(n, func(i int) bool { return st[i] >= b })
		if lo >= hi {
			return 0
		}
		sum := prefix[hi] - prefix[lo]
		if st[lo] < a {
			sum -= a - st[lo]
		}
		if en[hi-1] > b {
			sum -= en[hi-1] - b
		}
		return sum
	}
	var best int64
	try := func(x int64) {
		if x < t0 {
			x = t0
		}
		if x > t1-w {
			x = t1 - w
		}
		if c := covered(x, x+w); c > best {
			best = c
		}
	}
	try(t0)
	try(t1 - w)
	for i := 0; i < n; i++ {
		try(st[i])
		try(en[i])
		try(st[i] - w)
		try(en[i] - w)
	}
	if best > w {
		best = w
	}
	return 1 - float64(best)/float64(w)
}

// EmitPauses records pause_* and mmu_* rows (Stats over repetitions).
func EmitPauses(bench, cas string, ss []PauseSummary) {
	f := func(metric, unit string, get func(PauseSummary) float64) {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		Emit(bench, cas, metric, unit, Of(v))
	}
	f("pause_count", "pauses", func(s PauseSummary) float64 { return float64(s.Count) })
	f("pause_total", "ms", func(s PauseSummary) float64 { return float64(s.Total) / 1e6 })
	f("pause_p50", "us", func(s PauseSummary) float64 { return float64(s.P50) / 1e3 })
	f("pause_p99", "us", func(s PauseSummary) float64 { return float64(s.P99) / 1e3 })
	f("pause_p99.9", "us", func(s PauseSummary) float64 { return float64(s.P999) / 1e3 })
	f("pause_max", "us", func(s PauseSummary) float64 { return float64(s.Max) / 1e3 })
	for i, w := range MMUWindows {
		// only the repetitions that lasted at least one window
		var v []float64
		for _, s := range ss {
			if s.MMU[i] >= 0 {
				v = append(v, s.MMU[i])
			}
		}
		if len(v) > 0 {
			Emit(bench, cas, "mmu_"+w.Name, "fraction", Of(v))
		}
	}
}

// PrintPauses prints a summary line.
func PrintPauses(label string, s PauseSummary) {
	fmt.Printf("%s: %d pauses, total %.3f ms; p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		label, s.Count, float64(s.Total)/1e6, float64(s.P50)/1e3, float64(s.P99)/1e3, float64(s.P999)/1e3, float64(s.Max)/1e3)
	fmt.Printf("%s: MMU:", label)
	for i, w := range MMUWindows {
		if s.MMU[i] < 0 {
			fmt.Printf(" %s n/a", w.Name)
		} else {
			fmt.Printf(" %s %.3f", w.Name, s.MMU[i])
		}
	}
	fmt.Println()
}
