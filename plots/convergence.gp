# convergence.gp: residual against iteration for every solver, one panel per
# arithmetic (columns format, solver, i, residual_median, residual_max,
# nonfinite: problems whose residual is NaN/Inf at i).
name = "convergence"; width = 15.0; height = 5.4
load "gka_style.gp"
eval gka_collect('strcol("format")'); formats = gka_list
eval gka_collect('strcol("solver")'); solvers = gka_list
stitle(s) = s eq "cg" ? "cg (guarded)" : (s eq "cg-plain" ? "cg (plain)" : s)
ftitle(f) = f eq "fp64" ? "fp64" : (strstrt(f, "+") ? sprintf("%s state, %s iterates (the kernels' regime)", f[1:strstrt(f,"+")-1], f[strstrt(f,"+")+1:]) : sprintf("%s state, %s iterates (fp32 accumulation)", f, f))
colors = "#000000 #E69F00 #0072B2 #D55E00 #009E73 #CC79A7 #56B4E9"
do for [k=1:words(colors)] { set linetype k lc rgb word(colors,k) }
top = 1e2  # NaN/Inf residuals are drawn at this clamp value
sel(F,k) = strcol("format") eq F && strcol("solver") eq word(solvers,k)
set logscale y
set format y "1e%T"
set yrange [*:top*3]
set autoscale xfix
set xlabel "iteration i"
set ylabel "||(H+aI)x_i - q|| / ||q||" noenhanced
set multiplot layout 1, words(formats) margins 0.06,0.98,0.2,0.86 spacing 0.05,0 \
  title "median (solid) and worst (dashed) over problems; labels: problems with a NaN/Inf residual" font ",9" noenhanced
do for [f=1:words(formats)] {
  F = word(formats,f)
  set title ftitle(F) noenhanced
  unset key
  plot for [k=1:words(solvers)] data using "i":(sel(F,k) ? gka_fin(column("residual_median")) : NaN) \
         with lines lw 2 lc k, \
       for [k=1:words(solvers)] data using "i":(sel(F,k) ? gka_fin(column("residual_max")) : NaN) \
         with lines dt 2 lc k, \
       for [k=1:words(solvers)] data using "i":(sel(F,k) ? gka_bad(column("residual_max"), top) : NaN) \
         with points pt gka_bad_pt ps 0.8 lc k, \
       for [k=1:words(solvers)] data using "i":(sel(F,k) && column("nonfinite") > 0 && int(column("i")) % 10 == 0 ? top/4 : NaN):(sprintf("%d NaN", column("nonfinite"))) \
         with labels font ",7" tc lt k
}
eval gka_legend_strip(0.1)
plot for [k=1:words(solvers)] 2 with lines lw 2 lc k title stitle(word(solvers,k)), \
     2 with lines dt 2 lc rgb "gray" title "worst (dashed)", \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
