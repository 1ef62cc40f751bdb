#!/usr/bin/env bash
# benches/aws_scale.sh: what outpost's AWS scrapes cost at scale. Serves AWS from moto
# on 127.0.0.1 (benches/aws_seed.py: moto's server in-process, seeded with 1,000 RDS
# instances, 200 target groups on 50 ALBs with registered targets, and a few Auto
# Scaling groups; the seeding is timed apart and not counted), then runs the release
# outpost twice side by side, one with an `[aws]` section for the region (all three
# services, tag_labels) and one with an empty config. Reports the API calls of one full
# scrape per operation (outpost_aws_api_calls_total), each service's scrape duration
# (outpost_aws_scrape_duration_seconds), the AWS series and their share of /metrics,
# outpost's CPU and RSS at rest for AWS_REST_SECONDS between two refreshes (the cost
# of holding the cache) against the outpost without `[aws]`, then reloads the section
# with a AWS_FAST_INTERVAL interval and reports CPU per refresh and RSS after each of
# AWS_REFRESHES refreshes. Blackbox Exporter has no AWS side to compare with. Run it
# with `make bench-aws`; about 3 to 4 minutes (seeding 10 to 45 s, first scrape, the
# rest window, the refreshes), bounded by waits that give up.
#
# moto is Python and answers far slower than AWS (its XML for a page of 100 DB
# instances takes about a second), so the durations say more about moto than about
# outpost; the call counts, the series and outpost's own CPU and memory do not depend
# on it. Credentials are dummies and AWS_ENDPOINT_URL points the SDK at moto, as the
# tests do (tests/integration/aws_moto.rs); nothing leaves 127.0.0.1.
#
# Environment: AWS_DB_INSTANCES [1000]  AWS_TARGET_GROUPS [200]  AWS_ASGS [5]
#              AWS_REGION [eu-west-1]  AWS_INTERVAL [120] (seconds between refreshes)
#              AWS_REST_SECONDS [60] (< AWS_INTERVAL - first scrape)
#              AWS_FAST_INTERVAL [15] (seconds)  AWS_REFRESHES [6]
#              OUTPOST_BIN [cargo build --release]  BENCH_DOC [docs/benchmarks.md]
#              VENV [.venv] (python with moto[server], scripts/install-test-deps.sh)
# shellcheck disable=SC2016 # the backquotes in the report are Markdown
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source benches/lib.sh
N_DB=${AWS_DB_INSTANCES:-1000}
N_TG=${AWS_TARGET_GROUPS:-200}
N_ASG=${AWS_ASGS:-5}
REGION=${AWS_REGION:-eu-west-1}
INTERVAL=${AWS_INTERVAL:-120}
REST=${AWS_REST_SECONDS:-60}
FAST=${AWS_FAST_INTERVAL:-15}
REFRESHES=${AWS_REFRESHES:-6}
VENV=${VENV:-.venv}
DOC=${BENCH_DOC:-docs/benchmarks.md}
START_MARK='<!-- bench:aws:start -->'
END_MARK='<!-- bench:aws:end -->'
SERVICES=(rds elbv2 autoscaling)
TMP=$(mktemp -d /tmp/outpost-aws.XXXXXX)
PIDS=()
cleanup() {
  stop_pids "${PIDS[@]}"
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[aws %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$*"; exit 1; }
# The value of series $1 with exactly the labels $2 on the page in file $3 ("" if absent).
value() { awk -v s="$1{$2}" '$1 == s { print $2 }' "$3"; }
scrape() { curl -fsS -o "$2" "http://127.0.0.1:$1/metrics"; }
# Waits up to $3 s for every service's series $2 to differ from file $4's (or to exist).
wait_all() {
  local port=$1 name=$2 limit=$3 before=${4:-/dev/null} s end=$((SECONDS + $3))
  while ((SECONDS < end)); do
    sleep 0.5
    scrape "$port" "$TMP/poll.txt"
    for s in "${SERVICES[@]}"; do
      local now was
      now=$(value "$name" "region=\"$REGION\",service=\"$s\"" "$TMP/poll.txt")
      was=$(value "$name" "region=\"$REGION\",service=\"$s\"" "$before")
      [[ -n $now && $now != "$was" ]] || continue 2
    done
    return 0
  done
  die "not every service reported $name within ${limit}s"
}

[[ -x $VENV/bin/python ]] || die "$VENV/bin/python missing: run scripts/install-test-deps.sh"
if [[ -z ${OUTPOST_BIN:-} ]]; then
  cargo build --release --quiet
  OUTPOST_BIN=target/release/outpost
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

MOTO_PORT=$(pick_port)
log "seeding moto: $N_DB DB instances, $N_TG target groups, $N_ASG Auto Scaling groups"
"$VENV/bin/python" benches/aws_seed.py "$MOTO_PORT" "$REGION" "$N_DB" "$N_TG" "$N_ASG" \
  >"$TMP/moto.out" 2>"$TMP/moto.err" &
PIDS+=($!)
for _ in $(seq 300); do
  grep -qs '^seeded' "$TMP/moto.out" && break
  kill -0 "${PIDS[0]}" 2>/dev/null || die "moto exited: $(tail -5 "$TMP/moto.err")"
  sleep 0.5
done
grep -q '^seeded' "$TMP/moto.out" || die "seeding did not finish in 150 s"
seeded=$(cat "$TMP/moto.out")
log "$seeded"

: >"$TMP/base.toml"
printf '[aws]\nregions = ["%s"]\ninterval = "%ss"\ntag_labels = ["team"]\n' "$REGION" "$INTERVAL" >"$TMP/aws.toml"
# Dummy credentials and moto's endpoint; no profile, IMDS or container credentials.
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE="$TMP/none" AWS_SHARED_CREDENTIALS_FILE="$TMP/none"
unset AWS_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_SESSION_TOKEN \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
BASE_PORT=$(pick_port)
"$OUTPOST_BIN" --config "$TMP/base.toml" --listen "127.0.0.1:$BASE_PORT" --log-level warn >"$TMP/base.log" 2>&1 &
BASE=$!
PIDS+=("$BASE")
AWS_PORT=$(pick_port)
"$OUTPOST_BIN" --config "$TMP/aws.toml" --listen "127.0.0.1:$AWS_PORT" --log-level warn >"$TMP/aws.log" 2>&1 &
AWS=$!
PIDS+=("$AWS")
started=$SECONDS
wait_http_ok "http://127.0.0.1:$BASE_PORT/-/healthy"
wait_http_ok "http://127.0.0.1:$AWS_PORT/-/healthy"
idle_kib=$(proc_kib "$AWS" VmRSS)
base_idle_kib=$(proc_kib "$BASE" VmRSS)

log "first scrape (interval ${INTERVAL}s)"
wait_all "$AWS_PORT" outpost_aws_scrape_last_success_timestamp_seconds 100
first_s=$((SECONDS - started))
cpu_first=$(cpu_s "$AWS")
scrape "$AWS_PORT" "$TMP/first.txt"
((first_s + 5 + REST < INTERVAL)) || log "warning: the rest window may overlap the next refresh"

# At rest: both daemons idle for REST seconds; the page is read before and after.
sleep 2
scrape_times=()
for _ in 1 2 3; do
  scrape_times+=("$(curl -fsS -o "$TMP/aws.txt" -w '%{time_total}' "http://127.0.0.1:$AWS_PORT/metrics")")
done
scrape "$BASE_PORT" "$TMP/base.txt"
log "at rest for ${REST}s"
a0=$(cpu_s "$AWS") b0=$(cpu_s "$BASE")
sleep "$REST"
a1=$(cpu_s "$AWS") b1=$(cpu_s "$BASE")
rest_rss=$(proc_kib "$AWS" VmRSS) rest_hwm=$(proc_kib "$AWS" VmHWM)
base_rss=$(proc_kib "$BASE" VmRSS) base_hwm=$(proc_kib "$BASE" VmHWM)
scrape "$AWS_PORT" "$TMP/rest.txt"
calls() { grep '^outpost_aws_api_calls_total{' "$1" | awk '{ s += $2 } END { print s + 0 }'; }
[[ $(calls "$TMP/first.txt") == "$(calls "$TMP/rest.txt")" ]] || die "a refresh ran inside the rest window: raise AWS_INTERVAL"

# Refreshes back to back: the section is reloaded with a short interval, which starts
# new scrapers (and counters) at once; nothing reads /metrics while they run.
log "reload with interval ${FAST}s, $REFRESHES refreshes"
sed -i "s/^interval = .*/interval = \"${FAST}s\"/" "$TMP/aws.toml"
c2=$(cpu_s "$AWS")
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$AWS_PORT/-/reload"
rss_after=()
for _ in $(seq "$REFRESHES"); do
  sleep "$FAST"
  rss_after+=("$(proc_kib "$AWS" VmRSS)")
done
c3=$(cpu_s "$AWS")
scrape "$AWS_PORT" "$TMP/refreshes.txt"
after_hwm=$(proc_kib "$AWS" VmHWM)

# The scrapes each service ran since the reload: its least-called operation (every
# operation runs at least once a scrape, the one-page ones exactly once).
scrapes_of() {
  grep "^outpost_aws_api_calls_total{.*service=\"$1\"" "$TMP/refreshes.txt" | awk 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }'
}
refreshes_done=$(scrapes_of rds)
# Per operation, the calls of the first scrape and the mean per refresh since the reload.
{
  printf '| service | operation | calls, first scrape | calls per refresh, mean of the refreshes after the reload | errors after the reload |\n|---|---|--:|--:|---|\n'
  grep '^outpost_aws_api_calls_total{' "$TMP/first.txt" | while read -r series n; do
    svc=${series#*service=\"} op=${series#*operation=\"}
    svc=${svc%%\"*} op=${op%%\"*}
    n2=$(awk -v s="$series" '$1 == s { print $2 }' "$TMP/refreshes.txt")
    k=$(scrapes_of "$svc")
    errs=$(grep "^outpost_aws_api_errors_total{.*operation=\"$op\"" "$TMP/refreshes.txt" |
      sed 's/.*code="\([^"]*\)"} \(.*\)/\2 × `\1`/' | paste -sd, - || true)
    printf '| `%s` | `%s` | %d | %.1f (%d in %d) | %s |\n' "$svc" "$op" "$n" "$(awk -v a="$n2" -v b="$k" 'BEGIN { print a / b }')" "$n2" "$k" "${errs:-none}"
  done
} >"$TMP/calls.md"
{
  printf '| service | scrape duration, first / latest | AWS samples on /metrics |\n|---|--:|--:|\n'
  for s in "${SERVICES[@]}"; do
    d1=$(value outpost_aws_scrape_duration_seconds "region=\"$REGION\",service=\"$s\"" "$TMP/first.txt")
    d2=$(value outpost_aws_scrape_duration_seconds "region=\"$REGION\",service=\"$s\"" "$TMP/refreshes.txt")
    n=$(grep -c "^aws_${s}_" "$TMP/aws.txt" || true)
    printf '| `%s` | %.1f s / %.1f s | %d |\n' "$s" "$d1" "$d2" "$n"
  done
} >"$TMP/durations.md"
rss_list=$(printf '%s\n' "${rss_after[@]}" | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1024 }')

aws_lines=$(grep -E '^(# (HELP|TYPE) )?(outpost_)?aws_' "$TMP/aws.txt")
aws_samples=$(grep -cE '^(outpost_)?aws_' "$TMP/aws.txt")
aws_bytes=$(printf '%s\n' "$aws_lines" | wc -c)
page_bytes=$(stat -c %s "$TMP/aws.txt")
base_bytes=$(stat -c %s "$TMP/base.txt")
page_samples=$(grep -vc '^#' "$TMP/aws.txt")
base_samples=$(grep -vc '^#' "$TMP/base.txt")
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
version=$("$OUTPOST_BIN" --version 2>/dev/null | head -1 || echo outpost)

{
  printf 'Measured %s on %d cores (%s), Linux %s, shared with other builds; load average %s before the run, %s after.\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$cpu_model" "$(uname -r)" "$load_before" "$load_after"
  printf '%s; moto %s. Script: `AWS_DB_INSTANCES=%s AWS_TARGET_GROUPS=%s AWS_ASGS=%s AWS_INTERVAL=%s AWS_REST_SECONDS=%s AWS_FAST_INTERVAL=%s AWS_REFRESHES=%s benches/aws_scale.sh` (`make bench-aws`).\n\n' \
    "$version" "$("$VENV/bin/python" -c 'import moto; print(moto.__version__)')" "$N_DB" "$N_TG" "$N_ASG" "$INTERVAL" "$REST" "$FAST" "$REFRESHES"
  printf 'moto seeded with `%s` (not counted below). outpost config: `[aws] regions = ["%s"], interval = "%ss", tag_labels = ["team"]`, all three services, no probes; the baseline is the same daemon with an empty config.\n\n' \
    "${seeded#seeded }" "$REGION" "$INTERVAL"
  echo '**API calls per full scrape** (`outpost_aws_api_calls_total`, one region):'
  echo
  cat "$TMP/calls.md"
  echo
  echo '**Scrape duration** (`outpost_aws_scrape_duration_seconds`, against moto) **and series:**'
  echo
  cat "$TMP/durations.md"
  echo
  awk -v first="$first_s" -v cf="$cpu_first" -v c2="$c2" -v c3="$c3" -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" \
    -v rest="$REST" -v idle="$idle_kib" -v bidle="$base_idle_kib" -v rr="$rest_rss" -v rh="$rest_hwm" \
    -v br="$base_rss" -v bh="$base_hwm" -v list="$rss_list" -v ah="$after_hwm" -v k="$refreshes_done" \
    -v as="$aws_samples" -v ab="$aws_bytes" -v pb="$page_bytes" -v bb="$base_bytes" -v ps="$page_samples" -v bs="$base_samples" \
    -v t1="${scrape_times[0]}" -v t3="${scrape_times[2]}" 'BEGIN {
    print "| figure | with `[aws]` | without | difference |"
    print "|---|--:|--:|--:|"
    printf "| /metrics page | %.0f KiB, %d samples | %.1f KiB, %d samples | %d AWS samples, %.0f KiB of AWS lines |\n", pb / 1024, ps, bb / 1024, bs, as, ab / 1024
    printf "| a /metrics scrape (first / third) | %.1f / %.1f ms | | |\n", 1000 * t1, 1000 * t3
    printf "| start to every service scraped | %d s | | |\n", first
    printf "| CPU: start and first scrape (3 services in parallel) | %.2f s | | |\n", cf
    printf "| CPU per refresh, mean of %d after the reload | %.3f s | | |\n", k, (c3 - c2) / k
    printf "| CPU at rest, %d s between refreshes | %.2f s (%.3f %% of a core) | %.2f s (%.3f %%) | %+.2f s |\n", rest, a1 - a0, 100 * (a1 - a0) / rest, b1 - b0, 100 * (b1 - b0) / rest, (a1 - a0) - (b1 - b0)
    printf "| RSS after start | %.1f MiB | %.1f MiB | %+.1f MiB |\n", idle / 1024, bidle / 1024, (idle - bidle) / 1024
    printf "| RSS at rest after the first scrape (VmRSS) | %.1f MiB | %.1f MiB | %+.1f MiB |\n", rr / 1024, br / 1024, (rr - br) / 1024
    printf "| peak RSS by then (VmHWM) | %.1f MiB | %.1f MiB | %+.1f MiB |\n", rh / 1024, bh / 1024, (rh - bh) / 1024
    printf "| RSS after each refresh after the reload | %s MiB | | |\n", list
    printf "| peak RSS at the end (VmHWM) | %.1f MiB | | |\n", ah / 1024
  }'
} >"$TMP/report.md"
cat "$TMP/report.md"
replace_section "$DOC" "$START_MARK" "$END_MARK" "$TMP/report.md"
