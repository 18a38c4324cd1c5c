/* SPDX-License-Identifier: MIT */
// perf/peers/java/MsgBuf.java - the Java peer of perf/msgbuf, run with ZGC.
//
// A window of --window messages of --msg-size bytes; each push allocates a
// byte[] message, fills it (Arrays.fill), and stores it into slot i % window,
// dropping the message that was there. With --threads T the window and the
// pushes are split across T threads, all starting together. Every push is
// timed with System.nanoTime() (CLOCK_MONOTONIC) around allocation + fill +
// store. Reported per run, medians over --reps: longest push, p99.99,
// p99.9, p99, p50, mean, pushes over 100 us and over 1 ms, whole-run wall
// time, the process's CPU time over the run (OperatingSystemMXBean), GC
// cycles (GarbageCollectorMXBean), peak RSS (VmHWM; it overstates ZGC's
// footprint: Java 17's ZGC maps the heap three times and each mapping of a
// page counts). The CPU time has the kernel tick's 10 ms granularity.
//
// perf/msgbuf runs it as
//   java -XX:+UseZGC -Xmx<max(1 GiB, 4 x live bytes)> -cp DIR MsgBuf ...
// (Debian's default JDK, default-jdk-headless), with the environment
// variable PERF_BENCH_CHILD set: rows are then printed as "@@ROW\t..." lines
// for the parent (impl "java"); otherwise as a plain table.
// Build: javac -d DIR perf/peers/java/MsgBuf.java (perf/run does it).

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

public final class MsgBuf {
    static int window = 200000, msgSize = 1024, pushes = 2000000, reps = 3, threads = 1;
    static String cas = null;
    static final List<String> rows = new ArrayList<>();

