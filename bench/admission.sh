#!/usr/bin/env bash
# `bulwark admission serve` under load: loopback, TLS (a CA and serving certificate from
# `bulwark admission cert`), real AdmissionReview bodies, the server pinned to one core and the
# load tool to the other.
#   (a) pss     PSS restricted by namespace label + no `:latest` + allowed registries: a Pod
#               that passes every check (the common case), and one that is denied
# Not measured yet: (b) a signature policy on an already-verified digest, (c) a first-seen
# image needing verification against a local registry.
# For each: p50 / p99 latency at about 1,000 reviews/s (wrk, 10 connections each pausing 10 ms
# between requests; the rate achieved is printed), the most reviews/s it sustains (wrk, 64
# connections), and the server's peak RSS (VmHWM). (hey, which holds a rate, sends the port in
# its TLS SNI, which rustls rightly refuses.)
# No peer runs beside it: Kyverno, Gatekeeper and policy-controller are Go servers that need a
# Kubernetes API server, and none can be installed here.
#
#   bench/admission.sh [SECONDS]        (default 10 s per measurement)
#
# Needs wrk, curl and python3 (apt-get install wrk curl).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
secs=${1:-10}
for c in wrk curl python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install wrk curl)" >&2; exit 2; }
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

# wrk's Lua: POST the review file, pausing $2 ms between a connection's requests.
script() {
  cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$1", "rb"); wrk.body = f:read("*a"); f:close()
function delay() return $2 end
EOF
}

# About 1,000 reviews/s (10 connections, 10 ms apart); prints "rate p50_ms p99_ms non2xx".
rate() {
  script "$1" 10
  taskset -c 1 wrk -t1 -c10 -d"${secs}s" --latency -s "$work/post.lua" "$url/validate" >"$work/wrk.txt"
  python3 - "$work/wrk.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
p = {k: ms(v, u) for k, v, u in re.findall(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$", t, re.M)}
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p['50']:.2f} {p['99']:.2f} {bad.group(1) if bad else 0}")
EOF
}

# wrk's most reviews/s with 64 connections.
peak() {
  script "$1" 0
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s "$work/post.lua" "$url/validate" | awk '/Requests\/sec/ {print $2}'
}

rss() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# Peak RSS is read after the ~1,000/s runs (the target's load) and again after the saturating
# ones (each blocking thread the load makes keeps an allocator heap).
printf '%-24s %8s %9s %9s %7s %10s %12s %11s\n' case 'rev/s' 'p50 ms' 'p99 ms' non-2xx 'RSS@1k MB' 'max rev/s' 'RSS@max MB'
start --namespaces "$work/ns.yaml" --images "$work/images.yaml"
declare -A line=()
for body in allowed denied; do
  read -r rps p50 p99 errs < <(rate "$work/$body.json")
  line[$body]="$rps $p50 $p99 $errs $(rss "$spid")"
done
for body in allowed denied; do
  max=$(peak "$work/$body.json")
  read -r rps p50 p99 errs r1k <<<"${line[$body]}"
  printf '%-24s %8s %9s %9s %7s %10s %12s %11s\n' "(a) pss+images $body" "$rps" "$p50" "$p99" "$errs" "$r1k" "$max" "$(rss "$spid")"
done
kill "$spid"; wait "$spid" 2>/dev/null || true
