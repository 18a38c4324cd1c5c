set terminal pngcairo size 1100,650 font "sans,10"
set datafile missing "?"
set key outside right top
set grid
set termoption noenhanced
set output "alloc.png"
set logscale x 2
set logscale y
set xlabel "object size (bytes)"
set ylabel "ns per allocation"
set title "Allocation cost by size"
plot for [i=2:9] "alloc.dat" using 1:i with linespoints lw 2 title columnheader(i)
