#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs) for SECONDS each, one after the other, one
# process each (no -jobs), on seed corpora built from ../shared (fuzz/seeds.py) plus what earlier runs kept in
# fuzz/corpus. Prints one line per target: seconds run, executions, coverage, corpus size,
# and the crash, leak, timeout or OOM artifacts it left in fuzz/artifacts/TARGET.
#
#   bench/fuzz.sh [--smoke] [--build-only] [SECONDS] [TARGET...]   (default: 60 s each, every target)
#
# The targets are libFuzzer binaries (libfuzzer-sys) built by cargo with the coverage
# instrumentation flags cargo-fuzz passes (`cargo fuzz build -s none -a`), so neither
# cargo-fuzz nor a nightly toolchain is needed. No sanitizer: the code is safe Rust; what is
# hunted is panics, overflows (debug assertions are on), unbounded memory and time.
#   --smoke       build with fuzz/Cargo.toml's `smoke` profile (opt-level 1, many codegen
#                 units): several times quicker to build than the release profile, for CI's
#                 few seconds per target; long runs want the default (release).
#   --build-only  build the targets and stop (CI builds them in the background while the
#                 tests run, then runs them).
# Exit status 1 when any target found something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=release build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) profile=smoke; shift ;;
    --build-only) build_only=1; shift ;;
    *) break ;;
  esac
done
secs=${1:-60}
shift || true
cd "$root/fuzz"
if [ $# -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
# cargo-fuzz's flags for `-s none -a`; --target keeps them off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions"
if [ "$profile" = release ]; then
  # As cargo-fuzz: one codegen unit, or the sancov pass blocks ThinLTO's inlining.
  RUSTFLAGS="$RUSTFLAGS -Ccodegen-units=1"
fi
cargo build -q --target "$triple" --profile "$profile" --bins
[ "$build_only" = 1 ] && exit 0
bin="${CARGO_TARGET_DIR:-target}/$triple/$profile"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
python3 seeds.py "$seeds" >/dev/null
found=0
printf '%-18s %6s %10s %8s %7s  %s\n' target seconds execs cov corpus findings
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "$seeds/$t"
  before=$(ls "artifacts/$t" | wc -l)
  log=$(mktemp)
  start=$(date +%s)
  # -timeout: one input over 20 s is a finding; -rss_limit_mb: so is 2 GiB of memory.
  "$bin/$t" "corpus/$t" "$seeds/$t" \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(ls "corpus/$t" | wc -l)
  new=$(( $(ls "artifacts/$t" | wc -l) - before ))
  what=none
  if [ "$new" -gt 0 ]; then
    found=1
    what="$new new: $(ls -t "artifacts/$t" | head -"$new" | tr '\n' ' ')"
    grep -m1 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | sed 's/^/    /' >&2 || true
  fi
  printf '%-18s %6s %10s %8s %7s  %s\n' "$t" "$took" "${execs:-?}" "${cov:-?}" "$corp" "$what"
  rm -f "$log"
done
exit "$found"
