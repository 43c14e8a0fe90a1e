# bench/plot/scaling.gp -- READY getter throughput (left) and CPU ns per get
# (right) vs threads.  Variables: dir (scaling_{gets,cpu}.tsv), out, nv (number
# of variants), ncpu, cpu, date.
load "bench/plot/common.gp"
set terminal svg size 1000, 500 dynamic noenhanced font "sans,12" background rgb "white"
set output out
set multiplot title sprintf("memo: READY getter, threads on %d CPUs -- %s -- %s", ncpu, cpu, date)
set logscale x 2
set xlabel "threads (right of the dashed line: more threads than CPUs)"
set arrow 1 from ncpu, graph 0 to ncpu, graph 1 nohead dt 2 lc rgb "#888888"
unset key
eval panel(0.08, 0.48, 0.2, 0.86)
set title "total gets per second (all threads)"
set ylabel "gets/s (billions)"
set yrange [0 : *]
plot for [k = 2 : nv + 1] sprintf("%s/scaling_gets.tsv", dir) using 1:(column(k) / 1e9) with linespoints lt (k - 1) notitle
eval panel(0.58, 0.98, 0.2, 0.86)
set title "CPU ns per get (per thread)"
set ylabel "ns"
plot for [k = 2 : nv + 1] sprintf("%s/scaling_cpu.tsv", dir) using 1:k with linespoints lt (k - 1) notitle
eval keystrip(0.0, 0.08)
plot for [k = 2 : nv + 1] sprintf("%s/scaling_cpu.tsv", dir) using (-1):(-1) with linespoints lt (k - 1) title columnheader(k)
unset multiplot
