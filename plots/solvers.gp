# solvers.gp: every solver under the same arithmetic. One heatmap per
# (regime, ridge): rows formats, columns solvers, colour the median error
# (columns regime, ridge, format, solver, regime_index, ridge_index,
# format_index, solver_index, status, err_median, err_max, nan_tokens,
# overflow_tokens). The tic labels come from the rows themselves.
name = "solvers"; width = 20.0; height = 18.0
load "gka_style.gp"
eval gka_collect('strcol("regime")'); regimes = gka_list
eval gka_collect('strcol("ridge")'); ridges = gka_list
stats data using "solver_index" nooutput; nsolver = int(STATS_max) + 1
stats data using "format_index" nooutput; nformat = int(STATS_max) + 1
regime_title(R) = R eq "token" ? "token form: H_t in the format every token, iterates in the format" : \
  (R eq "token-fp32-iterates" ? "token form: H_t in the format every token, fp32 iterates" : \
  (R eq "chunk-fp32-carry" ? "chunk form, fp32 carry (kernels): fp32 running state, snapshots in the format, fp32 iterates" : \
  (R eq "chunk-format-carry" ? "chunk form, state carried in the format, fp32 iterates" : R)))
lg(v) = (v > 0 && v < 1e300) ? log10(v) : (v == 0 ? -17 : NaN)
fe(v) = (v == v && v < 1e300) ? sprintf("%.1e", v) : "NaN"
lbl(m, w, n, o) = fe(m) . "\nmax " . fe(w) . (n > 0 ? sprintf("\nNaN x: %d", n) : "") . (o > 0 ? sprintf("\novf: %d", o) : "")
here(R, G) = strcol("regime") eq R && strcol("ridge") eq G
set palette defined (-17 "#2c7bb6", -12 "#abd9e9", -7 "#ffffbf", -3 "#fdae61", 1 "#d7191c")
set cbrange [-17:1]
set cbtics ("1e-16" -16, "1e-12" -12, "1e-8" -8, "1e-4" -4, "1" 0) font ",7"
set cblabel "median rel. error ||x - x*|| / ||x*|| (log scale)" font ",8"
set xtics () rotate by 25 right font ",7" nomirror
set ytics () font ",8" nomirror
# tic labels: each solver (format) at its own index, as the rows give them
eval gka_collect('strcol("solver")'); solvers = gka_list
eval gka_collect('strcol("format")'); formats = gka_list
do for [k=1:words(solvers)] {
  stats data using (strcol("solver") eq word(solvers,k) ? column("solver_index") : NaN) nooutput
  set xtics add (word(solvers,k) STATS_min)
}
do for [k=1:words(formats)] {
  stats data using (strcol("format") eq word(formats,k) ? column("format_index") : NaN) nooutput
  set ytics add (word(formats,k) STATS_min)
}
set xrange [-0.5:nsolver-0.5]
set yrange [nformat-0.5:-0.5]
set ylabel "format (storage; fp32 accumulation)" font ",8"
unset grid
unset key
set multiplot layout words(regimes), words(ridges) margins 0.05,0.93,0.05,0.93 spacing 0.035,0.055 \
  title "every solver under the same arithmetic: median rel. error (colour, first line), worst (max), tokens whose x is NaN/Inf and tokens with an overflow flag; x* = fp64 LAPACK solve of the same rounded problem\ndark cells: the median token's answer is NaN/Inf (failed); hatched grey: n/a (the row's note in the CSV says why)" font ",10" noenhanced
do for [R in regimes] { do for [g=1:words(ridges)] {
  G = word(ridges,g)
  set title sprintf("%s\nridge %s", regime_title(R), G) font ",8" noenhanced
  if (g == words(ridges)) { set colorbox } else { unset colorbox }
  plot data using (column("solver_index")):(here(R,G) && strcol("status") eq "ok" ? column("format_index") : NaN):(0.5):(0.5):(lg(column("err_median"))) \
         with boxxyerror fs solid 1.0 noborder fc palette, \
       data using (column("solver_index")):(here(R,G) && strcol("status") eq "nonfinite" ? column("format_index") : NaN):(0.5):(0.5) \
         with boxxyerror fs solid 1.0 noborder fc rgb "#303030", \
       data using (column("solver_index")):(here(R,G) && strcol("status") eq "n/a" ? column("format_index") : NaN):(0.5):(0.5) \
         with boxxyerror fs pattern 4 lc rgb "#b0b0b0", \
       data using (column("solver_index")):(here(R,G) && strcol("status") eq "ok" ? column("format_index") : NaN):(lbl(column("err_median"), column("err_max"), column("nan_tokens"), column("overflow_tokens"))) \
         with labels font ",7" tc rgb "black", \
       data using (column("solver_index")):(here(R,G) && strcol("status") eq "nonfinite" ? column("format_index") : NaN):(lbl(column("err_median"), column("err_max"), column("nan_tokens"), column("overflow_tokens"))) \
         with labels font ",7" tc rgb "white", \
       data using (column("solver_index")):(here(R,G) && strcol("status") eq "n/a" ? column("format_index") : NaN):("n/a") \
         with labels font ",7" tc rgb "#505050"
} }
unset multiplot
