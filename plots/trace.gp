# trace.gp: the precision panels (precision.gp) on a user trace or its
# synthetic stand-in (columns gating, ridge, format, solver, t, err).
name = "trace"; width = 10.0; height = 12.5
load "precision.gp"
