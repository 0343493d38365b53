# precision.gp: relative forward error against token, one row of panels per
# format, one column per (gating, ridge), one series per solver (columns
# gating, ridge, format, solver, t, err). Loaded by trace.gp too, with
# `name` set before: set name and size, then `load "precision.gp"` draws the
# same panels from that figure's CSV.
if (!exists("name")) name = "precision"
if (!exists("width")) width = 18.0
if (!exists("height")) height = 12.5
load "gka_style.gp"
eval gka_collect('strcol("format")'); formats = gka_list
eval gka_collect('strcol("ridge")'); ridges = gka_list
eval gka_collect('strcol("gating")'); gatings = gka_list
eval gka_collect('strcol("solver")'); solvers = gka_list
stitle(s) = s eq "kalman-token" ? "kalman info (token form)" : \
  (s eq "kalman-joseph-token" ? "kalman joseph (token form)" : \
  (s eq "chebyshev-chunk" ? "chebyshev chunk form (fp32 iterates)" : \
  (strstrt(s, "-token") ? s[1:strstrt(s,"-token")-1] . " (token form)" : s)))
# token form: the state H_t is stored in the panel's format and rounded every token
colors = "#9400D3 #009E73 #56B4E9 #E69F00 #0072B2 #CC79A7"
do for [k=1:words(solvers)] { set linetype k lc rgb word(colors, (k-1) % words(colors) + 1) lw 1 dt 1 pt 7 ps 0.25 }
# the chunk form: thick, dashed, black, open squares
do for [k=1:words(solvers)] { if (strstrt(word(solvers,k), "chunk")) { set linetype k lc rgb "black" lw 2.5 dt 2 pt 4 ps 0.5 } }
top = 1e2  # failures (NaN/Inf) are drawn at this clamp value
sel(G,R,F,k) = strcol("gating") eq G && strcol("ridge") eq R && strcol("format") eq F && strcol("solver") eq word(solvers,k)
set multiplot layout words(formats), words(ridges)*words(gatings) margins 0.05,0.99,0.08,0.93 spacing 0.03,0.035 \
  title "rel. error ||x_t - x*_t|| / ||x*_t|| vs token.  token form: state H_t stored in the panel's format, rounded every token;  chunk form: running state in fp32, chunk start snapshots in the format, fp32 iterates.\ncrosses at the top edge: NaN/Inf answers (failures)" font ",9" noenhanced
set logscale xy
set yrange [1e-17:top*3]
set format y "1e%T"
set format x "%g"
set autoscale xfix
set ytics 1e-16,1e4,1e2 font ",6"
set xtics font ",6"
do for [f=1:words(formats)] { do for [G in gatings] { do for [R in ridges] {
  F = word(formats,f)
  set title sprintf("%s  %s  gates %s", F, R, G) font ",7" noenhanced offset 0,-0.6
  set ylabel "rel. error" font ",6" offset 1.5,0
  if (f == words(formats)) { set xlabel "token t" font ",7" } else { unset xlabel }
  unset key
  plot for [k=1:words(solvers)] data using "t":(sel(G,R,F,k) ? gka_fin(column("err")) : NaN) \
         with linespoints lt k, \
       for [k=1:words(solvers)] data using "t":(sel(G,R,F,k) ? gka_bad(column("err"), top) : NaN) \
         with points lt k pt gka_bad_pt ps 0.6
} } }
eval gka_legend_strip(0.05)
plot for [k=1:words(solvers)] 2 with linespoints lt k title stitle(word(solvers,k)), \
     2 with points pt gka_bad_pt ps 0.8 lc rgb "black" title gka_bad_title
unset multiplot
