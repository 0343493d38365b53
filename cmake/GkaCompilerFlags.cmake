# Warnings on, no silent FMA contraction, never -ffast-math: the emulated and
# reference arithmetic must round exactly where the code says it rounds.
set(GKA_C_WARNINGS -Wall -Wextra -Wconversion -Wdouble-promotion -Wshadow)
set(GKA_C_NUMERICS -ffp-contract=off -fno-fast-math)

function(gka_target_flags target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:${GKA_C_WARNINGS} ${GKA_C_NUMERICS}>)
endfunction()
