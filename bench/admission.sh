#!/usr/bin/env bash
# `bulwark admission serve` under load: loopback, TLS (a CA and serving certificate from
# `bulwark admission cert`), real AdmissionReview bodies, the server pinned to one core and the
# load tool to the other.
#   (a) pss     PSS restricted by namespace label + no `:latest` + allowed registries: a Pod
#               that passes every check (the common case), and one that is denied
#   (b) signed  a ClusterImagePolicy with a key on an image already verified (cache hit)
# For each: p50 / p99 latency at a fixed 1,000 reviews/s (hey, -q per worker), the most
# reviews/s it sustains (wrk, 64 connections), and the server's peak RSS (VmHWM).
# No peer runs beside it: Kyverno, Gatekeeper and policy-controller are Go servers that need a
# Kubernetes API server, and none can be installed here.
#
#   bench/admission.sh [SECONDS]        (default 10 s per measurement)
#
# Needs hey, wrk, curl, skopeo, docker-registry and python3 (apt-get install hey wrk curl
# skopeo docker-registry).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
secs=${1:-10}
for c in hey wrk curl skopeo python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install hey wrk curl skopeo docker-registry)" >&2; exit 2; }
done
cd "$root"
cargo build --release -q -p bulwark-cli --bins
B=$root/target/release/bulwark
work=$(mktemp -d)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$B" admission cert --service bench --namespace bench --out "$work/tls" >/dev/null

# Reviews: the API server's own Pod review (kube-rs' GKE sample), made restricted-compliant.
python3 - "$shared" "$work" <<'EOF'
import json, sys, copy
shared, work = sys.argv[1], sys.argv[2]
r = json.load(open(f"{shared}/data/admission/admissionreview/kube-rs/v1_pod_create_gke.json"))
req = r["request"]
req["namespace"] = "production"
pod = req["object"]
pod["metadata"]["namespace"] = "production"
c = pod["spec"]["containers"][0]
c["image"] = "registry.example.com/team/echo-server:1.0"
c["securityContext"] = {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
json.dump(r, open(f"{work}/allowed.json", "w"))
bad = copy.deepcopy(r)
bad["request"]["object"]["spec"]["containers"][0]["image"] = "docker.io/library/nginx:latest"
bad["request"]["object"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
json.dump(bad, open(f"{work}/denied.json", "w"))
EOF
cat >"$work/ns.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: production
  labels:
    pod-security.kubernetes.io/enforce: restricted
EOF
cat >"$work/images.yaml" <<'EOF'
registries:
  allow: [registry.example.com]
tags:
  reject: [latest]
EOF

# Start a server with the given extra flags; sets $url and $spid.
start() {
  local port; port=$(free_port)
  taskset -c 0 "$B" admission serve --addr "127.0.0.1:$port" --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" \
    "$@" >"$work/server.log" 2>&1 &
  spid=$!; pids+=("$spid")
  url="https://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -sk "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not become ready:" >&2; cat "$work/server.log" >&2; exit 1
}

# hey at 1,000 reviews/s (20 workers x 50/s); prints "p50_ms p99_ms errors".
rate() {
  taskset -c 1 hey -z "${secs}s" -c 20 -q 50 -m POST -T application/json -D "$1" "$url/validate" >"$work/hey.txt"
  python3 - "$work/hey.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
p = dict(re.findall(r"\s+(\d+)%+ in ([0-9.]+) secs", t))
codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", t)
bad = sum(int(n) for c, n in codes if c != "200")
print(f"{float(p['50'])*1000:.2f} {float(p['99'])*1000:.2f} {bad}")
EOF
}

# wrk's most reviews/s with 64 connections.
peak() {
  cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$1", "rb"); wrk.body = f:read("*a"); f:close()
EOF
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s "$work/post.lua" "$url/validate" | awk '/Requests\/sec/ {print $2}'
}

rss() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

printf '%-24s %9s %9s %7s %12s %8s\n' case 'p50 ms' 'p99 ms' errors 'max rev/s' 'RSS MB'
start --namespaces "$work/ns.yaml" --images "$work/images.yaml"
for body in allowed denied; do
  read -r p50 p99 errs < <(rate "$work/$body.json")
  max=$(peak "$work/$body.json")
  printf '%-24s %9s %9s %7s %12s %8s\n' "(a) pss+images $body" "$p50" "$p99" "$errs" "$max" "$(rss "$spid")"
done
kill "$spid"; wait "$spid" 2>/dev/null || true
