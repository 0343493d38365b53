# iterations.gp: Chebyshev's final error against the number of iterations r
# per format, with the Cholesky floor in the same format (columns format, r,
# err_max, err_median, cholesky_max).
name = "iterations"; width = 8.0; height = 5.4
load "gka_style.gp"
eval gka_collect('strcol("format")'); formats = gka_list
top = 1e2  # NaN/Inf errors are drawn at this clamp value
sel(k) = strcol("format") eq word(formats,k)
set multiplot layout 1,1 margins 0.1,0.97,0.24,0.92
set logscale y
set yrange [*:top*3]
set format y "1e%T"
set xlabel "Chebyshev iterations r"
set ylabel "||x_r - x*|| / ||x*||" noenhanced
set title "Chebyshev error vs r (worst: solid, median: dashed); Cholesky in the same format (dotted)" noenhanced
unset key
plot for [k=1:words(formats)] data using "r":(sel(k) ? gka_fin(column("err_max")) : NaN) \
       with linespoints pt 7 ps 0.3 lw 2 lc k, \
     for [k=1:words(formats)] data using "r":(sel(k) ? gka_fin(column("err_median")) : NaN) \
       with lines dt 2 lc k, \
     for [k=1:words(formats)] data using "r":(sel(k) ? gka_fin(column("cholesky_max")) : NaN) \
       with lines dt 3 lw 2 lc k, \
     for [k=1:words(formats)] data using "r":(sel(k) ? gka_bad(column("err_max"), top) : NaN) \
       with points pt gka_bad_pt ps 1 lc k
eval gka_legend_strip(0.1)
plot for [k=1:words(formats)] 2 with linespoints pt 7 lw 2 lc k title word(formats,k), \
     2 with lines dt 3 lw 2 lc rgb "black" title "cholesky (dotted)", \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
