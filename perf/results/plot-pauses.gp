set terminal pngcairo size 1100,650 font "sans,10"
set datafile missing "?"
set key outside right top
set grid
set termoption noenhanced
set output "pauses.png"
set logscale y
set xlabel "percentile"
set ylabel "pause (us)"
set title "Pause distribution"
set arrow from graph 0, first 100 to graph 1, first 100 nohead dt 2
plot for [i=2:10] "pauses.dat" using 0:i:xtic(1) with linespoints lw 2 title columnheader(i)
