set terminal pngcairo size 1100,650 font "sans,10"
set datafile missing "?"
set key outside right top
set grid
set termoption noenhanced
set output "fin_vs_cleanup-pipe-pool.png"
set logscale x 2
set logscale y
set xlabel "cleanup_workers (pool size)"
set ylabel "resources released per second"
set title "fin_vs_cleanup (pipe, 2 threads): throughput vs pool size; dashed: tricolor finalizer, dotted: bdwgc finalizer"
plot "fin_vs_cleanup-pipe-pool.dat" using 1:2 with linespoints lw 2 lc 1 pt 7 title "cleanup, cost0", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:3 with lines dt 2 lw 2 lc 1 title "tri finalizer, cost0", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:4 with lines dt 3 lw 2 lc 1 title "bdwgc finalizer, cost0", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:5 with linespoints lw 2 lc 2 pt 7 title "cleanup, cpu10us", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:6 with lines dt 2 lw 2 lc 2 title "tri finalizer, cpu10us", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:7 with lines dt 3 lw 2 lc 2 title "bdwgc finalizer, cpu10us", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:8 with linespoints lw 2 lc 3 pt 7 title "cleanup, block100us", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:9 with lines dt 2 lw 2 lc 3 title "tri finalizer, block100us", \
     "fin_vs_cleanup-pipe-pool.dat" using 1:10 with lines dt 3 lw 2 lc 3 title "bdwgc finalizer, block100us"
