# ridge-sweep.gp: Chebyshev's regularised residual against iteration for each
# ridge ratio a, one panel per format (columns format, a, i, residual_max,
# residual_median).
name = "ridge-sweep"; width = 10.0; height = 4.6
load "gka_style.gp"
eval gka_collect('strcol("format")'); formats = gka_list
eval gka_collect('strcol("a")'); avals = gka_list
top = 1e2  # NaN/Inf residuals are drawn at this clamp value
sel(F,k) = strcol("format") eq F && strcol("a") eq word(avals,k)
set multiplot layout 1, words(formats) margins 0.08,0.98,0.2,0.9 spacing 0.08,0
set logscale y
set format y "1e%T"
set xlabel "iteration i"
set ylabel "||(H+aI)x_i - q|| / ||q||" noenhanced
unset key
do for [f=1:words(formats)] {
  F = word(formats,f)
  set title sprintf("Chebyshev, %s: worst (solid), median (dashed) over tokens", F) noenhanced
  plot for [k=1:words(avals)] data using "i":(sel(F,k) ? gka_fin(column("residual_max")) : NaN) \
         with lines lw 2 lc k, \
       for [k=1:words(avals)] data using "i":(sel(F,k) ? gka_fin(column("residual_median")) : NaN) \
         with lines dt 2 lc k, \
       for [k=1:words(avals)] data using "i":(sel(F,k) ? gka_bad(column("residual_max"), top) : NaN) \
         with points pt gka_bad_pt ps 1 lc k
}
eval gka_legend_strip(0.09)
plot for [k=1:words(avals)] 2 with lines lw 2 lc k title sprintf("a = %g", real(word(avals,k))), \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
