/* SPDX-License-Identifier: MIT */
// Command gcbench is the Go peer of perf/gcbench: the Boehm & Ellis GCBench
// (binary trees) with the same parameters and the same multithreaded
// variant (with -threads N > 1, N goroutines run the temporary-tree phases,
// each doing the full work). The node is Boehm's {left, right, int i,
// int j}: 24 bytes (int32 fields); -node32 pads it to 32 bytes, the older
// variant of the suite, reported as cases node32-Nt. Wall time and the
// process's user+sys CPU time (getrusage) are reported for every run.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"tricolor/perf/peers/go/internal/bench"
)

type node struct {
	left, right *node
	i, j        int32
}

// node32 is the padded variant; only its size differs (the tree is built
// from the same node type, and the padding comes from a parallel type).
type node32 struct {
	node
	pad int64
}

var (
	kStretch    = flag.Int("stretch-depth", 18, "stretch tree depth (quick 16)")
	kLongLived  = flag.Int("long-lived-depth", 16, "long-lived tree depth (quick 14)")
	kMin        = flag.Int("min-depth", 4, "smallest temporary tree depth")
	kMax        = flag.Int("max-depth", 16, "largest temporary tree depth (quick 14)")
	kArray      = flag.Int("array", 500000, "doubles in the long-lived array")
	verbose     = flag.Bool("verbose", false, "per-depth times")
	csvPath     = flag.String("csv", "", "append rows to this CSV file")
	quick       = flag.Bool("quick", false, "short run")
	repsFlag    = flag.Int("reps", 0, "repetitions (3; quick 1)")
	threadsFlag = flag.String("threads", "1,2", "thread counts")
	node32Flag  = flag.Bool("node32", false, "32-byte nodes (not the standard form)")
)

// newNode allocates one node: 24 bytes, or 32 with -node32.
func newNode() *node {
	if *node32Flag {
		return &(&node32{}).node
	}
	return &node{}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func treeSize(d int) int64 { return (int64(1) << uint(d+1)) - 1 }

func numIters(d int) int64 { return 2 * treeSize(*kStretch) / treeSize(d) }

func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = newNode()
	n.right = newNode()
	populate(depth, n.left)
	populate(depth, n.right)
}

func makeTree(depth int) *node {
	if depth <= 0 {
		return newNode()
	}
	l, r := makeTree(depth-1), makeTree(depth-1)
	n := newNode()
	n.left, n.right = l, r
	return n
}

var sink *node

func timeConstruction(depth, tid int) {
	iters := numIters(depth)
	t0 := time.Now()
	for i := int64(0); i < iters; i++ {
		tmp := newNode()
		populate(depth, tmp)
		sink = tmp
		sink = nil
	}
	t1 := time.Now()
	for i := int64(0); i < iters; i++ {
		tmp := makeTree(depth)
		sink = tmp
		sink = nil
	}
	t2 := time.Now()
	if *verbose {
		fmt.Printf("#   [t%d] depth %2d: %6d trees top-down %8.1f ms, bottom-up %8.1f ms\n",
			tid, depth, iters, float64(t1.Sub(t0))/1e6, float64(t2.Sub(t1))/1e6)
	}
}

func tempPhases(tid int) {
	for d := *kMin; d <= *kMax; d += 2 {
		timeConstruction(d, tid)
	}
}

func checkNode(n *node, depth int) bool {
	if depth <= 0 {
		return n != nil
	}
	return n != nil && checkNode(n.left, depth-1) && checkNode(n.right, depth-1)
}

func runOnce(threads int) (float64, float64) {
	c0 := cpuSeconds()
	t0 := time.Now()
	tmp := makeTree(*kStretch)
	sink = tmp
	sink = nil
	tmp = nil

	longLived := newNode()
	populate(*kLongLived, longLived)
	array := make([]float64, *kArray)
	for i := 0; i < *kArray/2; i++ {
		array[i] = 1.0 / float64(i)
	}
	if threads <= 1 {
		tempPhases(0)
	} else {
		var wg sync.WaitGroup
		for k := 0; k < threads; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				tempPhases(k)
			}(k)
		}
		wg.Wait()
	}
	if !checkNode(longLived, *kLongLived) || array[1000] != 1.0/1000 {
		fmt.Fprintln(os.Stderr, "gcbench: long-lived data was corrupted!")
		os.Exit(3)
	}
	ms := float64(time.Since(t0)) / 1e6
	cpu := (cpuSeconds() - c0) * 1e3
	runtime.KeepAlive(longLived)
	runtime.KeepAlive(array)
	return ms, cpu
}

func main() {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["stretch-depth"] {
			*kStretch = 16
		}
		if !set["long-lived-depth"] {
			*kLongLived = 14
		}
		if !set["max-depth"] {
			*kMax = 14
		}
	}
	reps := *repsFlag
	if reps <= 0 {
		reps = 3
		if *quick {
			reps = 1
		}
	}
	threads, err := bench.ParseList(*threadsFlag)
	if err != nil || *kArray <= 1000 || *kMax < *kMin {
		fmt.Fprintln(os.Stderr, "gcbench: bad flags")
		os.Exit(2)
	}
	if !bench.IsChild() {
		fmt.Printf("gcbench (Go %s, GOMAXPROCS %d): stretch depth %d, long-lived depth %d, array %d, depths %d..%d, threads %v, %d reps\n",
			runtime.Version(), runtime.GOMAXPROCS(0), *kStretch, *kLongLived, *kArray, *kMin, *kMax, threads, reps)
	}
	for _, t := range threads {
		var ms, cpu []float64
		var st0, st1 runtime.MemStats
		runtime.ReadMemStats(&st0)
		for r := 0; r < reps; r++ {
			w, c := runOnce(t)
			ms = append(ms, w)
			cpu = append(cpu, c)
		}
		runtime.ReadMemStats(&st1)
		s := bench.Of(ms)
		cas := fmt.Sprintf("%dt", t)
		if *node32Flag {
			cas = "node32-" + cas
		}
		cycles := float64(st1.NumGC-st0.NumGC) / float64(reps)
		fmt.Printf("# go        %-4s median %9.1f ms (min %.1f, max %.1f) over %d reps, %.0f GC cycles/rep\n",
			cas, s.Median, s.Min, s.Max, reps, cycles)
		bench.Emit("gcbench", cas, "time", "ms", s)
		bench.Emit("gcbench", cas, "cpu", "ms", bench.Of(cpu))
		bench.Emit("gcbench", cas, "gc_cycles", "cycles", bench.One(cycles))
	}
	bench.Emit("gcbench", "all", "peak_rss", "MiB", bench.One(bench.PeakRSSMiB()))
	bench.Finish(*csvPath)
}
