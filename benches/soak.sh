#!/usr/bin/env bash
# benches/soak.sh: outpost left running with 2,000 scheduled probes and a reload every
# SOAK_RELOAD_EVERY seconds, for SOAK_SECONDS (10 minutes by default, never more than
# 15), reading its RSS and open file descriptors as it goes. The probes are a mix of
# what a real fleet meets: answering targets (nginx), failing ones (404), refused
# connects (a closed port), and targets that accept and never answer (each run ends
# at its deadline). Every reload swaps between two configurations that differ by 10 %
# of the probes (removed, added, one module's timeout changed), so runs in flight are
# cancelled and state is dropped and made all the time.
#
# Flat means: after the warm-up (the first SOAK_WARMUP seconds, when the first rounds
# of results are stored), RSS grows by less than SOAK_MAX_RSS_GROWTH_PCT percent and
# the file descriptors by fewer than SOAK_MAX_FD_GROWTH between the first and the
# last third of the samples. The script exits 1 when either does not hold, or when a
# reload failed, and writes its figures between the soak markers of docs/benchmarks.md.
# Run it with `make soak`. All traffic stays on 127.0.0.1.
#
# Environment: SOAK_PROBES [2000]  SOAK_INTERVAL [15s]  SOAK_SECONDS [600]
#              SOAK_RELOAD_EVERY [20]  SOAK_SAMPLE_EVERY [10]  SOAK_WARMUP [60]
#              SOAK_MAX_RSS_GROWTH_PCT [10]  SOAK_MAX_FD_GROWTH [16]
#              OUTPOST_BIN [cargo build --release]  BENCH_DOC [docs/benchmarks.md]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
export PATH="$PATH:/usr/sbin:/sbin"
PROBES=${SOAK_PROBES:-2000}
INTERVAL=${SOAK_INTERVAL:-15s}
SECONDS_RUN=${SOAK_SECONDS:-600}
RELOAD_EVERY=${SOAK_RELOAD_EVERY:-20}
SAMPLE_EVERY=${SOAK_SAMPLE_EVERY:-10}
WARMUP=${SOAK_WARMUP:-60}
MAX_RSS_PCT=${SOAK_MAX_RSS_GROWTH_PCT:-10}
MAX_FD=${SOAK_MAX_FD_GROWTH:-16}
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:soak:start -->'
END_MARK='<!-- bench:soak:end -->'
((SECONDS_RUN <= 900)) || { echo "soak: SOAK_SECONDS is at most 900" >&2; exit 2; }
TMP=$(mktemp -d /tmp/outpost-soak.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  stop_pids "${PIDS[@]}"
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[soak %s] %s\n' "$(date +%T)" "$*" >&2; }
metric() { awk -v n="$1" 'index($0, n) == 1 { print $NF; exit }'; }

command -v nginx >/dev/null || scripts/install-test-deps.sh >/dev/null
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown) # what is built and measured
if [[ -z ${OUTPOST_BIN:-} ]]; then
  cargo build --release --quiet
  OUTPOST_BIN=target/release/outpost
fi

serve_ok_page "$TMP"

# A target that accepts connections and never answers; it holds at most 4,096.
STALL_PORT=$(pick_port)
python3 - "$STALL_PORT" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1024)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    if len(held) > 4096:
        held.pop(0).close()
PY
PIDS+=($!)
CLOSED_PORT=$(pick_port) # nothing listens there: connects are refused

# config VARIANT: the probe list; variant b drops the first tenth of the probes,
# adds as many under new names, and shortens the stalling module's timeout.
config() {
  local variant=$1 first=1 last=$PROBES stall_timeout=2s i kind
  if [[ $variant == b ]]; then
    first=$((PROBES / 10 + 1))
    last=$((PROBES + PROBES / 10))
    stall_timeout=1500ms
  fi
  printf '[modules.http_2xx]\nprober = "http"\ntimeout = "3s"\n[modules.http_2xx.http]\npreferred_ip_protocol = "ip4"\n\n'
  printf '[modules.stall]\nprober = "http"\ntimeout = "%s"\n[modules.stall.http]\npreferred_ip_protocol = "ip4"\n\n' "$stall_timeout"
  printf '[modules.tcp]\nprober = "tcp"\ntimeout = "2s"\n[modules.tcp.tcp]\npreferred_ip_protocol = "ip4"\n\n'
  for i in $(seq "$first" "$last"); do
    kind=$((i % 20))
    if ((kind < 14)); then
      printf '[[probes]]\nname = "ok%d"\nmodule = "http_2xx"\ntarget = "http://127.0.0.1:%d/?p=%d"\ninterval = "%s"\n\n' "$i" "$NGINX_PORT" "$i" "$INTERVAL"
    elif ((kind < 16)); then
      printf '[[probes]]\nname = "missing%d"\nmodule = "http_2xx"\ntarget = "http://127.0.0.1:%d/missing/%d"\ninterval = "%s"\n\n' "$i" "$NGINX_PORT" "$i" "$INTERVAL"
    elif ((kind < 18)); then
      printf '[[probes]]\nname = "refused%d"\nmodule = "tcp"\ntarget = "127.0.0.1:%d"\ninterval = "%s"\n\n' "$i" "$CLOSED_PORT" "$INTERVAL"
    else
      printf '[[probes]]\nname = "stall%d"\nmodule = "stall"\ntarget = "http://127.0.0.1:%d/"\ninterval = "%s"\n\n' "$i" "$STALL_PORT" "$INTERVAL"
    fi
  done
}
config a >"$TMP/a.toml"
config b >"$TMP/b.toml"
cp "$TMP/a.toml" "$TMP/probes.toml"

