#!/usr/bin/env bash
# `bulwark registry serve` against Debian's docker-registry (distribution 2.8), in the same run,
# both on loopback with local-filesystem storage in a temporary directory, anonymous, plain HTTP:
#   - skopeo push and pull wall time of every shared image (median of RUNS);
#   - concurrent GETs of one manifest and of one small blob (its config) with wrk: requests/s, p99;
#   - each server's peak RSS (VmHWM) at the end;
#   - apart, bulwark with scan-on-push on: push time and push-to-scan-done time of each image, in
#     fresh registries (a digest is scanned once per registry), beside a fresh one that does not scan.
#
#   bench/registry.sh [RUNS] [IMAGE...]      (default: 5 runs, every image; medians shown)
#
# Environment:
#   BULWARK_REGISTRY_CMD   command run as `$BULWARK_REGISTRY_CMD --config FILE.toml` for the bulwark
#                          column (default: target/release/bulwark registry serve, built here);
#                          `distribution` runs a second docker-registry there (A/A check of the bench)
#   BENCH_WRK_DURATION     per wrk run (default 10s)      BENCH_WRK_CONNS    connections (default 64)
#   BENCH_WRK_THREADS      wrk threads (default 2)        BENCH_LOAD_RUNS    wrk runs, median (default 3)
#   BENCH_LOAD_IMAGE       image whose manifest and config are fetched (default node-app)
#   BENCH_SCAN=0           skip the scan-on-push part   BENCH_SCAN_RUNS    its rounds (default min(RUNS, 3))
#
# Needs docker-registry, skopeo, wrk, curl and python3 (apt-get install docker-registry skopeo wrk).
# Run as root, the script re-runs itself in a private mount namespace with a tmpfs over skopeo's
# blob-info cache (/var/lib/containers/cache), wiped before every push: otherwise skopeo would
# cross-repository-mount blobs it remembers pushing in an earlier run instead of uploading them.
set -euo pipefail
if [ "$(id -u)" = 0 ] && [ -z "${_BULWARK_BENCH_NS:-}" ] && unshare -m true 2>/dev/null; then
  exec env _BULWARK_BENCH_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${BULWARK_SHARED:-$root/../shared}
runs=${1:-5}; shift || true
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(debian-minbase python-app node-app rust-app java-app multi-layer zstd-layer rpm-synthetic)
wrk_duration=${BENCH_WRK_DURATION:-10s}
wrk_conns=${BENCH_WRK_CONNS:-64}
wrk_threads=${BENCH_WRK_THREADS:-2}
load_runs=${BENCH_LOAD_RUNS:-3}
load_image=${BENCH_LOAD_IMAGE:-node-app}
bulwark_cmd=${BULWARK_REGISTRY_CMD:-}
for c in docker-registry skopeo wrk curl python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install docker-registry skopeo wrk curl python3)" >&2; exit 2; }
done

cd "$root"
B=$root/target/release/bulwark
if [ -z "$bulwark_cmd" ]; then
  cargo build --release -q -p bulwark-cli --bins
  "$B" registry serve --help >/dev/null 2>&1 || { echo "$B has no working 'registry serve'" >&2; exit 2; }
  bulwark_cmd="$B registry serve"
fi

