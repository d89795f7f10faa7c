#!/usr/bin/env bash
# Speed and memory of `bulwark sbom` against Syft 1.18.1 and Trivy 0.59.1 (offline), on every
# shared image, in the same run. Also prints the floor: the time to decompress every layer
# once with the same inflaters, layers in parallel, nothing else.
#
#   bench/sbom.sh [RUNS] [IMAGE...]      (default: 5 runs, every image; the median is shown)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
runs=${1:-5}; shift || true
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(debian-minbase python-app node-app rust-app java-app multi-layer zstd-layer rpm-synthetic)

cd "$root"
cargo build --release -q -p bulwark-cli --bins
cargo build --release -q -p bulwark-image --example inflate_floor
bash .ci/peers.sh >/dev/null
B=$root/target/release/bulwark
FLOOR=$root/target/release/examples/inflate_floor
SYFT=$root/target/peers/bin/syft
TRIVY=$root/target/peers/bin/trivy
export SYFT_CHECK_FOR_APP_UPDATE=false
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# median wall seconds and peak RSS (KiB) of RUNS runs; the PREP shell command runs before each.
measure() { python3 "$root/bench/measure.py" "$runs" "$1" -- "${@:2}"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else printf "inf" }'; }

printf '%-15s %7s | %7s %6s | %7s %6s | %7s %6s | %7s %6s | %8s %8s %6s\n' \
  image floor_s cold_s xfloor warm_s c/warm syft_s xfast trivy_s xfast bw_MiB trivyMiB mem
for img in "${images[@]}"; do
  dir="$shared/images/$img/oci"
  read -r floor _ < <(measure "" "$FLOOR" "$dir")
  read -r cold cold_rss < <(measure "rm -rf '$work/c'" "$B" sbom "oci-dir:$dir" -q -f cyclonedx-json --cache-dir "$work/c")
  "$B" sbom "oci-dir:$dir" -q -f json --cache-dir "$work/w" >/dev/null
  read -r warm _ < <(measure "" "$B" sbom "oci-dir:$dir" -q -f cyclonedx-json --cache-dir "$work/w")
  read -r syft _ < <(measure "" "$SYFT" scan "oci-dir:$dir" -q -o "cyclonedx-json=$work/s.json")
  read -r trivy trivy_rss < <(measure "rm -rf '$work/tc'" env TRIVY_CACHE_DIR="$work/tc" "$TRIVY" image --input "$dir" --skip-db-update --skip-java-db-update --offline-scan --format cyclonedx -q -o "$work/t.json")
  printf '%-15s %7.3f | %7.3f %6s | %7.3f %6s | %7.2f %6s | %7.2f %6s | %8.1f %8.1f %6s\n' \
    "$img" "$floor" "$cold" "$(ratio "$cold" "$floor")" "$warm" "$(ratio "$cold" "$warm")" \
    "$syft" "$(ratio "$syft" "$cold")" "$trivy" "$(ratio "$trivy" "$cold")" \
    "$(awk -v r="$cold_rss" 'BEGIN{print r/1024}')" "$(awk -v r="$trivy_rss" 'BEGIN{print r/1024}')" "$(ratio "$cold_rss" "$trivy_rss")"
done
echo "xfloor = bulwark cold / floor (target <= 1.25); c/warm = cold / warm (target >= 10);"
echo "xfast = peer time / bulwark cold (targets: syft >= 10, trivy >= 3); mem = bulwark peak RSS / trivy's (target <= 0.5)."
echo "Wall times and RSS are medians of $runs runs."
