set terminal pngcairo size 1100,650 font "sans,10"
set datafile missing "?"
set key outside right top
set grid
set termoption noenhanced
set output "fin_vs_cleanup-pipe-cost.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [*:*]
set xlabel "handler cost (on top of the release)"
set ylabel "resources released per second"
set title "fin_vs_cleanup (pipe, 2 threads): throughput vs handler cost"
plot for [i=2:7] "fin_vs_cleanup-pipe-cost.dat" using i:xtic(1) title columnheader(i)
