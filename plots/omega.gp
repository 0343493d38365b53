# omega.gp: the Chebyshev schedule omega_i and its limit omega*, and the
# measured fp64 residuals against the bound 2R^i/(1+R^2i), per ridge ratio a
# (columns a, i, omega_fp64, omega_bf16, omega_star, residual_max, bound).
name = "omega"; width = 10.0; height = 4.6
load "gka_style.gp"
eval gka_collect('strcol("a")'); avals = gka_list
top = 10.0  # NaN/Inf residuals are drawn at this clamp value
set multiplot layout 1,2 margins 0.07,0.98,0.2,0.9 spacing 0.08,0
set title "Chebyshev schedule omega_i (line), its limit omega* (dashed), bf16 schedule (+)" noenhanced
set xlabel "iteration i"
set ylabel "omega_i" noenhanced
unset key
plot for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? column("omega_fp64") : NaN) \
       with linespoints pt 7 ps 0.4 lc k, \
     for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? column("omega_star") : NaN) \
       with lines dt 2 lc k, \
     for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? column("omega_bf16") : NaN) \
       with points pt 1 ps 0.5 lc k
set title "residual: measured (fp64, worst token) vs bound 2R^i/(1+R^{2i}) (dashed)" noenhanced
set ylabel "||(H+lambda I)x_i - q|| / ||q||" noenhanced
set logscale y
set format y "1e%T"
plot for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? gka_fin(column("residual_max")) : NaN) \
       with linespoints pt 7 ps 0.4 lc k, \
     for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? gka_bad(column("residual_max"), top) : NaN) \
       with points pt gka_bad_pt ps 1 lc k, \
     for [k=1:words(avals)] data using "i":(strcol("a") eq word(avals,k) ? column("bound") : NaN) \
       with lines dt 2 lc k
eval gka_legend_strip(0.09)
plot for [k=1:words(avals)] 2 with linespoints pt 7 lc k title sprintf("a = %g", real(word(avals,k))), \
     2 with lines dt 2 lc rgb "black" title "omega* / bound", \
     2 with points pt 1 lc rgb "black" title "bf16 schedule", \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
