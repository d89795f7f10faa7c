#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs) for SECONDS each, one process each (no
# -jobs), on seed corpora built from ../shared (fuzz/seeds.py) plus what earlier runs kept in
# fuzz/corpus. Prints one line per target: seconds run, executions, coverage, corpus size,
# and the crash, leak, timeout or OOM artifacts it left in fuzz/artifacts/TARGET.
#
#   bench/fuzz.sh [--smoke] [--build-only] [--jobs N] [SECONDS] [TARGET...]
#                 (default: 60 s each, every target, one at a time)
#
# The targets are libFuzzer binaries (libfuzzer-sys) built by cargo with the coverage
# instrumentation flags cargo-fuzz passes (`cargo fuzz build -s none -a`), so neither
# cargo-fuzz nor a nightly toolchain is needed. No sanitizer: the code is safe Rust; what is
# hunted is panics, overflows (debug assertions are on), unbounded memory and time.
#   --smoke       CI's build: the test build's own command and profile (`cargo ci-test
#                 --no-run`, dependencies at opt-level 1), instrumenting only the workspace's
#                 crates (bench/fuzz-rustc), so after the tests' build only those are compiled
#                 again. For a few seconds per target; long runs want the default, cargo-fuzz's
#                 build (the `fuzz` profile: optimised, one codegen unit, every crate
#                 instrumented, so coverage also guides through the parsers we depend on).
#   --build-only  build the targets and stop.
#   --jobs N      run N targets at a time (each is one single-threaded process).
# Exit status 1 when any target found something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
smoke=0 build_only=0 jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; shift ;;
    --build-only) build_only=1; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    *) break ;;
  esac
done
secs=${1:-60}
shift || true
cd "$root"
if [ $# -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi
select=()
for t in "${targets[@]}"; do select+=(--test "$t"); done
if [ "$smoke" = 1 ]; then
  build=(env RUSTC_WORKSPACE_WRAPPER="$root/bench/fuzz-rustc" cargo ci-test --no-run)
else
  # cargo-fuzz's flags for `-s none -a` on every crate; --target keeps them off build scripts
  # and proc macros.
  export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions"
  build=(env -u RUSTC_WORKSPACE_WRAPPER cargo test --no-run -p bulwark-fuzz --profile fuzz
    --target "$(rustc -vV | sed -n 's/^host: //p')")
fi
# The binaries' paths, from cargo's own report (test binaries carry a hash in their name).
bins=$(mktemp)
trap 'rm -f "$bins"' EXIT
"${build[@]}" -q "${select[@]}" --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
' >"$bins"
[ "$build_only" = 1 ] && exit 0
seeds=$(mktemp -d)
results=$(mktemp -d)
trap 'rm -rf "$seeds" "$results" "$bins"' EXIT
cd fuzz
python3 seeds.py "$seeds" >/dev/null
# One target: its result line goes to $results/TARGET, its finding (if any) to stderr.
run() {
  local t=$1 exe before log start took execs cov corp new what=none
  exe=$(awk -v t="$t" '$1 == t { print $2 }' "$bins")
  if [ -z "$exe" ]; then
    printf '%-18s  not built (no test target named so in fuzz/Cargo.toml)\n' "$t" >"$results/$t"
    return
  fi
  mkdir -p "corpus/$t" "artifacts/$t" "$seeds/$t"
  before=$(ls "artifacts/$t" | wc -l)
  log=$(mktemp)
  start=$(date +%s)
  # -timeout: one input over 20 s is a finding; -rss_limit_mb: so is 2 GiB of memory.
  "$exe" "corpus/$t" "$seeds/$t" \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(ls "corpus/$t" | wc -l)
  new=$(( $(ls "artifacts/$t" | wc -l) - before ))
  if [ "$new" -gt 0 ]; then
    what="$new new: $(ls -t "artifacts/$t" | head -"$new" | tr '\n' ' ')"
    grep -m1 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | sed "s/^/    $t: /" >&2 || true
  fi
  printf '%-18s %6s %10s %8s %7s  %s\n' "$t" "$took" "${execs:-?}" "${cov:-?}" "$corp" "$what" >"$results/$t"
  rm -f "$log"
}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run "$t" &
done
wait
printf '%-18s %6s %10s %8s %7s  %s\n' target seconds execs cov corpus findings
found=0
for t in "${targets[@]}"; do
  cat "$results/$t"
  grep -q ' none$' "$results/$t" || found=1
done
exit "$found"
