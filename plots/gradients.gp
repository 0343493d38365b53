# gradients.gp: gradient error against iterations for CG and Chebyshev,
# implicit and through the iterations; rows: the quantity ([dq, dk], dg,
# dbeta), columns: (gating, format) (columns gating, format, solver, mode,
# iteration, err_qk_median, err_g_median, err_beta_median).
name = "gradients"; width = 16.0; height = 10.0
load "gka_style.gp"
eval gka_collect('strcol("gating")'); gatings = gka_list
eval gka_collect('strcol("format")'); formats = gka_list
eval gka_collect('strcol("solver")'); solvers = gka_list
modes = "implicit iterations"  # the rows implicit_vs_iterations compare the two: not drawn
mtitle(m) = m == 1 ? "implicit" : "through the iterations"
qcols = "err_qk_median err_g_median err_beta_median"
qnames = "'[dq, dk]' 'dg (log decay gates)' 'dbeta (write gates)'"
top = 10.0  # NaN/Inf medians are drawn at this clamp value
sel(G,F,k,m) = strcol("gating") eq G && strcol("format") eq F && strcol("solver") eq word(solvers,k) && strcol("mode") eq word(modes,m)
set logscale y
set format y "1e%T"
set yrange [*:top*2]
set autoscale xfix
set ytics font ",7"
set xtics font ",7"
set multiplot layout words(qcols), words(gatings)*words(formats) margins 0.06,0.99,0.1,0.92 spacing 0.05,0.07 \
  title "gradient error vs the exact-solution gradient of the same rounded problem (median over streams)\nungated (none) and with GKA decay gates + sigmoid write gates (gka); bf16: storage with fp32 accumulation" font ",9" noenhanced
do for [q=1:words(qcols)] { do for [G in gatings] { do for [F in formats] {
  Q = word(qcols,q)
  set title sprintf("%s  gates %s  %s", word(qnames,q), G, F) font ",8" noenhanced
  set ylabel sprintf("rel. error of %s", word(qnames,q)) font ",7" noenhanced
  if (q == words(qcols)) { set xlabel "iterations r" font ",7" } else { unset xlabel }
  unset key
  plot for [k=1:words(solvers)] for [m=1:2] data using "iteration":(sel(G,F,k,m) ? gka_fin(column(Q)) : NaN) \
         with linespoints lw 2 dt m pt (m == 1 ? 7 : 6) ps 0.4 lc k, \
       for [k=1:words(solvers)] for [m=1:2] data using "iteration":(sel(G,F,k,m) ? gka_bad(column(Q), top) : NaN) \
         with points pt gka_bad_pt ps 1.2 lc k
} } }
eval gka_legend_strip(0.07)
plot for [k=1:words(solvers)] for [m=1:2] 2 with linespoints lw 2 dt m pt (m == 1 ? 7 : 6) lc k title word(solvers,k)." ".mtitle(m), \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
