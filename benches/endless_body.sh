#!/usr/bin/env bash
# benches/endless_body.sh: a target that sends an endless body, probed with a body
# regex that never matches and a 5 s module timeout, through outpost's and Blackbox
# Exporter's /probe. Reports, for each: how long the probe took (it should end at
# its timeout), probe_success, and the exporter's peak RSS (VmHWM) afterwards.
# Run it with `make bench-endless`. All traffic stays on 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() {
  for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  log "no answer from $1"; return 1
}
hwm_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"; }

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
fail_if_body_not_matches_regexp = ["never-there"]
TOML

declare -A RESULT
run_one() { # name command... ; the exporter listens on $PORT
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ok "http://127.0.0.1:$PORT/-/healthy"
  local idle
  idle=$(hwm_kib "$pid")
  local start end body
  start=$(date +%s.%N)
  body=$(curl -sS -H 'X-Prometheus-Scrape-Timeout-Seconds: 30' "http://127.0.0.1:$PORT/probe?module=endless&target=$TARGET")
  end=$(date +%s.%N)
  local success
  success=$(awk '$1 == "probe_success" { print $2 }' <<<"$body")
  RESULT[$name]=$(awk -v s="$start" -v e="$end" -v h="$(hwm_kib "$pid")" -v i="$idle" -v ok="$success" \
    'BEGIN { printf "| %.2f s | %s | %.1f MiB | %.1f MiB |", e - s, ok, i / 1024, h / 1024 }')
  kill -TERM "$pid"
  log "$name: ${RESULT[$name]}"
}

PORT=$(free_port)
run_one outpost "$OUTPOST_BIN" --config "$TMP/outpost.toml" --listen "127.0.0.1:$PORT"
PORT=$(free_port)
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
echo "$REPORT"
if grep -qF "$START_MARK" "$DOC"; then
  awk -v s="$START_MARK" -v e="$END_MARK" -v r="$REPORT" '
    $0 == s { print; print r; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$DOC" >"$TMP/doc" && cat "$TMP/doc" >"$DOC"
fi
