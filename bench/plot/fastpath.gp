# bench/plot/fastpath.gp -- ns/get (median, min..max) and instructions/get per
# variant of the fastpath programs.  Variables (gnuplot -e): data, out, nrows,
# ninstr, cpu, date.  data columns: idx, "program: variant", ns_median,
# ns_min, ns_max, instr_per_get, program number (1 c, 2 cxx, 3 rust, 4 other).
load "bench/plot/common.gp"
stats data using 3 nooutput
xmax = STATS_max
stats data using 5 nooutput
if (STATS_max > xmax) xmax = STATS_max
if (ninstr > 0) { stats data using 6 nooutput; imax = STATS_max }
set terminal svg size 1100, (150 + nrows * 24) dynamic noenhanced font "sans,12" background rgb "white"
set output out
set multiplot title sprintf("memo: one get of a READY value, one thread -- %s -- %s", cpu, date)
set yrange [nrows - 0.5 : -0.5]
set ytics scale 0
set grid xtics noytics
set key at screen 0.5, screen (1 - 28.0 / (150 + nrows * 24)) center top horizontal samplen 1.5
set bmargin at screen (50.0 / (150 + nrows * 24))
set tmargin at screen (1 - 60.0 / (150 + nrows * 24))

set xrange [0 : xmax * 1.2]
set xlabel "ns per get (median of the runs; bar = min..max)"
set lmargin at screen 0.2
set rmargin at screen (ninstr > 0 ? 0.6 : 0.97)
plot NaN with boxes lt 1 title "C", NaN with boxes lt 2 title "C++", NaN with boxes lt 3 title "Rust", \
     data using ($3 / 2):1:($3 / 2):(0.35):7:ytic(2) with boxxy lc variable notitle, \
     data using 3:1:4:5 with xerrorbars pt 0 lc rgb "#333333" lw 1 notitle, \
     data using (($5 == $5 ? $5 : $3)):1:(sprintf(" %.2f", $3)) with labels left offset char 0.3, 0 font ",10" notitle

if (ninstr > 0) {
    unset key
    set xrange [0 : imax * 1.2]
    set xlabel "instructions per get (callgrind)"
    set lmargin at screen 0.64
    set rmargin at screen 0.97
    set format y ""
    plot data using ($6 / 2):1:($6 / 2):(0.35):7 with boxxy lc variable notitle, \
         data using 6:1:(sprintf(" %.1f", $6)) with labels left offset char 0.3, 0 font ",10" notitle
}
unset multiplot
