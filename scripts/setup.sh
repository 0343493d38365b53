#!/usr/bin/env bash
# Install the Debian packages gka needs. As root it runs apt-get; otherwise it
# prints the exact command to run and exits 1.
set -euo pipefail
packages=(build-essential cmake pkg-config git libmpfr-dev libgmp-dev libflint-dev
          libflint-arb-dev libgsl-dev liblapacke-dev libopenblas-dev libcriterion-dev gnuplot-nox
          libopenmpi-dev openmpi-bin doxygen
          ${GKA_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "gka setup: missing Debian packages: ${missing[*]}" >&2
    echo "gka setup: run as root:  $cmd" >&2
    exit 1
fi
echo "gka setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
