#!/usr/bin/env bash
# benches/endless_body.sh: a target that sends an endless body, probed with a body
# regex that never matches and a 5 s module timeout, through outpost's and Blackbox
# Exporter's /probe. Reports, for each: how long the probe took (it should end at
# its timeout), probe_success, and the exporter's peak RSS (VmHWM) afterwards.
# Run it with `make bench-endless`. All traffic stays on 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:endless:start -->'
END_MARK='<!-- bench:endless:end -->'
TMP=$(mktemp -d /tmp/outpost-endless.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[endless %s] %s\n' "$(date +%T)" "$*" >&2; }


command -v prometheus-blackbox-exporter >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-blackbox-exporter >/dev/null
if [[ -z ${OUTPOST_BIN:-} ]]; then
  cargo build --release --quiet
  OUTPOST_BIN=target/release/outpost
fi

python3 benches/endless_body.py "$TMP/port" &
PIDS+=($!)
disown
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
TARGET="http://127.0.0.1:$(cat "$TMP/port")/"

cat >"$TMP/blackbox.yml" <<YML
modules:
  endless:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ["never-there"]
YML
cat >"$TMP/outpost.toml" <<TOML
[modules.endless]
prober = "http"
timeout = "5s"
[modules.endless.http]
preferred_ip_protocol = "ip4"
# Blackbox reads without limit; so does outpost here, to compare like with like.
body_size_limit = 0
fail_if_body_not_matches_regexp = ["never-there"]
TOML

declare -A RESULT
run_one() { # name command... ; the exporter listens on $PORT
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_http_ok "http://127.0.0.1:$PORT/-/healthy"
  local idle
  idle=$(proc_kib "$pid" VmHWM)
  local start end body
  start=$(date +%s.%N)
  body=$(curl -sS -H 'X-Prometheus-Scrape-Timeout-Seconds: 30' "http://127.0.0.1:$PORT/probe?module=endless&target=$TARGET")
  end=$(date +%s.%N)
  local success
  success=$(awk '$1 == "probe_success" { print $2 }' <<<"$body")
  RESULT[$name]=$(awk -v s="$start" -v e="$end" -v h="$(proc_kib "$pid" VmHWM)" -v i="$idle" -v ok="$success" \
    'BEGIN { printf "| %.2f s | %s | %.1f MiB | %.1f MiB |", e - s, ok, i / 1024, h / 1024 }')
  kill -TERM "$pid"
  log "$name: ${RESULT[$name]}"
}

PORT=$(pick_port)
run_one outpost "$OUTPOST_BIN" --config "$TMP/outpost.toml" --listen "127.0.0.1:$PORT"
PORT=$(pick_port)
run_one blackbox prometheus-blackbox-exporter --config.file="$TMP/blackbox.yml" --web.listen-address="127.0.0.1:$PORT"

REPORT=$(cat <<MD
Endless body, body regex that never matches, module timeout 5 s, one \`/probe\` each
(\`make bench-endless\`, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)).

| exporter | probe took | probe_success | RSS idle | peak RSS after the probe |
| --- | ---: | ---: | ---: | ---: |
| outpost $("$OUTPOST_BIN" --version | awk '{ print $2 }') ${RESULT[outpost]}
| Blackbox Exporter $(prometheus-blackbox-exporter --version 2>&1 | awk 'NR == 1 { print $3 }') ${RESULT[blackbox]}
MD
)
echo "$REPORT" | tee "$TMP/report.md"
replace_section "$DOC" "$START_MARK" "$END_MARK" "$TMP/report.md"
