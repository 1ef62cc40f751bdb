#!/usr/bin/env bash
# benches/scale.sh: outpost scheduling many probes at once. N http probes of a local
# nginx (default 5000, every 10 s, so 500 runs/s) for a fixed time; reports runs/s
# achieved, CPU per run, RSS, scheduler lag, skipped runs and the cost of one
# /metrics scrape. Blackbox has no scheduler to compare with: the equivalent there is
# Prometheus scraping /probe N times per interval (see the /probe benchmark for its
# per-probe cost). Run it with `make bench-scale`. All traffic stays on 127.0.0.1.
#
# Environment: SCALE_PROBES [5000]  SCALE_INTERVAL [10s]  SCALE_SECONDS [60]  SCALE_RSS_EVERY [10]
#              OUTPOST_BIN [cargo build --release]  BENCH_DOC [docs/benchmarks.md]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
export PATH="$PATH:/usr/sbin:/sbin"
PROBES=${SCALE_PROBES:-5000}
INTERVAL=${SCALE_INTERVAL:-10s}
SECONDS_RUN=${SCALE_SECONDS:-60}
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:scale:start -->'
END_MARK='<!-- bench:scale:end -->'
TMP=$(mktemp -d /tmp/outpost-scale.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  stop_pids "${PIDS[@]}"
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[scale %s] %s\n' "$(date +%T)" "$*" >&2; }
metric_sum() { awk -v n="$1" 'index($0, n) == 1 { s += $NF } END { printf "%.0f", s }'; }

command -v nginx >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
if [[ -z ${OUTPOST_BIN:-} ]]; then
  cargo build --release --quiet
  OUTPOST_BIN=target/release/outpost
fi

serve_ok_page "$TMP"

{
  printf '[server]\nmax_concurrent_probes = 256\n\n'
  printf '[modules.http_2xx]\nprober = "http"\ntimeout = "5s"\n[modules.http_2xx.http]\npreferred_ip_protocol = "ip4"\n\n'
  for i in $(seq "$PROBES"); do
    printf '[[probes]]\nname = "p%d"\nmodule = "http_2xx"\ntarget = "http://127.0.0.1:%d/?p=%d"\ninterval = "%s"\nlabels = { shard = "s%d" }\n\n' \
      "$i" "$NGINX_PORT" "$i" "$INTERVAL" $((i % 8))
  done
} >"$TMP/scale.toml"

PORT=$(pick_port)
"$OUTPOST_BIN" --config "$TMP/scale.toml" --listen "127.0.0.1:$PORT" --log-level warn >"$TMP/outpost.log" 2>&1 &
OUTPOST=$!
PIDS+=("$OUTPOST")
wait_http_ok "http://127.0.0.1:$PORT/-/healthy"
idle_kib=$(proc_kib "$OUTPOST" VmRSS)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
cpu0=$(cpu_s "$OUTPOST")
log "$PROBES probes every $INTERVAL for ${SECONDS_RUN}s"
# RSS every RSS_EVERY seconds across the window: how the stored results grow round
# after round (the first round of reports, then the allocator's room between two).
RSS_EVERY=${SCALE_RSS_EVERY:-10}
rss_track="0 s: $((idle_kib / 1024))"
t0=$SECONDS
while ((SECONDS - t0 < SECONDS_RUN)); do
  sleep "$(((SECONDS_RUN - (SECONDS - t0)) < RSS_EVERY ? (SECONDS_RUN - (SECONDS - t0)) : RSS_EVERY))"
  rss_track+=", $((SECONDS - t0)) s: $(($(proc_kib "$OUTPOST" VmRSS) / 1024))"
done
cpu1=$(cpu_s "$OUTPOST")
# Three scrapes: the first sizes its buffer from nothing, later ones from the last page.
scrape_times=()
for _ in 1 2 3; do
  scrape_times+=("$(curl -fsS -o "$TMP/metrics.txt" -w '%{time_total}' "http://127.0.0.1:$PORT/metrics")")
done
cpu2=$(cpu_s "$OUTPOST")

runs=$(metric_sum 'probe_runs_total{' <"$TMP/metrics.txt")
successes=$(grep -F 'outcome="success"' "$TMP/metrics.txt" | metric_sum 'probe_runs_total{')
skipped=$(metric_sum 'outpost_scheduler_skipped_runs_total' <"$TMP/metrics.txt")
lag_count=$(metric_sum 'outpost_scheduler_lag_seconds_count' <"$TMP/metrics.txt")
lag_under_10ms=$(metric_sum 'outpost_scheduler_lag_seconds_bucket{le="0.01"}' <"$TMP/metrics.txt")
lag_under_100ms=$(metric_sum 'outpost_scheduler_lag_seconds_bucket{le="0.1"}' <"$TMP/metrics.txt")
hwm_kib=$(proc_kib "$OUTPOST" VmHWM)
rss_kib=$(proc_kib "$OUTPOST" VmRSS)
metrics_bytes=$(stat -c %s "$TMP/metrics.txt")
series=$(grep -vc '^#' "$TMP/metrics.txt")

REPORT=$(awk -v n="$PROBES" -v iv="$INTERVAL" -v secs="$SECONDS_RUN" -v runs="$runs" -v ok="$successes" \
  -v c0="$cpu0" -v c1="$cpu1" -v c2="$cpu2" -v idle="$idle_kib" -v hwm="$hwm_kib" -v rss="$rss_kib" \
  -v track="$rss_track" -v skipped="$skipped" -v lagn="$lag_count" -v lag10="$lag_under_10ms" -v lag100="$lag_under_100ms" \
  -v t1="${scrape_times[0]}" -v t3="${scrape_times[2]}" -v mb="$metrics_bytes" -v series="$series" \
  -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cores="$(nproc)" -v kernel="$(uname -r)" \
  -v load0="$load0" -v load1="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "%d scheduled http probes of a local nginx, every %s, for %d s (`make bench-scale`, %s, %d cores, Linux %s; load average %s before, %s after: the machine is shared).\n\n", n, iv, secs, date, cores, kernel, load0, load1
  print "| figure | value |"
  print "| --- | ---: |"
  printf "| runs completed (all since start) | %d (%d successful) |\n", runs, ok
  printf "| CPU during the %d s window | %.2f s (%.1f %% of one core) |\n", secs, c1 - c0, 100 * (c1 - c0) / secs
  printf "| CPU per run (window CPU / runs planned in it) | %.3f ms |\n", 1000 * (c1 - c0) / (n * secs / (iv + 0)), 0
  printf "| RSS after start / after the run / peak | %.1f / %.1f / %.1f MiB |\n", idle / 1024, rss / 1024, hwm / 1024
  printf "| RSS across the window (since start), MiB | %s |\n", track
  printf "| scheduler lag under 10 ms / under 100 ms | %.2f %% / %.2f %% of %d runs |\n", 100 * lag10 / lagn, 100 * lag100 / lagn, lagn
  printf "| skipped runs | %d |\n", skipped
  printf "| a /metrics scrape (first / third) | %.0f / %.0f ms, %.1f MiB, %d samples, %.2f s CPU each |\n", 1000 * t1, 1000 * t3, mb / 1048576, series, (c2 - c1) / 3
  printf "| a /metrics scrape per 20,000 probes (third) | %.0f ms |\n", 1000 * t3 * 20000 / n
  printf "| RSS the run added per probe ((after the run - after start) / probes) | %.2f KiB |\n", (rss - idle) / n
  # The second performance round (issue 23): RSS after two rounds at 100,000 probes
  # (192 MiB) and the /metrics page at 150 ms per 20,000 probes.
  printf "\nAgainst the goals of the second performance round: RSS after the run %.1f MiB (goal 192 MiB at 100,000 probes after two rounds: %s); /metrics %.0f ms per 20,000 probes (goal 150 ms: %s).\n", rss / 1024, (n == 100000 && secs >= 2 * (iv + 0)) ? (rss / 1024 <= 192 ? "met" : "not yet") : "not this run", 1000 * t3 * 20000 / n, (1000 * t3 * 20000 / n <= 150 ? "met" : "not yet")
}')
echo "$REPORT" | tee "$TMP/report.md"
replace_section "$DOC" "$START_MARK" "$END_MARK" "$TMP/report.md"
