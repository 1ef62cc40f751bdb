#!/usr/bin/env bash
# benches/probe_bench.sh: outpost vs Blackbox Exporter on GET /probe, same http_2xx
# module, same local nginx target. Run it with `make bench`.
#
# Starts nginx, Blackbox Exporter and outpost on free 127.0.0.1 ports, checks that each
# answers `probe_success 1`, then loads them in turn (outpost, blackbox, outpost, ...)
# with wrk. Per round: probes/s, CPU time of the exporter process (utime+stime from
# /proc/PID/stat), CPU per probe, peak RSS (VmHWM), wrk latency, and how many of the
# probes reached nginx (its stub_status counter). Once per exporter: start-up time to a
# 200 from /-/healthy, idle RSS after start, binary size. The Markdown report (medians
# and ratios) goes between the bench:probe markers of docs/benchmarks.md.
#
# In the same run, the floors issue 23's goals are held to: the client floor (wrk's
# own CPU per request on a new connection each, to nginx), the server floor (nginx's
# CPU per keep-alive request it answers), and a scheduled round: an outpost running
# BENCH_SCHEDULED http probes of the same nginx every second, its CPU per run.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [3]  BENCH_DURATION [10s]  BENCH_THREADS [2]  BENCH_CONNECTIONS [16]
#   BENCH_SCHEDULED [2000]  scheduled probes (every 1s) of the scheduled round
#   BENCH_ONLY   [both]  outpost|blackbox: a dry run of one exporter; its report goes to
#                benches/out/ and stdout only, never into docs/benchmarks.md
#   BENCH_DOC    [docs/benchmarks.md]
#   OUTPOST_BIN  [cargo build --release]  an already-built outpost binary to use
#   BENCH_KEEP_TMP=1  keep the temp dir (configs and logs) for inspection
#
# All traffic stays on 127.0.0.1. Missing tools are apt-get installed (needs root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
export PATH="$PATH:/usr/sbin:/sbin"

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
ONLY=${BENCH_ONLY:-}
SCHEDULED=${BENCH_SCHEDULED:-2000}
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:probe:start -->'
END_MARK='<!-- bench:probe:end -->'

case "$ONLY" in
  "") EXPORTERS=(outpost blackbox) ;;
  outpost | blackbox) EXPORTERS=("$ONLY") ;;
  *) echo "BENCH_ONLY must be outpost or blackbox, not '$ONLY'" >&2; exit 2 ;;
esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_ROUNDS must be a positive integer" >&2; exit 2; }
[[ $SCHEDULED =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_SCHEDULED must be a positive integer" >&2; exit 2; }
[[ $DURATION =~ ^[1-9][0-9]*s$ ]] || { echo "BENCH_DURATION must be whole seconds, e.g. 10s" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- processes and clean-up -------------------------------------------------------------
TMP=$(mktemp -d /tmp/outpost-bench.XXXXXX)
chmod 755 "$TMP" # nginx's worker runs as nobody when we are root
PIDS=()
cleanup() {
  stop_pids "${PIDS[@]}"
  if [[ ${BENCH_KEEP_TMP:-} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in the background with output to $TMP/$1.log. Sets PID and START_US
# (microseconds since the epoch, just before the fork).
start() {
  local name=$1; shift
  START_US=${EPOCHREALTIME/./}
  "$@" >"$TMP/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}

# A free TCP port on 127.0.0.1 (nothing answers a connect to it), distinct from earlier picks.
TAKEN=" "
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    [[ $TAKEN == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      TAKEN+="$p "
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# True when GET http://127.0.0.1:$1$2 answers 200. Uses bash's /dev/tcp, no fork: it is
# the start-up poll.
http_ok() {
  local line=""
  { printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 && IFS= read -r -t 2 line <&3; } \
    2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || true
  [[ $line == HTTP/*" 200"* ]]
}

# Waits until $1 (pid) answers 200 on 127.0.0.1:$2$3, polling every 5 ms for at most 30 s.
# Prints the milliseconds since START_US.
wait_ready() {
  local pid=$1 port=$2 path=$3 deadline=$((${EPOCHREALTIME/./} + 30000000))
  while ! http_ok "$port" "$path"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$TMP"/*.log >&2; die "process $pid exited before $path answered 200"; }
    ((${EPOCHREALTIME/./} < deadline)) || die "127.0.0.1:$port$path did not answer 200 within 30 s"
    sleep 0.005
  done
  awk -v a="$START_US" -v b="${EPOCHREALTIME/./}" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
}

CLK_TCK=$(getconf CLK_TCK)
# utime+stime of a process (all its threads) in clock ticks. Fields after "(comm) ".
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# utime+stime of nginx, master and workers.
nginx_ticks() {
  local t=0 pid
  for pid in "$NGINX_PID" $(pgrep -P "$NGINX_PID"); do t=$((t + $(cpu_ticks "$pid"))); done
  echo "$t"
}
# Requests nginx has handled so far (stub_status), counting this one.
nginx_requests() { curl -fsS "http://127.0.0.1:$NGINX_PORT/nginx_status" | awk 'NR == 3 { print $3 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# KiB -> MiB (bytes -> KiB); empty stays empty.
mib() { [[ -n $1 ]] && awk -v k="$1" 'BEGIN { print k / 1024 }'; return 0; }
fmt() { awk -v v="$1" -v p="${2:-1}" 'BEGIN { printf "%.*f", p, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "—"; else printf "%.2f×", a / b }'; }

# --- tools ------------------------------------------------------------------------------
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_AT_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "WARNING: load average $LOAD_AT_START on $(nproc) cores: other work will skew the figures"
fi
log "checking tools"
PKGS=(nginx-light wrk curl)
[[ " ${EXPORTERS[*]} " == *" blackbox "* ]] && PKGS+=(prometheus-blackbox-exporter)
missing=()
for pkg in "${PKGS[@]}"; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  ((EUID == 0)) || die "need root to apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
BLACKBOX_BIN=$(command -v prometheus-blackbox-exporter || true)

OUTPOST=""
if [[ " ${EXPORTERS[*]} " == *" outpost "* ]]; then
  if [[ -n ${OUTPOST_BIN:-} ]]; then
    OUTPOST=$OUTPOST_BIN
  else
    log "cargo build --release (this can take a few minutes)"
    cargo build --release --quiet >&2
    OUTPOST=${CARGO_TARGET_DIR:-$ROOT/target}/release/outpost
  fi
  [[ -x $OUTPOST ]] || die "no outpost binary at $OUTPOST"
fi

# --- nginx, the probe target ------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$TMP/www"
printf '<!doctype html><title>outpost bench</title><p>ok</p>\n' >"$TMP/www/index.html"
chmod -R a+rX "$TMP/www"
nginx_conf "$NGINX_PORT" "$TMP/www" "$TMP" 'location = /nginx_status { stub_status; }' >"$TMP/nginx.conf"
log "starting nginx on 127.0.0.1:$NGINX_PORT"
start nginx nginx -p "$TMP" -c "$TMP/nginx.conf"
NGINX_PID=$PID
wait_ready "$NGINX_PID" "$NGINX_PORT" / >/dev/null
TARGET="http://127.0.0.1:$NGINX_PORT/"

# --- the exporters ----------------------------------------------------------------------
declare -A PORT EPID STARTUP_MS IDLE_KIB BIN_BYTES VERSION
PROBE_PATH="/probe?target=$TARGET&module=http_2xx"

start_blackbox() {
  cat >"$TMP/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
EOF
  PORT[blackbox]=$(free_port)
  log "starting Blackbox Exporter on 127.0.0.1:${PORT[blackbox]}"
  start blackbox "$BLACKBOX_BIN" --config.file="$TMP/blackbox.yml" --web.listen-address="127.0.0.1:${PORT[blackbox]}"
  EPID[blackbox]=$PID
  STARTUP_MS[blackbox]=$(wait_ready "$PID" "${PORT[blackbox]}" /-/healthy)
  BIN_BYTES[blackbox]=$(stat -L -c %s "$BLACKBOX_BIN")
  VERSION[blackbox]=$("$BLACKBOX_BIN" --version 2>&1 | head -n 1)
}

start_outpost() {
  cat >"$TMP/bench.toml" <<'EOF'
[modules.http_2xx]
prober = "http"
timeout = "5s"
[modules.http_2xx.http]
preferred_ip_protocol = "ip4"
EOF
  PORT[outpost]=$(free_port)
  log "starting outpost on 127.0.0.1:${PORT[outpost]}"
  start outpost "$OUTPOST" --config "$TMP/bench.toml" --listen "127.0.0.1:${PORT[outpost]}"
  EPID[outpost]=$PID
  STARTUP_MS[outpost]=$(wait_ready "$PID" "${PORT[outpost]}" /-/healthy)
  BIN_BYTES[outpost]=$(stat -L -c %s "$OUTPOST")
  VERSION[outpost]=$("$OUTPOST" --version 2>/dev/null | head -n 1 || true)
  VERSION[outpost]=${VERSION[outpost]:-unknown (no --version output)}
}

url() { echo "http://127.0.0.1:${PORT[$1]}$PROBE_PATH"; }

# One probe through the exporter must succeed, or the numbers would mean nothing.
check_probe() {
  local body
  body=$(curl -fsS --max-time 10 "$(url "$1")") || die "$1: GET $(url "$1") failed"
  grep -q '^probe_success 1$' <<<"$body" || {
    printf '%s\n' "$body" | head -n 40 >&2
    die "$1: GET $(url "$1") did not report probe_success 1 (body above)"
  }
}

# The scheduled round's outpost: SCHEDULED probes of the same page every second,
# each with a static label (as scale.sh's), on a port of its own.
start_scheduled() {
  {
    printf '[modules.http_2xx]\nprober = "http"\ntimeout = "5s"\n[modules.http_2xx.http]\npreferred_ip_protocol = "ip4"\n'
    for i in $(seq "$SCHEDULED"); do
      printf '[[probes]]\nname = "p%d"\nmodule = "http_2xx"\ntarget = "%s"\ninterval = "1s"\ntimeout = "1s"\nlabels = { service = "bench" }\n' "$i" "$TARGET"
    done
  } >"$TMP/scheduled.toml"
  PORT[scheduled]=$(free_port)
  log "starting a scheduling outpost ($SCHEDULED probes every 1s) on 127.0.0.1:${PORT[scheduled]}"
  start scheduled "$OUTPOST" --config "$TMP/scheduled.toml" --listen "127.0.0.1:${PORT[scheduled]}"
  EPID[scheduled]=$PID
  wait_ready "$PID" "${PORT[scheduled]}" /-/healthy >/dev/null
  kill -STOP "$PID" # idle until its rounds: the exporters' rounds run alone
}
# Scheduled runs completed so far (every probe_runs_total summed).
runs_done() { curl -fsS "http://127.0.0.1:${PORT[scheduled]}/metrics" | awk '/^probe_runs_total\{/ { s += $NF } END { print s + 0 }'; }

for e in "${EXPORTERS[@]}"; do
  "start_$e"
  sleep 1 # let it settle before reading its idle footprint
  IDLE_KIB[$e]=$(proc_kib "${EPID[$e]}" VmRSS)
  check_probe "$e"
  log "$e: up in ${STARTUP_MS[$e]} ms, idle RSS ${IDLE_KIB[$e]} KiB, probe_success 1"
done

[[ -z $ONLY ]] && start_scheduled

# --- the rounds -------------------------------------------------------------------------
declare -A RPS CPU_S CPU_MS HWM_KIB P50 P99 REACHED
ROWS=""
# wrk latency as "12.34us|ms|s" -> milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; print n }'; }

WRK=(wrk --latency "-t$THREADS" "-c$CONNS" "-d$DURATION")
FLOOR_WRK=(wrk "-t$THREADS" "-c$CONNS" "-d$DURATION" -H 'Connection: close')
FLOOR_US=""
# The floor: wrk fetching the page from nginx itself on a new connection per request
# (`Connection: close`), as a probe must. Its own CPU per request (utime+stime, read
# from the waiting shell's cutime+cstime once wrk has been reaped) is what the client
# side of a probe costs at the least on this machine, kernel work included.
floor_round() {
  local out ticks requests
  out=$(bash -c '"$@" >"'"$TMP"'/wrk-floor.txt"; read -r stat </proc/$$/stat; echo "${stat##*) }"' _ "${FLOOR_WRK[@]}" "$TARGET")
  ticks=$(awk '{ print $14 + $15 }' <<<"$out")
  requests=$(awk '/ requests in / { print $1 }' "$TMP/wrk-floor.txt")
  [[ -n $requests && $requests -gt 0 ]] || die "the floor round completed no request"
  awk -v t="$ticks" -v h="$CLK_TCK" -v n="$requests" 'BEGIN { print t / h * 1e6 / n }'
}

# The server floor: nginx's own CPU per request when wrk keeps its connections (the
# least answering an HTTP request costs here; /probe answers one as well as making one).
SERVER_WRK=(wrk "-t$THREADS" "-c$CONNS" "-d$DURATION")
SERVER_FLOOR_US=""
server_floor_round() {
  local n0 n1 out requests
  n0=$(nginx_ticks)
  out=$("${SERVER_WRK[@]}" "$TARGET")
  n1=$(nginx_ticks)
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  [[ -n $requests && $requests -gt 0 ]] || die "the server floor round completed no request"
  awk -v a="$n0" -v b="$n1" -v h="$CLK_TCK" -v n="$requests" 'BEGIN { print (b - a) / h * 1e6 / n }'
}

# The scheduled round: the scheduling outpost resumed for DURATION; its CPU per run.
SCHED_US=""
scheduled_round() {
  local pid=${EPID[scheduled]} t0 t1 r0 r1
  kill -CONT "$pid"
  sleep 2 # back to its steady rate after the pause
  r0=$(runs_done); t0=$(cpu_ticks "$pid")
  sleep "${DURATION%s}"
  t1=$(cpu_ticks "$pid"); r1=$(runs_done)
  kill -STOP "$pid"
  ((r1 > r0)) || die "the scheduled round completed no run"
  awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" -v n="$((r1 - r0))" 'BEGIN { printf "%s %d\n", (b - a) / h * 1e6 / n, n }'
}

for round in $(seq "$ROUNDS"); do
  if [[ -z $ONLY ]]; then
    log "round $round/$ROUNDS: floor (${FLOOR_WRK[*]} $TARGET)"
    f=$(floor_round)
    FLOOR_US+="$f "
    # shellcheck disable=SC2016 # literal backticks: Markdown code in the table
    ROWS+="| $round | floor: wrk with "'`Connection: close`'" to nginx | | | | $(fmt "$(awk -v f="$f" 'BEGIN { print f / 1000 }')" 3) | | | | |"$'\n'
    log "floor: $(fmt "$f" 1) us of wrk CPU per request"
    log "round $round/$ROUNDS: server floor (${SERVER_WRK[*]} $TARGET)"
    sf=$(server_floor_round)
    SERVER_FLOOR_US+="$sf "
    ROWS+="| $round | server floor: nginx, keep-alive | | | | $(fmt "$(awk -v f="$sf" 'BEGIN { print f / 1000 }')" 3) | | | | |"$'\n'
    log "server floor: $(fmt "$sf" 1) us of nginx CPU per request"
    log "round $round/$ROUNDS: scheduled ($SCHEDULED probes every 1s, ${DURATION})"
    read -r su sruns < <(scheduled_round)
    SCHED_US+="$su "
    ROWS+="| $round | outpost, scheduled runs | $(fmt "$(awk -v n="$sruns" -v d="${DURATION%s}" 'BEGIN { print n / d }')" 0) | $sruns | | $(fmt "$(awk -v f="$su" 'BEGIN { print f / 1000 }')" 3) | | | | |"$'\n'
    log "scheduled: $(fmt "$su" 1) us of outpost CPU per run"
  fi
  for e in "${EXPORTERS[@]}"; do
    pid=${EPID[$e]}
    kill -0 "$pid" 2>/dev/null || die "$e (pid $pid) died; log: $(tail -n 5 "$TMP/$e.log")"
    log "round $round/$ROUNDS: $e (${WRK[*]})"
    hits0=$(nginx_requests)
    t0=$(cpu_ticks "$pid")
    out=$("${WRK[@]}" "$(url "$e")")
    t1=$(cpu_ticks "$pid")
    hits1=$(nginx_requests)
    printf '%s\n' "$out" >"$TMP/wrk-$e-$round.txt"

    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    errs=$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) n += $i + 0; print n }' <<<"$out")
    [[ -n $requests && -n $rps ]] || die "could not read wrk's output:"$'\n'"$out"
    ((requests > 0)) || die "$e: wrk completed no request"
    [[ -z $bad ]] || log "WARNING: $e answered $bad non-2xx responses"
    [[ -z $errs || $errs == 0 ]] || log "WARNING: wrk saw $errs socket errors against $e"
    check_probe "$e" # still healthy after the load

    cpu_s=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN { print (b - a) / h }')
    cpu_ms=$(awk -v c="$cpu_s" -v n="$requests" 'BEGIN { print c * 1000 / n }')
    hwm=$(proc_kib "$pid" VmHWM)
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    # nginx hits per completed probe: ~1.00 when every probe really fetched the page
    # (probes still in flight when wrk stops make it slightly more; the status reads are excluded).
    reached=$(awk -v a="$hits0" -v b="$hits1" -v n="$requests" 'BEGIN { print (b - a - 1) / n }')

    RPS[$e]+="$rps "; CPU_S[$e]+="$cpu_s "; CPU_MS[$e]+="$cpu_ms "; HWM_KIB[$e]+="$hwm "
    P50[$e]+="$p50 "; P99[$e]+="$p99 "; REACHED[$e]+="$reached "
    ROWS+="| $round | $e | $(fmt "$rps" 0) | $requests | $(fmt "$cpu_s" 2) | $(fmt "$cpu_ms" 3) | $(fmt "$(mib "$hwm")" 1) | $(fmt "$p50" 2) / $(fmt "$p99" 2) | $(fmt "$reached" 3) | ${bad:-0} / ${errs:-0} |"$'\n'
    log "$e: $(fmt "$rps" 0) probes/s, $(fmt "$cpu_ms" 3) ms CPU/probe, peak RSS $((hwm / 1024)) MiB, nginx hits/probe $(fmt "$reached" 3)"
  done
done

# --- the report -------------------------------------------------------------------------
# med NAME EXPORTER: the median of that exporter's per-round values, or empty.
med() {
  local -n arr=$1
  [[ -n ${arr[$2]:-} ]] || return 0
  # shellcheck disable=SC2086 # word splitting of the space-separated list is the point
  median ${arr[$2]}
}
cell() { if [[ -n $1 ]]; then fmt "$1" "${2:-1}"; else echo "—"; fi; }

o_rps=$(med RPS outpost); b_rps=$(med RPS blackbox)
o_cpu=$(med CPU_MS outpost); b_cpu=$(med CPU_MS blackbox)
o_cpus=$(med CPU_S outpost); b_cpus=$(med CPU_S blackbox)
o_hwm=$(mib "$(med HWM_KIB outpost)"); b_hwm=$(mib "$(med HWM_KIB blackbox)")
o_idle=$(mib "${IDLE_KIB[outpost]:-}"); b_idle=$(mib "${IDLE_KIB[blackbox]:-}")
o_p50=$(med P50 outpost); b_p50=$(med P50 blackbox)
o_p99=$(med P99 outpost); b_p99=$(med P99 blackbox)
o_up=${STARTUP_MS[outpost]:-}; b_up=${STARTUP_MS[blackbox]:-}
o_bin=$(mib "$(mib "${BIN_BYTES[outpost]:-}")"); b_bin=$(mib "$(mib "${BIN_BYTES[blackbox]:-}")")
floor_us=""; server_us=""; sched_us=""
# shellcheck disable=SC2086 # word splitting of the space-separated list is the point
[[ -n $FLOOR_US ]] && floor_us=$(median $FLOOR_US)
# shellcheck disable=SC2086
[[ -n $SERVER_FLOOR_US ]] && server_us=$(median $SERVER_FLOOR_US)
# shellcheck disable=SC2086
[[ -n $SCHED_US ]] && sched_us=$(median $SCHED_US)
# goal_row TEXT NOW GOAL_TEXT MET: a row of the goals table.
times() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else print a / b }'; }
met() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { if (v == "") print "—"; else if ((op == ">=" && v >= g) || (op == "<=" && v <= g)) print "met"; else print "not yet" }'; }
vs_blackbox=$(times "$b_cpu" "$o_cpu")
vs_full=""; [[ -n $o_cpu && -n $floor_us && -n $server_us ]] && vs_full=$(times "$(awk -v c="$o_cpu" 'BEGIN { print c * 1000 }')" "$(awk -v a="$floor_us" -v b="$server_us" 'BEGIN { print a + b }')")
sched_vs_floor=$(times "$sched_us" "$floor_us")
sched_vs_probe=""; [[ -n $o_cpu && -n $sched_us ]] && sched_vs_probe=$(times "$sched_us" "$(awk -v c="$o_cpu" 'BEGIN { print c * 1000 }')")
# x_floor MS: a CPU time per probe in ms as a multiple of the floor.
x_floor() { [[ -n $1 && -n $floor_us ]] && awk -v c="$1" -v f="$floor_us" 'BEGIN { printf "%.2f×", c * 1000 / f }' || echo "—"; }

cpu_model=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
REPORT="$TMP/report.md"
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($cpu_model), Linux $(uname -r);"
  echo "load average before the run: $LOAD_AT_START."
  echo "Versions: ${VERSION[outpost]:-outpost not run}; ${VERSION[blackbox]:-Blackbox Exporter not run}; $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }')."
  echo
  echo "Each exporter probes \`$TARGET\` (nginx, a static 200 page) with the module \`http_2xx\`"
  echo "(\`prober = http\`, \`timeout = 5s\`, \`preferred_ip_protocol = ip4\`). $ROUNDS round(s) each, alternating"
  echo "$(printf '%s, ' "${EXPORTERS[@]}")..., each round:"
  echo
  echo '```'
  echo "${WRK[*]} 'http://127.0.0.1:PORT$PROBE_PATH'"
  echo '```'
  echo
  echo "Script: \`BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_THREADS=$THREADS BENCH_CONNECTIONS=$CONNS${ONLY:+ BENCH_ONLY=$ONLY} benches/probe_bench.sh\`."
  echo
  echo "| median over $ROUNDS round(s) | outpost | Blackbox Exporter | ratio (> 1: outpost better) |"
  echo "|---|--:|--:|--:|"
  echo "| probes/s | $(cell "$o_rps" 0) | $(cell "$b_rps" 0) | $(ratio "$o_rps" "$b_rps") |"
  echo "| CPU time per probe, ms | $(cell "$o_cpu" 3) | $(cell "$b_cpu" 3) | $(ratio "$b_cpu" "$o_cpu") |"
  echo "| CPU per probe as a multiple of the floor (wrk, \`Connection: close\`: $(cell "$floor_us" 1) µs/request) | $(x_floor "$o_cpu") | $(x_floor "$b_cpu") | |"
  echo "| exporter CPU time per round, s | $(cell "$o_cpus" 2) | $(cell "$b_cpus" 2) | |"
  echo "| peak RSS (VmHWM), MiB | $(cell "$o_hwm") | $(cell "$b_hwm") | $(ratio "$b_hwm" "$o_hwm") |"
  echo "| idle RSS after start, MiB | $(cell "$o_idle") | $(cell "$b_idle") | $(ratio "$b_idle" "$o_idle") |"
  echo "| wrk latency p50, ms | $(cell "$o_p50" 2) | $(cell "$b_p50" 2) | $(ratio "$b_p50" "$o_p50") |"
  echo "| wrk latency p99, ms | $(cell "$o_p99" 2) | $(cell "$b_p99" 2) | $(ratio "$b_p99" "$o_p99") |"
  echo "| start-up to \`/-/healthy\` 200, ms | $(cell "$o_up") | $(cell "$b_up") | $(ratio "$b_up" "$o_up") |"
  echo "| binary size, MiB | $(cell "$o_bin") | $(cell "$b_bin") | $(ratio "$b_bin" "$o_bin") |"
  echo
  echo "Against the goals of the second performance round (issue 23), from this run alone:"
  echo
  echo "| goal | this run | goal | |"
  echo "|---|--:|--:|---|"
  echo "| \`/probe\` CPU per probe, Blackbox's over outpost's | $(cell "$vs_blackbox" 2)× less | ≥ 8× less | $(met "$vs_blackbox" ">=" 8) |"
  echo "| \`/probe\` CPU per probe over the full floor (client $(cell "$floor_us" 1) µs + server $(cell "$server_us" 1) µs) | $(cell "$vs_full" 2)× | ≤ 1.5× | $(met "$vs_full" "<=" 1.5) |"
  echo "| CPU of one scheduled run ($(cell "$sched_us" 1) µs, $SCHEDULED probes every 1 s) over the client floor | $(cell "$sched_vs_floor" 2)× | ≤ 1.5× | $(met "$sched_vs_floor" "<=" 1.5) |"
  echo "| CPU of one scheduled run over one \`/probe\` | $(cell "$sched_vs_probe" 2)× | < 1× | $(met "$sched_vs_probe" "<=" 0.999) |"
  echo
  echo "RSS at 100,000 probes and \`/metrics\` of 100,000 probes: [Scheduled probes at scale](#scheduled-probes-at-scale)."
  echo
  echo "<details><summary>Every round</summary>"
  echo
  echo "| round | exporter | probes/s | probes | CPU s | CPU ms/probe | peak RSS MiB | p50 / p99 ms | nginx hits/probe | non-2xx / socket errors |"
  echo "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|"
  printf '%s' "$ROWS"
  echo
  echo "</details>"
  echo
  echo "CPU time is the exporter process's utime+stime (all threads) from \`/proc/PID/stat\`"
  echo "across the round; wrk, nginx and the exporter share the same $(nproc) cores, so probes/s is"
  echo "what the exporter reaches on a shared machine, not on dedicated cores. Peak RSS is VmHWM"
  echo "at the end of the round (a high-water mark since start). Start-up is exec to the first 200"
  echo "from \`/-/healthy\`, polled every 5 ms. \"nginx hits/probe\" (from nginx's stub_status)"
  echo "checks that every counted probe really fetched the page. The floor row of each round"
  echo "is wrk itself fetching the page from nginx with \`Connection: close\` (a new connection"
  echo "per request, as every probe makes): wrk's own CPU per request, the least the client"
  echo "side of a probe costs on this machine; outpost also serves the \`/probe\` request."
  echo "The server floor row is nginx's CPU (master and worker) per request when wrk keeps"
  echo "its connections: the least answering a request costs. The scheduled row is an outpost"
  echo "running $SCHEDULED http probes of the same page every second (stopped with SIGSTOP"
  echo "while the other rounds run): its CPU over the round per run completed."
} >"$REPORT"

echo
cat "$REPORT"
echo

mkdir -p benches/out
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$REPORT" "benches/out/probe-$stamp${ONLY:+-$ONLY}.md"
log "report saved in benches/out/probe-$stamp${ONLY:+-$ONLY}.md"

if [[ -n $ONLY ]]; then
  log "BENCH_ONLY=$ONLY: a partial run, $DOC left alone"
  exit 0
fi

# Replace what is between the markers in $DOC, keeping the rest of the file.
if [[ ! -f $DOC ]]; then
  mkdir -p "$(dirname "$DOC")"
  # shellcheck disable=SC2016 # the backquotes are Markdown
  printf '# Benchmarks\n\nRerun with `make bench`.\n\n%s\n%s\n' "$START_MARK" "$END_MARK" >"$DOC"
fi
if ! grep -qF "$START_MARK" "$DOC" || ! grep -qF "$END_MARK" "$DOC"; then
  printf '\n%s\n%s\n' "$START_MARK" "$END_MARK" >>"$DOC"
fi
replace_section "$DOC" "$START_MARK" "$END_MARK" "$REPORT"
log "updated $DOC"
