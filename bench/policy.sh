#!/usr/bin/env bash
# Policy evaluation speed and memory: `bulwark policy apply` (release build, pinned to one
# core) on generated pod-bearing resources (bench/gen_pods.py: Pods, Deployments, StatefulSets,
# DaemonSets, Jobs, CronJobs with varied security contexts), for three policy sets:
#   pss         --pss restricted:latest
#   kyverno     every Kyverno pod-security policy in ../shared (baseline and restricted)
#   gatekeeper  the gatekeeper-library pod-security-policy templates with their sample
#               constraints
# For each set and size: the evaluation time per resource (p50, p99, max; every policy of the
# set together, reading and parsing excluded: `--stats`), the whole run's wall time and peak
# RSS. Sizes default to 2500, 10000 and 40000, so that memory can be seen to stay flat.
# No peer runs beside it: kyverno and gator are Go binaries that cannot be installed here.
#
#   bench/policy.sh [SIZE...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
adm="$shared/data/admission"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2500 10000 40000)
cd "$root"
cargo build --release -q -p bulwark-cli
bin="${CARGO_TARGET_DIR:-target}/release/bulwark"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kyverno=()
while IFS= read -r f; do kyverno+=(--policy "$f"); done < <(
  find "$adm/kyverno/pod-security" -name '*.yaml' -not -path '*/.kyverno-test/*' | sort)
gatekeeper=()
while IFS= read -r f; do gatekeeper+=(--policy "$f"); done < <(
  find "$adm/gatekeeper/library/pod-security-policy" \( -name template.yaml -o -name constraint.yaml \) | sort)

printf '%-10s %7s %9s %9s %10s %8s %8s\n' set resources 'p50 us' 'p99 us' 'max us' 'wall s' 'RSS MB'
for n in "${sizes[@]}"; do
  python3 bench/gen_pods.py "$n" >"$work/pods-$n.yaml"
  for set in pss kyverno gatekeeper; do
    case $set in
      pss) args=(--pss restricted:latest) ;;
      kyverno) args=("${kyverno[@]}") ;;
      gatekeeper) args=("${gatekeeper[@]}") ;;
    esac
    rc=0
    /usr/bin/time -f 'rss %M' -o "$work/time" taskset -c 0 "$bin" policy apply "${args[@]}" \
      --format json --stats "$work/pods-$n.yaml" >/dev/null 2>"$work/err" || rc=$?
    # Exit 1 is expected (the generated resources violate the policies); 2 is an error.
    if [ "$rc" -gt 1 ] || ! grep -q '^stats: ' "$work/err"; then
      echo "$set on $n resources failed (exit $rc):" >&2
      head -20 "$work/err" >&2
      exit 1
    fi
    stats=$(grep '^stats: ' "$work/err")
    p50=$(sed -E 's/.*p50 ([0-9.]+) us.*/\1/' <<<"$stats")
    p99=$(sed -E 's/.*p99 ([0-9.]+) us.*/\1/' <<<"$stats")
    max=$(sed -E 's/.*max ([0-9.]+) us.*/\1/' <<<"$stats")
    count=$(sed -E 's/^stats: ([0-9]+) .*/\1/' <<<"$stats")
    wall=$(sed -E 's/.* ([0-9.]+) s in all/\1/' <<<"$stats")
    rss=$(awk '/^rss/ { printf "%.1f", $2 / 1024 }' "$work/time")
    printf '%-10s %7s %9s %9s %10s %8s %8s\n' "$set" "$count" "$p50" "$p99" "$max" "$wall" "$rss"
  done
done