PORT=$(pick_port)
"$OUTPOST_BIN" --config "$TMP/probes.toml" --listen "127.0.0.1:$PORT" --log-level error >"$TMP/outpost.log" 2>&1 &
OUTPOST=$!
PIDS+=("$OUTPOST")
wait_http_ok "http://127.0.0.1:$PORT/-/healthy"
cpu0=$(cpu_s "$OUTPOST")
log "$PROBES probes every $INTERVAL, a reload every ${RELOAD_EVERY}s, for ${SECONDS_RUN}s"

samples=() # "seconds rss_kib fds"
reloads=0 failed_reloads=0 variant=a
t0=$SECONDS next_reload=$RELOAD_EVERY next_sample=0
while ((SECONDS - t0 < SECONDS_RUN)); do
  now=$((SECONDS - t0))
  if ((now >= next_sample)); then
    samples+=("$now $(proc_kib "$OUTPOST" VmRSS) $(find "/proc/$OUTPOST/fd" -mindepth 1 -maxdepth 1 | wc -l)")
    next_sample=$((next_sample + SAMPLE_EVERY))
  fi
  if ((now >= next_reload)); then
    variant=$([[ $variant == a ]] && echo b || echo a)
    cp "$TMP/$variant.toml" "$TMP/probes.toml"
    if curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/-/reload"; then
      reloads=$((reloads + 1))
    else
      failed_reloads=$((failed_reloads + 1))
    fi
    next_reload=$((next_reload + RELOAD_EVERY))
  fi
  sleep 1
done
cpu1=$(cpu_s "$OUTPOST")
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics.txt"
kill -0 "$OUTPOST" || { echo "soak: outpost died" >&2; cat "$TMP/outpost.log" >&2; exit 1; }
runs=$(awk 'index($0, "probe_runs_total{") == 1 { s += $NF } END { printf "%.0f", s }' "$TMP/metrics.txt")
reload_ok=$(metric outpost_config_last_reload_successful <"$TMP/metrics.txt")

# First and last third of the samples after the warm-up: mean RSS and FDs of each.
verdict=$(printf '%s\n' "${samples[@]}" | awk -v w="$WARMUP" -v pct="$MAX_RSS_PCT" -v maxfd="$MAX_FD" '
  BEGIN { n = 0 }
  $1 >= w { t[n] = $1; r[n] = $2; f[n] = $3; n++ }
  END {
    if (n < 6) { print "FAIL 0 0 0 0 0"; exit }
    k = int(n / 3)
    for (i = 0; i < k; i++) { r1 += r[i]; f1 += f[i]; r3 += r[n - k + i]; f3 += f[n - k + i] }
    r1 /= k; r3 /= k; f1 /= k; f3 /= k
    growth = (r3 - r1) * 100 / r1
    ok = growth < pct && (f3 - f1) < maxfd
    printf "%s %.1f %.1f %.1f %.1f %.1f\n", ok ? "PASS" : "FAIL", r1 / 1024, r3 / 1024, growth, f1, f3
  }')
read -r result rss_first rss_last growth fd_first fd_last <<<"$verdict"
log "$result: RSS $rss_first -> $rss_last MiB ($growth %), fds $fd_first -> $fd_last (${#samples[@]} samples)"

{
  echo
  echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') at commit $COMMIT on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), $(uname -sr); command: \`make soak\` ($PROBES probes every $INTERVAL, ${SECONDS_RUN} s, a reload every ${RELOAD_EVERY} s)."
  echo
  echo "| figure | value |"
  echo "| --- | --- |"
  echo "| probes (70 % answering, 10 % 404, 10 % refused, 10 % stalling to the deadline) | $PROBES |"
  echo "| runs | $runs |"
  echo "| reloads (each swaps $((PROBES / 10)) probes and a module's timeout) | $reloads ok, $failed_reloads failed; last successful: $reload_ok |"
  echo "| CPU | $(awk -v a="$cpu0" -v b="$cpu1" -v s="$SECONDS_RUN" 'BEGIN { printf "%.1f %% of a core", (b - a) * 100 / s }') |"
  echo "| RSS after the ${WARMUP} s warm-up, first third → last third (mean) | ${rss_first} → ${rss_last} MiB (${growth} %, bound ${MAX_RSS_PCT} %) |"
  echo "| open file descriptors, first third → last third (mean) | ${fd_first} → ${fd_last} (bound +${MAX_FD}) |"
  echo "| verdict | $result |"
  echo
  echo "Every sample (seconds: RSS MiB / fds): $(printf '%s\n' "${samples[@]}" | awk '{ printf "%s%d: %.1f / %d", (NR > 1 ? ", " : ""), $1, $2 / 1024, $3 }')."
  echo
} >"$TMP/report.md"
replace_section "$DOC" "$START_MARK" "$END_MARK" "$TMP/report.md"
cat "$TMP/report.md"
[[ $result == PASS && $failed_reloads == 0 && $reload_ok == 1 ]]
