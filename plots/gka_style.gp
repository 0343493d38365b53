# gka_style.gp: the preamble every figure script of gka loads (plots/NAME.gp).
# A figure script sets `name` (its CSV is NAME.csv), `width` and `height`
# (inches), then `load "gka_style.gp"`. Render from the figure's directory:
#   gnuplot -e "fmt='png'" NAME.gp      (fmt: pdf, png or svg; default pdf;
#                                        out='FILE' names the output)
# Restyle here for every figure, or in NAME.gp for one. The scripts read the
# CSV by column names only (never by position), so added columns and
# reordered rows do not change a figure.
if (!exists("fmt")) fmt = "pdf"
if (!exists("out")) out = name . "." . fmt
if (!exists("data")) data = name . ".csv"
if (fmt eq "pdf") {
  set terminal pdfcairo size width, height font "Sans,8"
} else {
  if (fmt eq "png") {
    set terminal pngcairo size int(width * 130), int(height * 130) font "Sans,9"
  } else {
    if (fmt eq "svg") {
      set terminal svg size int(width * 100), int(height * 100) dynamic font "Sans,9" background rgb "white"
    } else {
      print "gka_style.gp: fmt='" . fmt . "' is not pdf, png or svg"
      exit status 2
    }
  }
}
set output out
set datafile separator comma
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set colorsequence podo

# NaN/Inf values: never dropped silently. A series is drawn from gka_fin(v)
# (finite values) and its failures from gka_bad(v, top): a point of type
# gka_bad_pt at the clamp value `top` (the top edge), explained in the legend
# by gka_bad_title.
gka_fin(v) = (v == v && abs(v) < 1e300) ? v : NaN
gka_bad(v, top) = (v == v && abs(v) < 1e300) ? NaN : top
gka_bad_pt = 2
gka_bad_title = "x at the top edge: NaN/Inf value"

# The distinct values of a string expression over the rows of the CSV, in the
# order they first appear, as a word list:
#   eval gka_collect('strcol("format")'); formats = gka_list
# so that the panels and series follow the data (any formats, ridges, ...).
gka_collect(expr) = sprintf('gka_list = ""; stats data using ((gka_w = %s, strstrt(" " . gka_list . " ", " " . gka_w . " ") ? 0 : (gka_list = gka_list . (gka_list eq "" ? "" : " ") . gka_w)), 0) nooutput', expr)

# The legend as a strip of height h (fraction of the page) across the bottom,
# after a multiplot's panels, so that no legend covers a curve:
#   eval gka_legend_strip(0.08); plot 2 with lines title "a", ...
# (values 2 lie outside the strip's [0, 1] range: only the key shows).
gka_legend_strip(h) = sprintf("set origin 0,0; set size 1,%g; set margins 0,0,0,0; unset border; unset tics; unset xlabel; unset ylabel; unset title; unset grid; unset logscale; unset colorbox; unset label; set xrange [0:1]; set yrange [0:1]; set key center center horizontal samplen 3 font ',8' noenhanced", h)
