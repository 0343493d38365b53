#!/usr/bin/env bash
# CTest layering: every #include "..." of the library, the kernels and the CLI
# names a header of a directory its own directory may use (docs/ARCHITECTURE.md).
# Headers are found by name in the source tree; a name found nowhere in it
# (gka_config.h, generated into the build tree) is not a layer and is skipped.
# Exit 1 with one line per offending include.
set -euo pipefail
cd "$1"

# Which directories each directory may include from (its own is always allowed).
allowed() {
    case "$1" in
    precision) echo "" ;;
    solvers) echo "precision" ;;
    experiments/io) echo "precision" ;;
    experiments/data) echo "precision solvers experiments/io" ;;
    experiments/driver) echo "precision solvers experiments/io experiments/data" ;;
    experiments) echo "precision solvers experiments/io experiments/data experiments/driver" ;;
    experiments/gpu) echo "precision solvers experiments/io experiments/data experiments/driver experiments kernels" ;;
    kernels) echo "precision solvers" ;;
    cli) echo "precision solvers experiments/io experiments/data experiments/driver experiments experiments/gpu kernels" ;;
    *) return 1 ;;
    esac
}
# Known exceptions, FILE:HEADER, each with its way out. `gka bench gpu` is a CLI
# command kept beside the GPU check (experiments/gpu/); it belongs in cli/
# (compiled only in CUDA builds) and leaves this list then.
EXCEPTIONS=" experiments/gpu/cmd_bench_gpu.c:gka_cli.h "

LAYERS="precision solvers experiments/io experiments/data experiments/driver experiments experiments/gpu kernels cli"

declare -A home
for d in $LAYERS; do
    [ -d "$d" ] || continue
    for h in "$d"/*.h "$d"/*.cuh; do
        [ -e "$h" ] || continue
        name=$(basename "$h")
        if [ -n "${home[$name]:-}" ]; then
            echo "header name $name in both ${home[$name]} and $d: includes are ambiguous"
            exit 1
        fi
        home[$name]=$d
    done
done

bad=0
for d in $LAYERS; do
    [ -d "$d" ] || continue
    ok=" $d $(allowed "$d") "
    for f in "$d"/*.c "$d"/*.h "$d"/*.cu "$d"/*.cuh; do
        [ -e "$f" ] || continue
        for name in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
            from=${home[$(basename "$name")]:-}
            [ -n "$from" ] || continue
            case "$ok" in
            *" $from "*) ;;
            *)
                case "$EXCEPTIONS" in
                *[[:space:]]"$f:$name"[[:space:]]*)
                    echo "known exception: $f includes $name from $from"
                    ;;
                *)
                    echo "$f includes $name from $from: $d may include only from$(allowed "$d" | sed 's/^/ /;s/^ $/ itself/')"
                    bad=1
                    ;;
                esac
                ;;
            esac
        done
    done
done
# The run driver sits above the solvers: its declarations are in
# experiments/driver/gka_run.h, none in a solvers/ header.
if grep -nE '^[a-z_ ]*\bgka_run(_[a-z_]+)?[[:space:]]*\(|^typedef struct gka_run_' solvers/*.h; then
    echo "solvers/ declares the run driver: it belongs in experiments/driver/gka_run.h"
    bad=1
fi
[ "$bad" = 0 ] && echo "layering: every include follows docs/ARCHITECTURE.md"
exit "$bad"
