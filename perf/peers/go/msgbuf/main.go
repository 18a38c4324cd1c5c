/* SPDX-License-Identifier: MIT */
// Command msgbuf is the Go peer of perf/msgbuf: a window of -window
// messages of -msg-size bytes; each push allocates a message, fills it and
// stores it into slot i % window. Every push is timed; reported: max, p99.9,
// p99, p50 push latency, and the GC pauses of the run (debug.ReadGCStats:
// one stop-the-world total per cycle, with its end time) as a distribution
// and minimum mutator utilization, GC cycles and peak RSS. With -threads T
// the window and the pushes are split across T goroutines (as perf/msgbuf
// splits them across threads); also reported: p99.99, pushes over 100 us
// and over 1 ms, whole-run wall time and the process's user+sys CPU time.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"syscall"
	"time"

	"tricolor/perf/peers/go/internal/bench"
)

var (
	window   = flag.Int("window", 200000, "messages kept live (quick 20000)")
	msgSize  = flag.Int("msg-size", 1024, "bytes per message")
	pushes   = flag.Int("pushes", 1000000, "pushes per rep (quick 200000)")
	liveMiB  = flag.Int("live-mib", 0, "window = this many MiB of messages")
	csvPath  = flag.String("csv", "", "append rows to this CSV file")
	quick    = flag.Bool("quick", false, "short run")
	repsFlag = flag.Int("reps", 0, "repetitions (3; quick 1)")
	threads  = flag.Int("threads", 1, "goroutines; window and pushes are split across them")
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// push runs one goroutine's share: its own window of w slots, n pushes.
func push(w int, lat []int64, wg *sync.WaitGroup, start chan struct{}) {
	defer wg.Done()
	win := make([][]byte, w)
	<-start
	for i := range lat {
		a := time.Now()
		m := make([]byte, *msgSize)
		b := byte(i)
		for k := range m {
			m[k] = b
		}
		win[i%w] = m
		lat[i] = int64(time.Since(a))
	}
	runtime.KeepAlive(win)
}

type repResult struct {
	max, p9999, p999, p99, p50, meanNS float64
	over100us, over1ms, runMS, cpuMS   float64
	ps                          bench.PauseSummary
	truncated                   bool
}

func runRep(lat []int64) repResult {
	var res repResult
	var gc0 debug.GCStats
	debug.ReadGCStats(&gc0)
	var wg sync.WaitGroup
	start := make(chan struct{})
	off := 0
	for t := 0; t < *threads; t++ {
		w, n := *window / *threads, *pushes / *threads
		if t == 0 {
			w += *window % *threads
			n += *pushes % *threads
		}
		if w < 1 {
			w = 1
		}
		wg.Add(1)
		go push(w, lat[off:off+n], &wg, start)
		off += n
	}
	c0 := cpuSeconds()
	tStart := time.Now()
	close(start)
	wg.Wait()
	tEnd := time.Now()
	res.cpuMS = (cpuSeconds() - c0) * 1e3
	res.runMS = float64(tEnd.Sub(tStart)) / 1e6
	var gc1 debug.GCStats
	debug.ReadGCStats(&gc1)

	var sum int64
	for _, v := range lat {
		sum += v
		if v > 100000 {
			res.over100us++
		}
		if v > 1000000 {
			res.over1ms++
		}
	}
	res.meanNS = float64(sum) / float64(len(lat))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.max = float64(lat[len(lat)-1]) / 1e3
	res.p9999 = float64(bench.Pct(lat, 0.9999)) / 1e3
	res.p999 = float64(bench.Pct(lat, 0.999)) / 1e3
	res.p99 = float64(bench.Pct(lat, 0.99)) / 1e3
	res.p50 = float64(bench.Pct(lat, 0.50)) / 1e3

	var ps []bench.Pause
	for k := range gc1.Pause {
		if k >= len(gc1.PauseEnd) {
			break
		}
		end := gc1.PauseEnd[k].UnixNano()
		ps = append(ps, bench.Pause{Start: end - int64(gc1.Pause[k]), Len: int64(gc1.Pause[k])})
	}
	res.truncated = gc1.NumGC-gc0.NumGC > int64(len(gc1.Pause))
	res.ps = bench.Analyze(ps, tStart.UnixNano(), tEnd.UnixNano())
	return res
}

func main() {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *liveMiB > 0 {
		*window = int(int64(*liveMiB) * 1024 * 1024 / int64(*msgSize))
		if !set["pushes"] && *pushes < 2**window {
			*pushes = 2 * *window
		}
	} else if *quick {
		if !set["window"] {
			*window = 20000
		}
		if !set["pushes"] {
			*pushes = 200000
		}
	}
	reps := *repsFlag
	if reps <= 0 {
		reps = 3
		if *quick {
			reps = 1
		}
	}
	if *window < 1 || *pushes < 1 || *msgSize < 1 || *threads < 1 {
		fmt.Fprintln(os.Stderr, "msgbuf: bad flags")
		os.Exit(2)
	}
	cas := fmt.Sprintf("w%d-%dB-%dt", *window, *msgSize, *threads)
	if !bench.IsChild() {
		fmt.Printf("msgbuf (Go %s, GOGC default): window %d x %d B, %d pushes, %d reps\n",
			runtime.Version(), *window, *msgSize, *pushes, reps)
	}
	lat := make([]int64, *pushes)
	var res []repResult
	var st0, st1 runtime.MemStats
	runtime.ReadMemStats(&st0)
	for r := 0; r < reps; r++ {
		runtime.GC()
		x := runRep(lat)
		res = append(res, x)
		fmt.Printf("# go       %dt rep %d: push max %.1f us, p99.99 %.1f us, p99.9 %.2f us, p99 %.2f us, p50 %.3f us; %.0f pushes > 100 us, %.0f > 1 ms; run %.1f ms wall, %.1f ms CPU\n",
			*threads, r+1, x.max, x.p9999, x.p999, x.p99, x.p50, x.over100us, x.over1ms, x.runMS, x.cpuMS)
		bench.PrintPauses(fmt.Sprintf("# go       rep %d pauses", r+1), x.ps)
		if x.truncated {
			fmt.Println("# note: more GC cycles than debug.ReadGCStats keeps; pause analysis covers the recent ones")
		}
	}
	runtime.ReadMemStats(&st1)
	f := func(metric, unit string, get func(repResult) float64) {
		v := make([]float64, len(res))
		for i, x := range res {
			v[i] = get(x)
		}
		bench.Emit("msgbuf", cas, metric, unit, bench.Of(v))
	}
	f("push_max", "us", func(x repResult) float64 { return x.max })
	f("push_p99.99", "us", func(x repResult) float64 { return x.p9999 })
	f("push_p99.9", "us", func(x repResult) float64 { return x.p999 })
	f("push_p99", "us", func(x repResult) float64 { return x.p99 })
	f("push_p50", "us", func(x repResult) float64 { return x.p50 })
	f("push_mean", "ns", func(x repResult) float64 { return x.meanNS })
	f("pushes_over_100us", "pushes", func(x repResult) float64 { return x.over100us })
	f("pushes_over_1ms", "pushes", func(x repResult) float64 { return x.over1ms })
	f("run_time", "ms", func(x repResult) float64 { return x.runMS })
	f("cpu", "ms", func(x repResult) float64 { return x.cpuMS })
	var pss []bench.PauseSummary
	for _, x := range res {
		pss = append(pss, x.ps)
	}
	bench.EmitPauses("msgbuf", cas, pss)
	bench.Emit("msgbuf", cas, "gc_cycles", "cycles", bench.One(float64(st1.NumGC-st0.NumGC-uint32(reps))/float64(reps)))
	bench.Emit("msgbuf", cas, "peak_rss", "MiB", bench.One(bench.PeakRSSMiB()))
	bench.Finish(*csvPath)
}
