#!/usr/bin/env bash
# CTest git_commit_stamp: cmake/GkaGitCommit.cmake writes the commit of a
# checkout, leaves the header untouched (same mtime) while the commit stays,
# rewrites it after a new commit, and writes "unknown" outside git.
# Usage: git_commit_test.sh CMAKE SOURCE_DIR
set -euo pipefail
cmake_bin=$1 script=$2/cmake/GkaGitCommit.cmake
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stamp() { "$cmake_bin" -DSOURCE_DIR="$1" -DOUTPUT="$tmp/h.h" -P "$script"; }
fail() { echo "git_commit_stamp: $*"; exit 1; }
mkdir "$tmp/repo" "$tmp/plain"
git -C "$tmp/repo" init -q
git -C "$tmp/repo" -c user.email=t@t -c user.name=t commit -q --allow-empty -m one
c1=$(git -C "$tmp/repo" rev-parse --short=12 HEAD)
stamp "$tmp/repo"
grep -q "GKA_GIT_COMMIT \"$c1\"" "$tmp/h.h" || fail "first stamp is not $c1: $(cat "$tmp/h.h")"
touch -d '2000-01-01' "$tmp/h.h"
stamp "$tmp/repo"
[ "$(stat -c %Y "$tmp/h.h")" = "$(date -d 2000-01-01 +%s)" ] || fail "rewritten without a new commit"
git -C "$tmp/repo" -c user.email=t@t -c user.name=t commit -q --allow-empty -m two
c2=$(git -C "$tmp/repo" rev-parse --short=12 HEAD)
stamp "$tmp/repo"
grep -q "GKA_GIT_COMMIT \"$c2\"" "$tmp/h.h" || fail "not restamped after a new commit ($c2)"
GIT_CEILING_DIRECTORIES=$tmp stamp "$tmp/plain"
grep -q 'GKA_GIT_COMMIT "unknown"' "$tmp/h.h" || fail "outside git: $(cat "$tmp/h.h")"
echo "git_commit_stamp: $c1 -> kept -> $c2 -> unknown outside git"
