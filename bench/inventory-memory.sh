#!/usr/bin/env bash
# Peak RSS of inventorying the hostile images of issue 10 (D2) as they grow, `bulwark sbom` beside
# Syft on the same inputs in the same run, and of a `bulwark registry serve` scanning them on push:
#   paths  — N package.json files (and N plain files) at paths of ~16 KiB (GNU long names);
#   status — one /var/lib/dpkg/status of N packages.
# With the inventory budgets (README, "Limits") the peak should stay flat as N grows.
#
#   bench/inventory-memory.sh [SIZE_FACTOR...]   (default: 1 2 4)
#
# Environment: BULWARK_BIN (default target/release/bulwark, built here), BENCH_REGISTRY=0 to skip
# the registry part, BENCH_SYFT_TIMEOUT (s, default 300) per Syft run. Needs python3, skopeo and curl; Syft from .ci/peers.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
factors=("$@"); [ ${#factors[@]} -gt 0 ] || factors=(1 2 4)
cd "$root"
if [ -z "${BULWARK_BIN:-}" ]; then cargo build --release -q -p bulwark-cli --bins; fi
B=${BULWARK_BIN:-$root/target/release/bulwark}
bash .ci/peers.sh >/dev/null
SYFT=$root/target/peers/bin/syft
export SYFT_CHECK_FOR_APP_UPDATE=false
work=$(mktemp -d); regpid=
trap '[ -n "$regpid" ] && kill "$regpid" 2>/dev/null; rm -rf "$work"' EXIT
mib() { awk -v k="$1" 'BEGIN{ if (k == "nan") print "fail"; else printf "%.0f", k / 1024 }'; }

inputs=()
for f in "${factors[@]}"; do
  read -r tar_b blob_b < <(python3 bench/hostile_layers.py paths $((400 * f)) 16384 "$work/paths-$f")
  inputs+=("paths-$f $((400 * f))_files_x_16KiB $tar_b $blob_b")
  read -r tar_b blob_b < <(python3 bench/hostile_layers.py status $((50000 * f)) "$work/status-$f")
  inputs+=("status-$f $((50000 * f))_packages $tar_b $blob_b")
done

echo "### inventory peak RSS (MiB), $(nproc) cores; bulwark: $B"
printf '| %-9s | %-22s | %8s | %8s | %12s | %9s | %8s | %9s |\n' input what tar_MiB gz_MiB bulwark_MiB packages syft_MiB syft_pkgs
for row in "${inputs[@]}"; do
  read -r name what tar_b blob_b <<<"$row"
  dir=$work/$name
  read -r _ bw < <(python3 bench/measure.py 1 "" -- "$B" sbom "oci-dir:$dir:t" -q --no-cache -f json -o "$work/b.json")
  bpk=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$work/b.json" 2>/dev/null || echo -)
  read -r _ sy < <(python3 bench/measure.py 1 "" -- timeout "${BENCH_SYFT_TIMEOUT:-300}" "$SYFT" scan "oci-dir:$dir" -q -o "syft-json=$work/s.json")
  spk=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["artifacts"]))' "$work/s.json" 2>/dev/null || echo -)
  printf '| %-9s | %-22s | %8.1f | %8.1f | %12s | %9s | %8s | %9s |\n' "$name" "$what" \
    "$(awk -v b="$tar_b" 'BEGIN{print b/1048576}')" "$(awk -v b="$blob_b" 'BEGIN{print b/1048576}')" \
    "$(mib "$bw")" "$bpk" "$(mib "$sy")" "$spk"
done

[ "${BENCH_REGISTRY:-1}" = 0 ] && exit 0
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.toml" <<EOT
addr = "127.0.0.1:$port"
data = "$work/registry"
[auth]
anonymous = "full"
EOT
(RUST_LOG=warn exec "$B" registry serve --config "$work/registry.toml") >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 400); do curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.05; done
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
echo
echo "### registry scan-on-push (one server, images pushed in turn): VmHWM after each scan"
printf '| %-9s | %-8s | %-60s | %9s |\n' input status error VmHWM_MiB
for row in "${inputs[@]}"; do
  read -r name _ <<<"$row"
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/$name:t" "docker://127.0.0.1:$port/bench/$name:1"
  res=pending
  for _ in $(seq 6000); do
    kill -0 "$regpid" 2>/dev/null || { res="server-died -"; break; }
    res=$(curl -s "http://127.0.0.1:$port/api/v1/scan?repository=bench/$name&reference=1" | python3 -c '
import json, sys
try: d = json.load(sys.stdin)
except Exception: print("pending"); sys.exit()
print(d["status"], (d.get("error") or "-").replace(" ", "_")[:60] if d.get("status") in ("done", "failed", "skipped") else "") if d.get("status") in ("done", "failed", "skipped") else print("pending")' || echo pending)
    [ "$res" != pending ] && break
    sleep 0.1
  done
  read -r st err <<<"$res"
  hwm=$(kib "$regpid" VmHWM 2>/dev/null || echo 0)
  printf '| %-9s | %-8s | %-60s | %9s |\n' "$name" "$st" "$err" "$(mib "$hwm")"
done
