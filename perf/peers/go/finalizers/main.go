/* SPDX-License-Identifier: MIT */
// Command finalizers is the Go peer of perf/finalizers: -count objects of
// 32 bytes, each with a finalizer (runtime.SetFinalizer), kept reachable
// from one slice; then every object is dropped (its drop time recorded),
// one runtime.GC() runs, and the program waits until every finalizer ran.
// Reported like perf/finalizers: finalizers/s and ns per finalizer over
// [start of the collection, last finalizer done], dropped-to-ran latency
// p50/p99, the time runtime.GC() took, objects left unfinalized, peak RSS,
// and the cost of SetFinalizer itself.
// Handlers: noop, cpu10us (burns 10 us of CPU), block100us (sleeps 100 us).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"tricolor/perf/peers/go/internal/bench"
)

type fobj struct {
	id    uint64
	tDrop int64
	pad   [2]uint64
}

var (
	count      = flag.Int("count", 1000000, "objects (quick 100000)")
	blockCount = flag.Int("block-count", 20000, "objects for block100us (quick 2000)")
	handlers   = flag.String("handlers", "noop,cpu10us,block100us", "handlers to run")
	csvPath    = flag.String("csv", "", "append rows to this CSV file")
	quick      = flag.Bool("quick", false, "short run")
	repsFlag   = flag.Int("reps", 0, "repetitions (3; quick 1)")
	timeoutS   = flag.Int("timeout", 120, "seconds to wait for the finalizers")
)

var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

var (
	handler  string
	lat      []int64
	done     int64
	lastDone int64
)

func burn(ns int64) {
	t := now()
	for now()-t < ns {
	}
}

func fin(o *fobj) {
	switch handler {
	case "cpu10us":
		burn(10000)
	case "block100us":
		time.Sleep(100 * time.Microsecond)
	}
	t := now()
	lat[o.id] = t - o.tDrop
	atomic.StoreInt64(&lastDone, t)
	atomic.AddInt64(&done, 1)
}

type result struct {
	perS, nsPer, p50, p99, collect, unfin, setNs, e2e float64
}

func runOnce(n int) result {
	var r result
	lat = make([]int64, n)
	atomic.StoreInt64(&done, 0)
	atomic.StoreInt64(&lastDone, 0)
	runtime.GC()
	objs := make([]*fobj, n)
	t0 := now()
	for i := range objs {
		o := &fobj{id: uint64(i)}
		runtime.SetFinalizer(o, fin)
		objs[i] = o
	}
	r.setNs = float64(now()-t0) / float64(n)
	for i := range objs {
		objs[i].tDrop = now()
		objs[i] = nil
	}
	tc0 := now()
	runtime.GC()
	tc1 := now()
	deadline := time.Now().Add(time.Duration(*timeoutS) * time.Second)
	for atomic.LoadInt64(&done) < int64(n) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
	}
	d := atomic.LoadInt64(&done)
	last := atomic.LoadInt64(&lastDone)
	window := last - tc0
	if window < 1 {
		window = 1
	}
	r.perS = float64(d) * 1e9 / float64(window)
	if last > t0 {
		r.e2e = float64(d) * 1e9 / float64(last-t0)
	}
	if d > 0 {
		r.nsPer = float64(window) / float64(d)
	}
	r.collect = float64(tc1 - tc0)
	r.unfin = float64(int64(n) - d)
	var v []int64
	for _, x := range lat {
		if x > 0 {
			v = append(v, x)
		}
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	r.p50 = float64(bench.Pct(v, 0.5))
	r.p99 = float64(bench.Pct(v, 0.99))
	runtime.KeepAlive(objs)
	return r
}

func main() {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["count"] {
			*count = 100000
		}
		if !set["block-count"] {
			*blockCount = 2000
		}
	}
	reps := *repsFlag
	if reps <= 0 {
		reps = 3
		if *quick {
			reps = 1
		}
	}
	if *count < 1 || *blockCount < 1 {
		fmt.Fprintln(os.Stderr, "finalizers: bad counts")
		os.Exit(2)
	}
	if !bench.IsChild() {
		fmt.Printf("finalizers (Go %s): %d objects (block100us: %d), handlers %s, %d reps\n",
			runtime.Version(), *count, *blockCount, *handlers, reps)
	}
	for _, h := range strings.Split(*handlers, ",") {
		if h != "noop" && h != "cpu10us" && h != "block100us" {
			fmt.Fprintf(os.Stderr, "finalizers: unknown handler %q\n", h)
			os.Exit(2)
		}
		handler = h
		n := *count
		if h == "block100us" {
			n = *blockCount
		}
		cas := fmt.Sprintf("%s-%d", h, n)
		var rs []result
		for r := 0; r < reps; r++ {
			x := runOnce(n)
			rs = append(rs, x)
			fmt.Printf("# go %-18s rep %d: %.0f finalizers/s (%.0f ns each), latency p50 %.2f ms p99 %.2f ms, GC %.2f ms, SetFinalizer %.0f ns, unfinalized %.0f\n",
				cas, r+1, x.perS, x.nsPer, x.p50/1e6, x.p99/1e6, x.collect/1e6, x.setNs, x.unfin)
		}
		f := func(metric, unit string, get func(result) float64) {
			v := make([]float64, len(rs))
			for i, x := range rs {
				v[i] = get(x)
			}
			bench.Emit("finalizers", cas, metric, unit, bench.Of(v))
		}
		f("finalizers_per_s", "1/s", func(x result) float64 { return x.perS })
		f("ns_per_finalizer", "ns", func(x result) float64 { return x.nsPer })
		f("latency_p50", "ns", func(x result) float64 { return x.p50 })
		f("latency_p99", "ns", func(x result) float64 { return x.p99 })
		f("collect_time", "ns", func(x result) float64 { return x.collect })
		f("unfinalized", "objects", func(x result) float64 { return x.unfin })
		f("set_finalizer", "ns", func(x result) float64 { return x.setNs })
		f("end_to_end_per_s", "1/s", func(x result) float64 { return x.e2e })
		bench.Emit("finalizers", cas, "peak_rss", "bytes", bench.One(bench.PeakRSSMiB()*1048576))
	}
	bench.Finish(*csvPath)
}
