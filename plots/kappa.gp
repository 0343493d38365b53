# kappa.gp: kappa(H_t + lambda_t I) against token t, one panel per (keys,
# gates), one series per ridge (columns keys, gates, ridge, ridge_value, t,
# kappa, bound). The dashed line of each adaptive ridge is its bound
# (||H||_F + lambda)/lambda = (1+a)/a, read from the column bound.
name = "kappa"; width = 9.0; height = 9.5
load "gka_style.gp"
eval gka_collect('strcol("keys")'); keyset = gka_list
eval gka_collect('strcol("gates")'); gateset = gka_list
eval gka_collect('strcol("ridge") . ":" . strcol("ridge_value")'); ridges = gka_list
rkind(r) = word(ridges,r)[1:strstrt(word(ridges,r),":")-1]
rval(r) = real(word(ridges,r)[strstrt(word(ridges,r),":")+1:])
rtitle(r) = rkind(r) eq "adaptive" ? sprintf("adaptive a = %g", rval(r)) : sprintf("%s lambda %g", rkind(r), rval(r))
sel(K,G,r) = strcol("keys") eq K && strcol("gates") eq G && strcol("ridge") . ":" . strcol("ridge_value") eq word(ridges,r)
top = 1e17  # NaN/Inf kappa drawn at this clamp value
set multiplot layout words(keyset), words(gateset) margins 0.09,0.98,0.1,0.96 spacing 0.08,0.07
set logscale xy
set autoscale xfix
set format y "1e%T"
set xlabel "token t"
set ylabel "kappa(H_t + lambda_t I)" noenhanced
unset key
do for [ik=1:words(keyset)] { do for [ig=1:words(gateset)] {
  K = word(keyset, ik); G = word(gateset, ig)
  set title sprintf("keys %s, gates %s", K, G) noenhanced
  plot for [r=1:words(ridges)] data using "t":(sel(K,G,r) ? gka_fin(column("kappa")) : NaN) \
         with linespoints pt 7 ps 0.3 lc r, \
       for [r=1:words(ridges)] data using "t":(sel(K,G,r) ? gka_bad(column("kappa"), top) : NaN) \
         with points pt gka_bad_pt ps 1 lc r, \
       for [r=1:words(ridges)] data using "t":(sel(K,G,r) && rkind(r) eq "adaptive" ? column("bound") : NaN) \
         with lines dt 2 lc r
} }
eval gka_legend_strip(0.06)
plot for [r=1:words(ridges)] 2 with linespoints pt 7 lc r title rtitle(r), \
     2 with lines dt 2 lc rgb "black" title "bound (1+a)/a of the adaptive ridge", \
     2 with points pt gka_bad_pt lc rgb "black" title gka_bad_title
unset multiplot
