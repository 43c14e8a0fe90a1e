# bench/plot/storm.gp -- a constructor that always fails: attempts/s reaching
# the "server" (left) and gets/s served (right) per backoff setting.
# Variables: data (idx, setting, attempts/s, gets/s, threads), out, nrows, cpu, date.
load "bench/plot/common.gp"
set terminal svg size 1000, 460 dynamic noenhanced font "sans,12" background rgb "white"
set output out
thr = system(sprintf("head -n 1 '%s' | cut -f5", data))
set multiplot layout 1, 2 title sprintf("memo: failure storm, %s threads call memo_get, the constructor always fails -- %s -- %s", thr, cpu, date) \
    margins 0.1, 0.98, 0.1, 0.86 spacing 0.1, 0.1
set logscale y 10
set format y "%.0s%c"
set boxwidth 0.6
set xrange [-0.6 : nrows - 0.4]
set grid ytics noxtics
set xtics scale 0
set title "attempts per second (load on the server)"
set ylabel "constructor calls / s"
set yrange [1 : *]
plot data using 1:3:(1 + $1):xtic(2) with boxes lc variable notitle, \
     data using 1:3:(gprintf("%.1s%c", $3)) with labels offset 0, 0.8 font ",11" notitle
set title "gets served per second (each returned the error)"
set ylabel "memo_get calls / s"
plot data using 1:4:(1 + $1):xtic(2) with boxes lc variable notitle, \
     data using 1:4:(gprintf("%.1s%c", $4)) with labels offset 0, 0.8 font ",11" notitle
unset multiplot