    static long cpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean)
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        return 0;
    }

    static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            // ZGC reports "ZGC Cycles" and "ZGC Pauses"; count cycles only
            if (b.getName().contains("Pauses"))
                continue;
            n += Math.max(0, b.getCollectionCount());
        }
        return n;
    }

    static double peakRssMiB() {
        try {
            for (String l : Files.readAllLines(Paths.get("/proc/self/status")))
                if (l.startsWith("VmHWM:"))
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0;
        } catch (Exception e) {
            // not Linux: no figure
        }
        return 0;
    }

    static long pct(long[] sorted, double p) {
        int n = sorted.length;
        if (n == 0)
            return 0;
        int k = (int) (p * n + 0.999999999);
        if (k < 1)
            k = 1;
        if (k > n)
            k = n;
        return sorted[k - 1];
    }

    static void pushLoop(int w, long[] lat, int off, int n) {
        byte[][] win = new byte[w][];
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            byte[] m = new byte[msgSize];
            Arrays.fill(m, (byte) i);
            win[i % w] = m;
            lat[off + i] = System.nanoTime() - a;
        }
        if (win[0] == null && n > 0)
            throw new IllegalStateException("window lost");
    }

    // one repetition: returns {max, p99.99, p99.9, p99, p50 (us), mean (ns),
    // over 100 us, over 1 ms, run ms, cpu ms, gc cycles}
    static double[] runRep(long[] lat) throws Exception {
        Thread[] ts = new Thread[threads];
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        long[] t0 = new long[threads], t1 = new long[threads];
        int off = 0;
        for (int t = 0; t < threads; t++) {
            int w = window / threads + (t == 0 ? window % threads : 0);
            int n = pushes / threads + (t == 0 ? pushes % threads : 0);
            final int fw = Math.max(1, w), fo = off, fn = n, ft = t;
            off += n;
            ts[t] = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                t0[ft] = System.nanoTime();
                pushLoop(fw, lat, fo, fn);
                t1[ft] = System.nanoTime();
            });
            ts[t].start();
        }
        long gc0 = gcCount(), c0 = cpuNanos();
        start.await();
        for (Thread t : ts)
            t.join();
        long c1 = cpuNanos(), gc1 = gcCount();
        long a = Long.MAX_VALUE, b = 0;
        for (int t = 0; t < threads; t++) {
            a = Math.min(a, t0[t]);
            b = Math.max(b, t1[t]);
        }
        double sum = 0, over100 = 0, over1ms = 0;
        for (long v : lat) {
            sum += v;
            if (v > 100000)
                over100++;
            if (v > 1000000)
                over1ms++;
        }
        long[] s = lat.clone();
        Arrays.sort(s);
        return new double[] { s[s.length - 1] / 1e3, pct(s, 0.9999) / 1e3, pct(s, 0.999) / 1e3,
                pct(s, 0.99) / 1e3, pct(s, 0.50) / 1e3, sum / lat.length, over100, over1ms,
                (b - a) / 1e6, (c1 - c0) / 1e6, gc1 - gc0 };
    }

    static void emit(String metric, String unit, double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        int n = c.length;
        double med = n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
        rows.add(String.format("msgbuf\t%s\tjava\t%s\t%s\t%.17g\t%.17g\t%.17g\t%d", cas, metric, unit, med,
                c[0], c[n - 1], n));
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            String f = args[i];
            if (i + 1 >= args.length)
                usage(f);
            String v = args[++i];
            switch (f) {
            case "--window": window = Integer.parseInt(v); break;
            case "--msg-size": msgSize = Integer.parseInt(v); break;
            case "--pushes": pushes = Integer.parseInt(v); break;
            case "--reps": reps = Integer.parseInt(v); break;
            case "--threads": threads = Integer.parseInt(v); break;
            case "--case": cas = v; break;
            default: usage(f);
            }
        }
        if (window < 1 || msgSize < 1 || pushes < 1 || reps < 1 || threads < 1)
            usage("a value");
        if (cas == null)
            cas = "w" + window + "-" + msgSize + "B-" + threads + "t";
        boolean child = System.getenv("PERF_BENCH_CHILD") != null;
        System.out.printf("# java %s (%s), %s, max heap %d MiB, %d CPUs: window %d x %d B, %d pushes, %d threads, %d reps%n",
                System.getProperty("java.version"), System.getProperty("java.vm.name"),
                ManagementFactory.getRuntimeMXBean().getInputArguments(),
                Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors(), window,
                msgSize, pushes, threads, reps);
        long[] lat = new long[pushes];
        String[] names = { "push_max", "push_p99.99", "push_p99.9", "push_p99", "push_p50", "push_mean",
                "pushes_over_100us", "pushes_over_1ms", "run_time", "cpu", "gc_cycles" };
        String[] units = { "us", "us", "us", "us", "us", "ns", "pushes", "pushes", "ms", "ms", "cycles" };
        double[][] res = new double[names.length][reps];
        for (int r = 0; r < reps; r++) {
            System.gc();
            double[] x = runRep(lat);
            for (int k = 0; k < names.length; k++)
                res[k][r] = x[k];
            System.out.printf("# java     %dt rep %d: push max %.1f us, p99.99 %.1f us, p99.9 %.2f us, p99 %.2f us, p50 %.3f us; %.0f pushes > 100 us, %.0f > 1 ms; run %.1f ms wall, %.1f ms CPU, %.0f GC cycles%n",
                    threads, r + 1, x[0], x[1], x[2], x[3], x[4], x[6], x[7], x[8], x[9], x[10]);
            System.out.flush();
        }
        for (int k = 0; k < names.length; k++)
            emit(names[k], units[k], res[k]);
        emit("peak_rss", "MiB", new double[] { peakRssMiB() });
        for (String row : rows) {
            if (child) {
                System.out.println("@@ROW\t" + row);
            } else {
                String[] f = row.split("\t");
                System.out.printf("%-22s %-20s %-8s %12s%n", f[1], f[3], f[4], f[5]);
            }
        }
        System.out.flush();
    }

    static void usage(String bad) {
        System.err.println("MsgBuf: bad flag " + bad
                + " (--window N --msg-size N --pushes N --reps N --threads N --case NAME)");
        System.exit(2);
    }
}
