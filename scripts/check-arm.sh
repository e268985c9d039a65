#!/usr/bin/env bash
# Cross-checks the native addon's SIMD paths against its portable path (native/test/simd_check.cc).
#   scripts/check-arm.sh           AArch64: cross-compile (aarch64-linux-gnu-g++, -O2, static) and run
#                                  under qemu-aarch64-static, so the NEON kernels run on an x86 machine.
#   scripts/check-arm.sh --native  this machine's compiler and CPU (AVX-512/AVX2 against portable on x86).
# Exits 0 when every check passed; 1 on a mismatch or a build failure; 3 when the cross tools are missing.
# GPTKIT_AARCH64_CXX and GPTKIT_QEMU_AARCH64 name other tools than the Debian packages' defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

srcs=(native/test/simd_check.cc native/test/check_kernels.cc native/src/kernels_paths.cc
      native/src/attention_paths.cc native/src/peak_paths.cc native/src/qlinear_paths.cc native/src/simd.cc)
flags=(-std=c++17 -O2 -Wall -Wextra -fno-math-errno -fno-trapping-math -pthread)
work=$(mktemp -d "${TMPDIR:-/tmp}/gptkit-simd-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Each source compiles in its own process (they are independent), then one link.
build() {
  local cxx=$1; shift
  local pids=() objs=()
  for src in "${srcs[@]}"; do
    local obj="$work/$(basename "$src" .cc).o"
    objs+=("$obj")
    "$cxx" "${flags[@]}" -c "$src" -o "$obj" & pids+=($!)
  done
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if [ "$failed" = 1 ]; then echo "check-arm: compiling with $cxx failed" >&2; exit 1; fi
  "$cxx" "${flags[@]}" "$@" "${objs[@]}" -o "$work/simd_check"
}

if [ "${1:-}" = "--native" ]; then
  build "${CXX:-g++}"
  "$work/simd_check"
  exit
fi

cross=${GPTKIT_AARCH64_CXX:-aarch64-linux-gnu-g++}
qemu=${GPTKIT_QEMU_AARCH64:-qemu-aarch64-static}
missing=()
command -v "$cross" >/dev/null || missing+=("$cross")
command -v "$qemu" >/dev/null || missing+=("$qemu")
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-arm: ${missing[*]} not found. Install the AArch64 cross compiler and qemu with:" >&2
  echo "  apt-get update && apt-get install -y g++-aarch64-linux-gnu qemu-user-static" >&2
  exit 3
fi
build "$cross" -static
"$qemu" "$work/simd_check" --expect neon
