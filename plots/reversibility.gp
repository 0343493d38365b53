# reversibility.gp: the divisors met running Chebyshev and CG backwards, one
# panel per (scope, format) (columns scope, format, quantity, i, abs_min,
# abs_median, abs_max, band_low: omega* - 1, the lower edge of Chebyshev's band).
name = "reversibility"; width = 12.0; height = 8.4
load "gka_style.gp"
eval gka_collect('strcol("scope")'); scopes = gka_list
eval gka_collect('strcol("format")'); formats = gka_list
eval gka_collect('strcol("quantity")'); qs = gka_list
colors = "#000000 #E69F00 #0072B2 #009E73 #CC79A7"
do for [k=1:words(colors)] { set linetype k lc rgb word(colors,k) }
stitle(S) = S eq "all_steps" ? "every step CG took" : (S eq "to_convergence" ? "CG's steps up to its convergence (||r_i|| <= u ||q||)" : S)
sel(S,F,k) = strcol("scope") eq S && strcol("format") eq F && strcol("quantity") eq word(qs,k)
top = 1e30  # an Inf divisor is drawn at this clamp value
set multiplot layout words(scopes), words(formats) margins 0.07,0.98,0.14,0.92 spacing 0.07,0.1 \
  title "divisors met reversing Chebyshev (omega_i - 1) and CG (beta_i, alpha_i, p^T A p, r^T r): min..max over problems (band), median (line); dotted: the paper's CG range 1e-3..1e10" font ",9" noenhanced
set logscale y
set format y "1e%T"
set xlabel "iteration i"
set ylabel "|divisor| met when reversing step i"
unset key
do for [S in scopes] { do for [F in formats] {
  set title sprintf("%s: %s", F, stitle(S)) noenhanced
  plot for [k=1:words(qs)] data using "i":(sel(S,F,k) ? gka_fin(column("abs_min")) : NaN):(gka_fin(column("abs_max"))) \
         with filledcurves fs transparent solid 0.2 lc k, \
       for [k=1:words(qs)] data using "i":(sel(S,F,k) ? gka_fin(column("abs_median")) : NaN) \
         with lines lw 2 lc k, \
       for [k=1:words(qs)] data using "i":(sel(S,F,k) && column("abs_max") > 1e300 ? top : NaN) \
         with points pt gka_bad_pt ps 1 lc k, \
       data using "i":(sel(S,F,1) ? column("band_low") : NaN) with lines dt 2 lc rgb "black", \
       1 with lines dt 2 lc rgb "black", \
       1e-3 with lines dt 3 lc rgb "gray", 1e10 with lines dt 3 lc rgb "gray"
} }
eval gka_legend_strip(0.07)
plot for [k=1:words(qs)] 2 with lines lw 2 lc k title word(qs,k), \
     2 with lines dt 2 lc rgb "black" title "omega*-1 and 1 (Chebyshev band)", \
     2 with lines dt 3 lc rgb "gray" title "paper's CG range", \
     2 with points pt gka_bad_pt lc rgb "black" title "x at the top edge: Inf divisor"
unset multiplot
