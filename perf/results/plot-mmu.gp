set terminal pngcairo size 1100,650 font "sans,10"
set datafile missing "?"
set key outside right top
set grid
set termoption noenhanced
set output "mmu.png"
set logscale x 10
set yrange [0:100]
set xlabel "window (ms)"
set ylabel "MMU (%)"
set title "Minimum mutator utilization (worst thread)"
set arrow from 10, graph 0 to 10, graph 1 nohead dt 2
set arrow from graph 0, first 70 to graph 1, first 70 nohead dt 2
plot "mmu.dat" index 0 using 1:2 with linespoints lw 2 title "churn 1t tricolor", \
     "mmu.dat" index 1 using 1:2 with linespoints lw 2 title "churn 8t tricolor", \
     "mmu.dat" index 2 using 1:2 with linespoints lw 2 title "churn 64t tricolor", \
     "mmu.dat" index 3 using 1:2 with linespoints lw 2 title "msgbuf w20000-1024B tricolor", \
     "mmu.dat" index 4 using 1:2 with linespoints lw 2 title "churn 1t bdwgc", \
     "mmu.dat" index 5 using 1:2 with linespoints lw 2 title "churn 8t bdwgc", \
     "mmu.dat" index 6 using 1:2 with linespoints lw 2 title "churn 64t bdwgc", \
     "mmu.dat" index 7 using 1:2 with linespoints lw 2 title "msgbuf w20000-1024B bdwgc", \
     "mmu.dat" index 8 using 1:2 with linespoints lw 2 title "msgbuf w20000-1024B go"
