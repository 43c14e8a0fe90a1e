# bench/plot/common.gp -- shared style for bench/plot.sh's plots (loaded by the others).
set datafile separator "\t"
set datafile missing "NaN"
set border 3 lw 1
set grid lc rgb "#dddddd" lw 1
set tics nomirror
set style fill solid 0.75 border -1
# one colour per way / variant / program, the same in every plot
set linetype 1 lc rgb "#1f77b4" lw 2 pt 7 ps 0.8
set linetype 2 lc rgb "#ff7f0e" lw 2 pt 5 ps 0.8
set linetype 3 lc rgb "#2ca02c" lw 2 pt 9 ps 0.9
set linetype 4 lc rgb "#d62728" lw 2 pt 11 ps 0.9
set linetype 5 lc rgb "#9467bd" lw 2 pt 13 ps 0.9
set linetype 6 lc rgb "#8c564b" lw 2 pt 3 ps 0.9
# Place the next plot: eval panel(left, right, bottom, top) (screen fractions).
panel(l, r, b, t) = sprintf("set lmargin at screen %g; set rmargin at screen %g; set bmargin at screen %g; set tmargin at screen %g", l, r, b, t)
# Turn the next plot into a strip that shows only the key (plot series at
# (-1,-1), outside the range): eval keystrip(bottom, top).
keystrip(b, t) = panel(0.02, 0.98, b, t) . "; unset border; unset tics; unset xlabel; unset ylabel; unset title; unset logscale; unset grid; unset arrow; unset label; unset object; set xrange [0:1]; set yrange [0:1]; set key center center horizontal samplen 2 width 1"
