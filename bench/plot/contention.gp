# bench/plot/contention.gp -- per constructor duration: waiters' CPU (top row)
# and wall time (bottom row) vs threads, one line per way of waiting.
# Variables: dir (contention_{cpu,wall}_<ctor>.tsv inside), out, ctors
# ("0 1 50"), capped (count of capped points), rounds, cpu, date.
load "bench/plot/common.gp"
n = words(ctors)
W = 320 * n + 140
H = 800
set terminal svg size W, H dynamic noenhanced font "sans,12" background rgb "white"
set output out
set multiplot title \
    sprintf("memo: threads arriving together on an EMPTY value (median of %s rounds) -- %s -- %s", rounds, cpu, date)
L = 95.0 / W
R = 0.98
G = 60.0 / W
PW = (R - L - (n - 1) * G) / n
set logscale x 2
set logscale y 10
set format y "%g"
set xlabel "threads" offset 0, 0.5
unset key
do for [i = 1 : n] {
    c = word(ctors, i)
    eval panel(L + (i - 1) * (PW + G), L + (i - 1) * (PW + G) + PW, 0.585, 0.9)
    set title sprintf("ctor %s ms: waiters' CPU", c)
    set ylabel (i == 1 ? "CPU ms, summed over the waiters" : "")
    plot for [k = 2 : 6] sprintf("%s/contention_cpu_%s.tsv", dir, c) using 1:k with linespoints lt (k - 1) notitle
}
do for [i = 1 : n] {
    c = word(ctors, i)
    eval panel(L + (i - 1) * (PW + G), L + (i - 1) * (PW + G) + PW, 0.165, 0.48)
    set title sprintf("ctor %s ms: wall time", c)
    set ylabel (i == 1 ? "ms, first get .. last return" : "")
    plot for [k = 2 : 6] sprintf("%s/contention_wall_%s.tsv", dir, c) using 1:k with linespoints lt (k - 1) notitle
}
eval keystrip(0.0, 0.085)
set key maxrows 2
if (capped > 0) {
    set label 1 sprintf("missing spin+pause points: %d capped (a round ran past the cap)", capped) \
        at screen 0.98, screen 0.1 right font ",10"
}
f = sprintf("%s/contention_cpu_%s.tsv", dir, word(ctors, 1))
plot for [k = 2 : 6] f using (-1):(-1) with linespoints lt (k - 1) title columnheader(k)
unset multiplot
