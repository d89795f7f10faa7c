#!/usr/bin/env bash
# Speed of `bulwark sign --key` and `bulwark verify --key` against a real registry on loopback
# (Debian's docker-registry, distribution 2.8, no auth, plain HTTP), per shared image, and of
# verifying COUNT signed images one after the other.
#
#   bench/sign.sh [RUNS] [COUNT]      (default: 5 runs, median shown; 100 images for the bulk verify)
#
# Needs docker-registry, skopeo and python3 (bench/measure.py); .ci/run installs the first two.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
runs=${1:-5}
count=${2:-100}
images=(node-app rust-app java-app python-app)
for c in docker-registry skopeo python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install docker-registry skopeo)" >&2; exit 2; }
done

cd "$root"
cargo build --release -q -p bulwark-cli --bins
B=$root/target/release/bulwark

work=$(mktemp -d)
reg_pid=
cleanup() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The registry on a free loopback port, storage in the work dir.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host=127.0.0.1:$port
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $host
  secret: bulwark-bench-secret
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 200); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://$host/v2/', timeout=1)" 2>/dev/null && break
  kill -0 "$reg_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.05
done

# Our own skopeo policy and an empty Docker config: the tester's ~/.docker plays no part.
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/policy.json"
mkdir -p "$work/docker" && echo '{}' >"$work/docker/config.json"
export DOCKER_CONFIG=$work/docker
push() { skopeo --policy "$work/policy.json" copy --quiet --dest-tls-verify=false "oci:$shared/images/$1/oci:1.0" "docker://$host/$2"; }

export COSIGN_PASSWORD=
"$B" generate-key-pair --output-dir "$work" >/dev/null 2>&1
key=$work/cosign.key
pub=$work/cosign.pub

measure() { python3 "$root/bench/measure.py" "$runs" "" -- "$@"; }

printf '%-11s %-19s %9s %9s %9s %9s\n' image digest sign_s verify_s sign_MiB ver_MiB
for img in "${images[@]}"; do
  push "$img" "bench/$img:1.0"
  ref=$host/bench/$img:1.0
  # Signing again with the same key re-pushes an identical layer (deterministic ECDSA), so
  # every run does the full round trip and the .sig manifest stays one layer.
  read -r sign sign_rss < <(measure "$B" sign --key "$key" --allow-insecure-registry "$ref")
  read -r verify verify_rss < <(measure "$B" verify --key "$pub" --allow-insecure-registry "$ref")
  digest=$("$B" verify --key "$pub" --allow-insecure-registry "$ref" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
doc = doc[0] if isinstance(doc, list) else doc
print(doc["critical"]["image"]["docker-manifest-digest"])')
  printf '%-11s %-19s %9.3f %9.3f %9.1f %9.1f\n' "$img" "${digest:0:19}" "$sign" "$verify" \
    "$(awk -v r="$sign_rss" 'BEGIN{print r/1024}')" "$(awk -v r="$verify_rss" 'BEGIN{print r/1024}')"
done

# COUNT repositories holding node-app, each signed once, then verified one after the other.
for i in $(seq "$count"); do echo "$i"; done | xargs -P 2 -I{} skopeo --policy "$work/policy.json" copy --quiet \
  --dest-tls-verify=false "oci:$shared/images/node-app/oci:1.0" "docker://$host/bulk/app-{}:1.0"
t0=$(date +%s.%N)
for i in $(seq "$count"); do
  "$B" sign --key "$key" --allow-insecure-registry "$host/bulk/app-$i:1.0" >/dev/null 2>&1
done
t1=$(date +%s.%N)
cat >"$work/verify-all.sh" <<EOF
set -e
for i in \$(seq $count); do
  "$B" verify --key "$pub" --allow-insecure-registry "$host/bulk/app-\$i:1.0" >/dev/null
done
EOF
bulk_runs=$((runs < 3 ? runs : 3))
read -r all _ < <(python3 "$root/bench/measure.py" "$bulk_runs" "" -- bash "$work/verify-all.sh")
echo
printf 'sign %d images, sequential: %.2f s (once)\n' "$count" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')"
printf 'verify %d images, sequential: %.2f s (median of %d), %.1f ms per image\n' "$count" "$all" "$bulk_runs" \
  "$(awk -v a="$all" -v n="$count" 'BEGIN{print 1000 * a / n}')"
echo "Per-image times and peak RSS are medians of $runs runs of one process each (COSIGN_PASSWORD empty)."
