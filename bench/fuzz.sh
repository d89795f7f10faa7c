#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs) for SECONDS each, one after the other, one
# process each (no -jobs), on seed corpora built from ../shared (fuzz/seeds.py) plus what earlier runs kept in
# fuzz/corpus. Prints one line per target: seconds run, executions, coverage, corpus size,
# and the crash, leak, timeout or OOM artifacts it left in fuzz/artifacts/TARGET.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]      (default: 60 s each, every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The targets are
# built without a sanitizer (the code is safe Rust; what is hunted is panics, overflows
# (debug assertions are on), unbounded memory and time) so that each second runs more inputs.
# Exit status 1 when any target found something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
cd "$root/fuzz"
command -v cargo-fuzz >/dev/null || { echo "needs cargo-fuzz: cargo install cargo-fuzz" >&2; exit 2; }
if [ $# -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
flags=(-s none -a)
cargo +nightly fuzz build "${flags[@]}"
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
  cargo +nightly fuzz run "${flags[@]}" "$t" "corpus/$t" "$seeds/$t" -- \
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