work=$(mktemp -d)
declare -A pid=() host=() log=()
cleanup() {
  set +e  # a server killed by SIGTERM makes `wait` fail: that must not stop the cleanup
  local n
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null; done
  for n in "${!pid[@]}"; do wait "${pid[$n]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# skopeo's blob-info cache: private and wiped before each push (see the header).
if [ "$(id -u)" = 0 ]; then
  bic=/var/lib/containers/cache
  if [ -n "${_BULWARK_BENCH_NS:-}" ] && mkdir -p "$bic" && mount -t tmpfs tmpfs "$bic"; then
    bic_note="skopeo blob-info cache private and wiped before each push"
  else
    bic=; bic_note="WARNING: skopeo's blob-info cache could not be isolated; pushes may mount blobs instead of uploading"
  fi
else
  export XDG_DATA_HOME=$work/xdg
  bic=$XDG_DATA_HOME/containers/cache; mkdir -p "$bic"
  bic_note="skopeo blob-info cache private and wiped before each push"
fi
wipe_bic="${bic:+rm -rf '$bic'/*}"; wipe_bic=${wipe_bic:-true}

# Our own skopeo policy and an empty Docker config: the tester's ~/.docker plays no part.
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/policy.json"
mkdir -p "$work/docker" && echo '{}' >"$work/docker/config.json"
export DOCKER_CONFIG=$work/docker
skopeo=(skopeo --policy "$work/policy.json")

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME KIND [SCAN_ON_PUSH] [DB]: KIND is distribution or bulwark; waits for GET /v2/ = 200.
start() {
  local name=$1 kind=$2 scan=${3:-false} db=${4:-} dir=$work/$1 port try p
  [ "$kind" = bulwark ] && [ "$bulwark_cmd" = distribution ] && kind=distribution
  mkdir -p "$dir"
  for try in 1 2 3 4 5; do
    port=$(free_port)
    rm -rf "$dir/storage"
    if [ "$kind" = distribution ]; then
      cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: bulwark-bench-secret
EOF
      (exec docker-registry serve "$dir/config.yml") >"$dir/log" 2>&1 &
    else
      cat >"$dir/config.toml" <<EOF
addr = "127.0.0.1:$port"
data = "$dir/storage"
[auth]
anonymous = "full"
[scan]
on_push = $scan
${db:+db = \"$db\"}
EOF
      # shellcheck disable=SC2086  # the command is a word list on purpose
      (export RUST_LOG=${RUST_LOG:-warn}; exec $bulwark_cmd --config "$dir/config.toml") >"$dir/log" 2>&1 &
    fi
    p=$!
    pid[$name]=$p; host[$name]=127.0.0.1:$port; log[$name]=$dir/log
    for _ in $(seq 400); do  # 20 s
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null)" = 200 ] && return 0
      kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$p" 2>/dev/null; then
      echo "$name ($kind) did not answer GET /v2/ with 200 within 20 s; its log:" >&2
      tail -20 "$dir/log" >&2; exit 1
    fi
    wait "$p" 2>/dev/null || true; unset "pid[$name]"
    grep -qi 'address already in use' "$dir/log" || { echo "$name ($kind) exited; its log:" >&2; tail -20 "$dir/log" >&2; exit 1; }
  done
  echo "$name: no free port after 5 tries" >&2; exit 1
}

kib() { awk '$1 == "'"$2"':" {print $2}' "/proc/$1/status"; }
mib() { awk -v r="$1" 'BEGIN{ if (r == "nan" || r == "") print "nan"; else printf "%.1f", r / 1024 }'; }
# ratio A B = A / B, 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "nan" || b == "nan" || a == "" || b == "") print "n/a"; else if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

# tag_of IMAGE: the tag in the layout's index.json; config_of IMAGE: the config blob's digest.
tag_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$shared/images/$1/oci/index.json"; }
config_of() {
  python3 - "$shared/images/$1/oci" <<'PY'
import json, sys, os
d = sys.argv[1]
m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]["digest"]
print(json.load(open(os.path.join(d, "blobs", *m.split(":"))))["config"]["digest"])
PY
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start dist distribution
start bw bulwark
declare -A idle_rss
for n in dist bw; do idle_rss[$n]=$(kib "${pid[$n]}" VmRSS); done

# push.sh HOST IMAGE TAG REPO: push to REPO-runK, K from the counter the PREP bumps.
cat >"$work/push.sh" <<EOF
#!/bin/sh
k=\$(cat "$work/k")
exec ${skopeo[*]} copy --quiet --dest-tls-verify=false "oci:$shared/images/\$2/oci:\$3" "docker://\$1/\$4-run\$k:1"
EOF
chmod +x "$work/push.sh"
measure() { python3 "$root/bench/measure.py" "$1" "$2" -- "${@:3}"; }
bump="n=\$(cat '$work/k'); echo \$((n + 1)) >'$work/k'"

# One untimed push per server with --debug: how many blobs a push really uploads.
upload_check() {  # HOST IMAGE TAG -> "uploaded/total"
  eval "$wipe_bic"
  "${skopeo[@]}" --debug copy --dest-tls-verify=false "oci:$shared/images/$2/oci:$3" "docker://$1/check/$2:1" 2>&1 \
    | awk '/Upload of layer .* complete/ {u++} /Skipping blob/ {s++} END {printf "%d/%d", u, u + s}'
}

declare -A push pull uploads
failed=0
echo "images: ${images[*]}; $runs runs each; $bic_note" >&2
for img in "${images[@]}"; do
  tag=$(tag_of "$img")
  for n in dist bw; do
    echo 0 >"$work/k"
    read -r push[$n,$img] _ < <(measure "$runs" "$wipe_bic; $bump" "$work/push.sh" "${host[$n]}" "$img" "$tag" "bench/$img")
    read -r pull[$n,$img] _ < <(measure "$runs" "rm -rf '$work/pull'; mkdir '$work/pull'" "${skopeo[@]}" copy --quiet \
      --src-tls-verify=false "docker://${host[$n]}/bench/$img-run1:1" "oci:$work/pull/$img:1")
    uploads[$n,$img]=$(upload_check "${host[$n]}" "$img" "$tag")
  done
  echo "  $img: push ${push[dist,$img]} / ${push[bw,$img]} s, pull ${pull[dist,$img]} / ${pull[bw,$img]} s, uploaded ${uploads[dist,$img]} / ${uploads[bw,$img]} blobs" >&2
done

# Load: wrk on one manifest and on the config blob of the load image.
accept='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
ltag=$(tag_of "$load_image"); lcfg=$(config_of "$load_image")
wrk_one() {  # URL -> "req/s p99_ms non2xx errors"
  wrk -t"$wrk_threads" -c"$wrk_conns" -d"$wrk_duration" --latency -H "Accept: $accept" "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { err = $4 + $6 + $8 + $10 }
    END { printf "%s %s %d %d\n", rps == "" ? "nan" : rps, p99 == "" ? "nan" : p99, bad, err }'
}
declare -A rps p99 status
for n in dist bw; do
  eval "$wipe_bic"
  "${skopeo[@]}" copy --quiet --dest-tls-verify=false "oci:$shared/images/$load_image/oci:$ltag" "docker://${host[$n]}/bench/$load_image:1"
  for what in manifest blob; do
    if [ $what = manifest ]; then url=http://${host[$n]}/v2/bench/$load_image/manifests/1
    else url=http://${host[$n]}/v2/bench/$load_image/blobs/$lcfg; fi
    status[$n,$what]=$(curl -s -o "$work/body" -w '%{http_code} %{size_download}B %{content_type}' -H "Accept: $accept" "$url")
    case ${status[$n,$what]} in 200\ *) ;; *) echo "GET $url: ${status[$n,$what]}" >&2; failed=1 ;; esac
    wrk -t"$wrk_threads" -c"$wrk_conns" -d2s -H "Accept: $accept" "$url" >/dev/null  # warm-up
    vals_r=(); vals_p=()
    for _ in $(seq "$load_runs"); do
      read -r r p bad err < <(wrk_one "$url")
      [ "$bad" -eq 0 ] && [ "$err" -eq 0 ] || { echo "wrk $url: $bad non-2xx/3xx responses, $err socket errors" >&2; failed=1; }
      vals_r+=("$r"); vals_p+=("$p")
    done
    rps[$n,$what]=$(printf '%s\n' "${vals_r[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    p99[$n,$what]=$(printf '%s\n' "${vals_p[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    echo "  $what GET ($n): ${status[$n,$what]}; ${rps[$n,$what]} req/s, p99 ${p99[$n,$what]} ms" >&2
  done
done

declare -A hwm rss_end
for n in dist bw; do hwm[$n]=$(kib "${pid[$n]}" VmHWM); rss_end[$n]=$(kib "${pid[$n]}" VmRSS); done

label=bulwark; [ "$bulwark_cmd" = distribution ] && label="distribution #2"
echo
echo "### bulwark registry vs distribution 2.8 ($(nproc) cores, loopback, filesystem storage, anonymous)"
echo
echo "Load average before: $load_start; after the GETs: $(cut -d' ' -f1-3 /proc/loadavg) (anything much above 0 before means other work shared the cores)."
echo
echo "| metric | distribution | $label | ratio |"
echo "|---|---:|---:|---:|"
for img in "${images[@]}"; do
  echo "| push $img (s) | ${push[dist,$img]} | ${push[bw,$img]} | $(ratio "${push[dist,$img]}" "${push[bw,$img]}") |"
done
for img in "${images[@]}"; do
  echo "| pull $img (s) | ${pull[dist,$img]} | ${pull[bw,$img]} | $(ratio "${pull[dist,$img]}" "${pull[bw,$img]}") |"
done
for what in manifest blob; do
  echo "| $what GET (req/s) | ${rps[dist,$what]} | ${rps[bw,$what]} | $(ratio "${rps[bw,$what]}" "${rps[dist,$what]}") |"
  echo "| $what GET p99 (ms) | ${p99[dist,$what]} | ${p99[bw,$what]} | $(ratio "${p99[dist,$what]}" "${p99[bw,$what]}") |"
done
echo "| RSS idle after start (MiB) | $(mib "${idle_rss[dist]}") | $(mib "${idle_rss[bw]}") | $(ratio "${idle_rss[dist]}" "${idle_rss[bw]}") |"
echo "| RSS at end (MiB) | $(mib "${rss_end[dist]}") | $(mib "${rss_end[bw]}") | $(ratio "${rss_end[dist]}" "${rss_end[bw]}") |"
echo "| peak RSS, VmHWM (MiB) | $(mib "${hwm[dist]}") | $(mib "${hwm[bw]}") | $(ratio "${hwm[dist]}" "${hwm[bw]}") |"
echo
echo "ratio > 1: $label is better (time and memory: distribution / $label; req/s: $label / distribution)."
echo "Target: at least 1.5x distribution's throughput. manifest GET: $(ratio "${rps[bw,manifest]}" "${rps[dist,manifest]}")x," \
  "blob GET: $(ratio "${rps[bw,blob]}" "${rps[dist,blob]}")x."
echo "push = skopeo copy oci:LAYOUT -> docker://HOST/bench/IMAGE-runK:1, a fresh repository per run, $bic_note;"
echo "  blobs uploaded/total in an extra --debug push per server:$(for img in "${images[@]}"; do printf ' %s %s|%s' "$img" "${uploads[dist,$img]}" "${uploads[bw,$img]}"; done)"
echo "  (distribution|$label; the rest were skipped as already present in the repository)."
echo "pull = skopeo copy docker://HOST/bench/IMAGE-run1:1 -> oci:FRESH_DIR:1 (every blob downloaded and its digest checked)."
echo "Push and pull: median wall time of $runs runs, skopeo included (client and server share the $(nproc) cores)."
echo "GET = wrk -t$wrk_threads -c$wrk_conns -d$wrk_duration --latency, Accept: OCI or Docker v2 manifest, on" \
  "/v2/bench/$load_image/manifests/1 and /v2/bench/$load_image/blobs/${lcfg:0:19}… (the config);" \
  "median of $load_runs runs after a 2 s warm-up."
echo "  responses: manifest ${status[dist,manifest]} | ${status[bw,manifest]}; blob ${status[dist,blob]} | ${status[bw,blob]}"
echo "Memory from /proc/PID/status of each server process after all of the above; distribution's access log off, log level warn," \
  "blob-descriptor cache in memory as in Debian's stock config" \
  "(bulwark: RUST_LOG=${RUST_LOG:-warn})."

# Scan-on-push: SCAN_RUNS rounds of two fresh bulwark registries fed the same pushes in the same
# order, one with on_push = true and an advisory database from the shared OSV export. Fresh ones,
# because a digest is scanned once per registry; a control without scans, because the first push
# into an empty registry is not comparable with the medians above.
stop() { kill "${pid[$1]}" 2>/dev/null; wait "${pid[$1]}" 2>/dev/null || true; unset "pid[$1]"; }
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b - a}'; }
scan_wait() {  # REPO -> "status packages findings error" once scanned (300 s at most)
  local body res
  for _ in $(seq 6000); do
    body=$(curl -s "http://${host[scan]}/api/v1/scan?repository=$1&reference=1" || true)
    res=$(printf '%s' "$body" | python3 -c '
import json, sys
try: d = json.load(sys.stdin)
except Exception: print("pending"); sys.exit()
if d.get("status") in ("done", "failed", "skipped"):
    s = d.get("summary") or {}
    print(d["status"], s.get("packages", "-"), s.get("total", "-"), (d.get("error") or "").replace(" ", "_")[:60])
else: print("pending")')
    [ "$res" != pending ] && { echo "$res"; return; }
    kill -0 "${pid[scan]}" 2>/dev/null || { echo "server-died - - -"; return; }
    sleep 0.05
  done
  echo "timeout - - -"
}
scan_runs=${BENCH_SCAN_RUNS:-$((runs < 3 ? runs : 3))}
if [ "${BENCH_SCAN:-1}" != 0 ] && [ "$bulwark_cmd" != distribution ]; then
  db=$work/vuln.db
  if ! "$B" db update --source "$shared/data/osv" --db "$db" -q >"$work/db.log" 2>&1; then
    echo "bulwark db update failed (scanning without a database: inventory only):" >&2; tail -5 "$work/db.log" >&2; db=
  fi
  declare -A t_off t_on t_done scan_res
  hwm_on=(); hwm_off=()
  for r in $(seq "$scan_runs"); do
    start noscan bulwark false
    start scan bulwark true "$db"
    for img in "${images[@]}"; do
      tag=$(tag_of "$img")
      eval "$wipe_bic"
      t0=$(date +%s.%N)
      "${skopeo[@]}" copy --quiet --dest-tls-verify=false "oci:$shared/images/$img/oci:$tag" "docker://${host[noscan]}/bench/$img:1" \
        || { echo "push of $img without scan-on-push failed" >&2; failed=1; }
      t_off[$img]+=" $(since "$t0")"
      eval "$wipe_bic"
      t0=$(date +%s.%N)
      "${skopeo[@]}" copy --quiet --dest-tls-verify=false "oci:$shared/images/$img/oci:$tag" "docker://${host[scan]}/bench/$img:1" \
        || { echo "push of $img with scan-on-push failed" >&2; failed=1; }
      t_on[$img]+=" $(since "$t0")"
      res=$(scan_wait "bench/$img")
      t_done[$img]+=" $(since "$t0")"
      [ "${res%% *}" = done ] || { echo "scan of $img, round $r: $res" >&2; failed=1; }
      scan_res[$img]=$res
    done
    hwm_on+=("$(kib "${pid[scan]}" VmHWM)"); hwm_off+=("$(kib "${pid[noscan]}" VmHWM)")
    stop scan; stop noscan
    echo "  scan-on-push round $r done" >&2
  done
  echo
  echo "### scan-on-push cost (bulwark only; distribution does not scan)"
  echo
  echo "| image | push, scan off (s) | push, scan off, fresh (s) | push, scan on, fresh (s) | push start to scan done (s) | scan | packages | findings |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|"
  for img in "${images[@]}"; do
    read -r st pk nf er <<<"${scan_res[$img]}"
    # shellcheck disable=SC2086  # the time lists split on purpose
    printf '| %s | %s | %s | %s | %s | %s%s | %s | %s |\n' "$img" "${push[bw,$img]}" "$(med ${t_off[$img]})" \
      "$(med ${t_on[$img]})" "$(med ${t_done[$img]})" "$st" "${er:+ ($er)}" "$pk" "$nf"
  done
  echo
  echo "push, scan off = the median above. The fresh columns: $scan_runs rounds (median shown), each with two new empty bulwark"
  echo "registries, one scanning on push, pushed every image in the order above, each push waiting for the previous scan."
  echo "Scans run on one background thread after the manifest PUT; a registry reuses the layers it already inventoried"
  if [ -n "$db" ]; then db_note="the shared OSV export (bulwark db update --source $shared/data/osv)"; else db_note="none (inventory only)"; fi
  echo "(python-app and multi-layer share debian-minbase's layer). Advisory database: $db_note."
  echo "Peak RSS (VmHWM, median of rounds) of the scanning registry: $(mib "$(med "${hwm_on[@]}")") MiB;" \
    "of the fresh one without scans: $(mib "$(med "${hwm_off[@]}")") MiB."
fi

# Server logs: anything at error level or worse, except distribution's routine 404s on HEAD of
# a blob a client is about to upload.
for n in "${!log[@]}"; do
  errs=$(grep -iE 'panic|error|fatal' "${log[$n]}" | grep -v 'err.code="blob unknown"' || true)
  if [ -n "$errs" ]; then
    echo; echo "log of $n (${host[$n]}): $(wc -l <<<"$errs") error lines, e.g.:"; head -5 <<<"$errs" | cut -c1-300
  fi
done
if [ "$failed" != 0 ] || grep -qw nan <<<"${push[*]} ${pull[*]} ${rps[*]}"; then
  echo "SOME MEASUREMENTS FAILED (see above)" >&2; exit 1
fi
