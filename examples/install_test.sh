#!/usr/bin/env bash
# Install gka from a build tree to a temporary prefix, move the installed tree
# elsewhere (it must be relocatable), check that each installed header compiles
# on its own, then build and run every example against
# it four ways: pkg-config shared, pkg-config static, find_package(gka CONFIG)
# shared and static. Each run's output must match the example's expected line
# (examples/expected.txt, written by examples/CMakeLists.txt). The static
# programs must not depend on libgka.so.
#
#   install_test.sh BUILD_DIR SOURCE_DIR EXPECTED_FILE CC "CFLAGS" "LDFLAGS"
set -euo pipefail
build="$1" src="$2" expected="$3" cc="$4" cflags="${5:-}" ldflags="${6:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/gka_install_test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/staged" >/dev/null
mv "$work/staged" "$work/prefix" # relocated: nothing may point at staged/
prefix="$work/prefix"
pcdir="$(dirname "$(find "$prefix" -name gka.pc | head -1)")"
[ -n "$pcdir" ] || fail "gka.pc not installed"
libdir="$(dirname "$pcdir")"
grep -rq "$work/staged" "$prefix" && fail "installed files name the staging prefix"
for h in gka_figure_internal.h gka_gpu_check.h; do
    [ ! -e "$prefix/include/gka/$h" ] || fail "$h is installed"
done
if [ -e "$prefix/include/gka/gka_kernels.h" ] && [ ! -e "$libdir/libgka_cuda.a" ]; then
    fail "gka_kernels.h installed without libgka_cuda.a"
fi
[ -x "$prefix/bin/gka" ] || fail "gka program not installed"
# every installed header compiles on its own, as C17, without warnings
for h in "$prefix"/include/gka/*.h; do
    printf '#include "%s"\n' "$(basename "$h")" |
        "$cc" -std=c17 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include/gka" -x c - ||
        fail "$(basename "$h") does not compile on its own"
done
"$prefix/bin/gka" --help >/dev/null 2>&1 || true

# the figure scripts: installed, and found by the moved program beside itself
# (a marker added to the installed copy must reach the figure's directory)
[ -r "$prefix/share/gka/plots/gka_style.gp" ] || fail "plots/gka_style.gp not installed"
[ -r "$prefix/share/gka/plots/omega.gp" ] || fail "plots/omega.gp not installed"
echo "# installed copy" >>"$prefix/share/gka/plots/omega.gp"
(unset GKA_PLOTS_DIR; "$prefix/bin/gka" figure omega --quick --images none --quiet \
    --out "$work/fig" >/dev/null) || fail "installed gka figure omega failed"
grep -q "^# installed copy" "$work/fig/omega/omega.gp" ||
    fail "the installed gka did not take its scripts from $prefix/share/gka/plots"

export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
got="$(cd / && pkg-config --variable=libdir gka)"
[ "$(realpath "$got")" = "$(realpath "$libdir")" ] || fail "pkg-config libdir $got is not $libdir"

# run NAME BINARY: run it, check its line, and for static builds its NEEDED list
check() {
    local name="$1" bin="$2" kind="$3" regex out
    regex="$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$expected")"
    out="$("$bin")" || fail "$kind $name exited $?"
    grep -Eq -- "$regex" <<<"$out" || fail "$kind $name: output does not match '$regex':
$out"
    if [[ "$kind" == *static* ]] && readelf -d "$bin" | grep -q 'libgka\.so'; then
        fail "$kind $name links libgka.so"
    fi
    if [[ "$kind" == *shared* ]] && ! readelf -d "$bin" | grep -q 'libgka\.so'; then
        fail "$kind $name does not link libgka.so"
    fi
    echo "ok  $kind  $name"
}

names="$(cut -f1 "$expected")"
mkdir -p "$work/pc"
for name in $names; do
    extra=""
    [ "$name" = chebyshev_mpfr ] && extra="mpfr"
    c="$src/examples/$name.c"
    # shared: -lgka finds libgka.so; the rpath lets it run from the prefix
    # shellcheck disable=SC2086,SC2046
    "$cc" $cflags -ffp-contract=off "$c" -o "$work/pc/$name.shared" \
        $(pkg-config --cflags gka $extra) $ldflags -Wl,-rpath,"$libdir" \
        $(pkg-config --libs gka $extra) -lm
    check "$name" "$work/pc/$name.shared" "pkg-config-shared"
    # static: libgka.a by name (-l:libgka.a), everything else from Libs.private
    # and Requires.private
    # shellcheck disable=SC2086,SC2046
    "$cc" $cflags -ffp-contract=off "$c" -o "$work/pc/$name.static" \
        $(pkg-config --cflags gka $extra) $ldflags \
        $(pkg-config --static --libs gka $extra | sed 's/-lgka\( \|$\)/-l:libgka.a /') -lm
    check "$name" "$work/pc/$name.static" "pkg-config-static"
done

for kind in shared static; do
    static=OFF
    [ "$kind" = static ] && static=ON
    cmake -S "$src/examples" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -DGKA_USE_STATIC_LIBS=$static -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" \
        -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$work/cmake-$kind" -j 2 >/dev/null
    for name in $names; do
        check "$name" "$work/cmake-$kind/example_$name" "find_package-$kind"
    done
done
echo "install_test: all examples built and ran against the installed tree"
