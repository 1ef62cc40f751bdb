#!/usr/bin/env bash
# benches/timing_fidelity.sh: how true are the times a probe reports? A local target
# (examples/delay_target.rs) answers after 10 ms, 100 ms and 1 s and measures what it
# really held each request; outpost's and Blackbox Exporter's /probe probe it, and the
# reported probe_duration_seconds and probe_http_duration_seconds{phase="processing"}
# are compared with that measured hold: p50 and p99 of (reported - measured), idle and
# with the machine loaded (one bounded busy loop per core). Run it with
# `make bench-timing`; it writes its section of docs/benchmarks.md. All traffic stays
# on 127.0.0.1; runtime about three minutes plus the build.
#
# Environment: TIMING_PLAN ["10:200 100:100 1000:30"] delay_ms:probes, per exporter and load
#              TIMING_CONCURRENCY [1] probes in flight at once (more measures the
#              exporter's concurrency as much as its clock)
#              OUTPOST_BIN [cargo build --release]  DELAY_BIN [cargo build --example delay_target]
#              BENCH_DOC [docs/benchmarks.md]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
PLAN=${TIMING_PLAN:-10:200 100:100 1000:30}
CONC=${TIMING_CONCURRENCY:-1}
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:timing:start -->'
END_MARK='<!-- bench:timing:end -->'
TMP=$(mktemp -d /tmp/outpost-timing.XXXXXX)
PIDS=()
LOAD_PIDS=()
stop_load() {
  for pid in "${LOAD_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  LOAD_PIDS=()
}
cleanup() {
  stop_load
  stop_pids "${PIDS[@]}"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[timing %s] %s\n' "$(date +%T)" "$*" >&2; }

command -v prometheus-blackbox-exporter >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-blackbox-exporter >/dev/null
if [[ -z ${OUTPOST_BIN:-} ]]; then
  cargo build --release --quiet --bin outpost
  OUTPOST_BIN=target/release/outpost
fi
# The target is a dev build: an example brings the dev-dependencies, and a release
# build of those is a second full release build. Its timing does not need one: it
# measures its own hold, and its few microseconds between reading the clock and
# writing count against both exporters alike.
if [[ -z ${DELAY_BIN:-} ]]; then
  cargo build --quiet --example delay_target
  DELAY_BIN=target/debug/examples/delay_target
fi

# The delay target, its port read off its first line.
"$DELAY_BIN" 127.0.0.1:0 >"$TMP/held.log" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s $TMP/held.log ]] && break; sleep 0.05; done
TARGET="http://$(awk '$1 == "listening" { print $2; exit }' "$TMP/held.log")"

cat >"$TMP/blackbox.yml" <<YML
modules:
  http_delay:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
YML
cat >"$TMP/outpost.toml" <<TOML
[modules.http_delay]
prober = "http"
timeout = "5s"
[modules.http_delay.http]
preferred_ip_protocol = "ip4"
TOML
declare -A URL
port=$(pick_port)
prometheus-blackbox-exporter --config.file="$TMP/blackbox.yml" --web.listen-address="127.0.0.1:$port" >"$TMP/blackbox.log" 2>&1 &
PIDS+=($!)
URL[blackbox]="http://127.0.0.1:$port"
port=$(pick_port)
"$OUTPOST_BIN" --config "$TMP/outpost.toml" --listen "127.0.0.1:$port" --log-level warn >"$TMP/outpost.log" 2>&1 &
PIDS+=($!)
URL[outpost]="http://127.0.0.1:$port"
wait_http_ok "${URL[blackbox]}/-/healthy"
wait_http_ok "${URL[outpost]}/-/healthy"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for load in idle loaded; do
  if [[ $load == loaded ]]; then
    # One busy loop per core, each ending by itself after 4 minutes even if this
    # script dies before killing it.
    for _ in $(seq "$(nproc)"); do
      (
        end=$((SECONDS + 240))
        while ((SECONDS < end)); do :; done
      ) &
      LOAD_PIDS+=($!)
    done
  fi
  for exporter in outpost blackbox; do
    for step in $PLAN; do
      delay=${step%%:*} count=${step#*:}
      log "$load: $exporter, $count probes of a ${delay} ms target, $CONC at a time"
      python3 benches/timing_fidelity.py probe "${URL[$exporter]}" "$TARGET" "$delay" \
        "$count" "$CONC" "$load-$exporter-$delay" "$TMP/$load-$exporter.txt"
    done
  done
  stop_load
done

python3 benches/timing_fidelity.py report "$TMP/held.log" "$TMP"/{idle,loaded}-{outpost,blackbox}.txt >"$TMP/summary.tsv"
REPORT=$(awk -F'\t' -v conc="$CONC" -v lb="$load_before" \
  -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cores="$(nproc)" -v kernel="$(uname -r)" \
  -v cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
  -v bb="$(prometheus-blackbox-exporter --version 2>&1 | head -n 1)" '
  {
    n = split($1, path, "/"); split(path[n], who, "[-.]")
    key = who[1] SUBSEP $2 SUBSEP who[2]
    dur50[key] = $5; dur99[key] = $6; proc50[key] = $7; proc99[key] = $8; ok[key] = $3; bad[key] = $4
    if (!($2 in seen)) { seen[$2] = 1; ds[++m] = $2 }
  }
  END {
    printf "Measured %s on %d cores (%s), Linux %s; load average before the run: %s.\n", date, cores, cpu, kernel, lb
    printf "%s. `make bench-timing` (benches/timing_fidelity.sh): per delay, exporter and load, the probes counted in the table through `/probe`, %d at a time, ", bb, conc
    print "of `examples/delay_target.rs`, which measures how long it really held each request (its own timer oversleeps, so the nominal delay is not the truth)."
    print "Error = reported − held, in ms, p50 / p99; `duration` is `probe_duration_seconds` (it also holds the connect, the request and the body, tens of µs on loopback), `processing` is `probe_http_duration_seconds{phase=\"processing\"}`. \"Busy loop per core\": one busy shell loop per core beside the exporters, on top of whatever else the machine runs (see the load average)."
    print ""
    print "| load added | delay | probes | outpost duration | Blackbox duration | outpost processing | Blackbox processing | failed runs (outpost / Blackbox) |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    split("idle loaded", loads, " ")
    shown["idle"] = "none added"; shown["loaded"] = "busy loop per core"
    for (l = 1; l <= 2; l++) for (i = 1; i <= m; i++) {
      o = loads[l] SUBSEP ds[i] SUBSEP "outpost"; b = loads[l] SUBSEP ds[i] SUBSEP "blackbox"
      printf "| %s | %d ms | %d | %s / %s | %s / %s | %s / %s | %s / %s | %d / %d |\n", shown[loads[l]], ds[i], ok[o] + bad[o], dur50[o], dur99[o], dur50[b], dur99[b], proc50[o], proc99[o], proc50[b], proc99[b], bad[o], bad[b]
    }
  }' "$TMP/summary.tsv")
echo "$REPORT" | tee "$TMP/report.md"
replace_section "$DOC" "$START_MARK" "$END_MARK" "$TMP/report.md"
