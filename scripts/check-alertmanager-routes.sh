#!/usr/bin/env bash
# Behaviour checks of deploy/alertmanager/alertmanager.yml beyond `amtool
# check-config` (which make alertmanager runs first):
#   1. routes: `amtool config routes test` resolves each label set to exactly the
#      expected receivers, in routing-tree order;
#   2. templates: `amtool template render` on a sample notification shows region,
#      probe, value and runbook;
#   3. inhibition: a real Alertmanager (Debian's prometheus-alertmanager) on
#      127.0.0.1 with this configuration receives alerts through its API and
#      reports which are inhibited. It stops long before any group_wait ends, and
#      the receivers' secret files do not exist here: it never notifies anyone.
# Run by `make alertmanager`.
set -euo pipefail
cd "$(dirname "$0")/.."

config=deploy/alertmanager/alertmanager.yml
data=scripts/testdata/alertmanager
failures=0

fail() {
  echo "check-alertmanager-routes: FAIL: $*" >&2
  failures=$((failures + 1))
}

# route EXPECTED_RECEIVERS LABEL=VALUE...
route() {
  local expected=$1
  shift
  local got
  got=$(amtool config routes test --config.file="$config" "$@" 2>/dev/null) || true
  if [[ $got == "$expected" ]]; then
    echo "route ok: $* -> $got"
  else
    fail "route: $* -> '$got', want '$expected'"
  fi
}

check_routes() {
  route email-digest alertname=ProbeFailing severity=info region=ap-southeast-1 probe=alb-sg
  route email-digest,pagerduty alertname=SloErrorBudgetBurn severity=critical action=page slo=web-availability sli=availability region=ap-southeast-1
  route email-digest,slack alertname=SloErrorBudgetBurn severity=warning action=ticket slo=web-probes sli=latency region=ap-east-1
  route email-digest,pagerduty alertname=OutpostDown severity=critical region=eu-west-2
  route email-digest,pagerduty alertname=TargetDownGlobally severity=critical target=https://web/health
  route email-digest,slack alertname=ProbeSlow severity=warning region=ap-east-1 probe=alb-hk
  route email-digest,slack alertname=TargetDownInRegion severity=warning region=ap-southeast-2 target=https://web/health
  route email-digest,slack alertname=AwsDatabaseMisconfigured severity=warning region=eu-west-1 db_instance=db-1
  route email-digest alertname=SomethingInformative severity=info region=ap-southeast-1
  route email-digest alertname=NoSeverityLabel region=ap-southeast-1
}

# render TEMPLATE DATA_FILE NEEDLE...: the rendered text contains every needle.
render() {
  local tmpl=$1 file=$2
  shift 2
  local out
  if ! out=$(amtool template render --template.glob='deploy/alertmanager/templates/*.tmpl' \
    --template.text="{{ template \"$tmpl\" . }}" --template.data="$file" 2>&1); then
    fail "template $tmpl: $out"
    return
  fi
  local needle
  for needle in "$@"; do
    if [[ $out != *"$needle"* ]]; then
      fail "template $tmpl lacks '$needle' in: $out"
      return
    fi
  done
  echo "template ok: $tmpl shows $*"
}

check_templates() {
  local want=(ap-southeast-1 "probe alb-sg" 2.5s "docs/runbooks.md#probeslow")
  render outpost.title "$data/probe-slow.json" "[FIRING:1] ProbeSlow in ap-southeast-1 (warning)"
  render outpost.text "$data/probe-slow.json" "${want[@]}"
  render outpost.email.html "$data/probe-slow.json" "${want[@]}"
  render outpost.pagerduty.severity "$data/probe-slow.json" warning
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

am_pid=""
am_dir=""
stop_alertmanager() {
  if [[ -n $am_pid ]]; then
    kill "$am_pid" 2>/dev/null || true
    wait "$am_pid" 2>/dev/null || true
    am_pid=""
  fi
  if [[ -n $am_dir ]]; then
    rm -rf "$am_dir"
    am_dir=""
  fi
}
trap stop_alertmanager EXIT

check_inhibition() {
  local am
  am=$(command -v prometheus-alertmanager || command -v alertmanager || true)
  if [[ -z $am ]]; then
    fail "no prometheus-alertmanager binary (apt-get install prometheus-alertmanager, or make deps)"
    return
  fi
  local port url
  am_dir=$(mktemp -d)
  port=$(free_port)
  url="http://127.0.0.1:$port"
  "$am" --config.file="$config" --storage.path="$am_dir" --web.listen-address="127.0.0.1:$port" \
    --cluster.listen-address= --log.level=warn >"$am_dir/log" 2>&1 &
  am_pid=$!
  local _
  for _ in $(seq 50); do
    curl -fsS "$url/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! curl -fsS "$url/-/ready" >/dev/null 2>&1; then
    fail "alertmanager did not start: $(cat "$am_dir/log")"
    stop_alertmanager
    return
  fi
  curl -fsS -H 'Content-Type: application/json' --data @"$data/inhibition-alerts.json" \
    "$url/api/v2/alerts" >/dev/null
  # Each alert's `case` annotation says whether it must be inhibited.
  curl -fsS "$url/api/v2/alerts" | python3 -c '
import json, sys
bad = 0
alerts = json.load(sys.stdin)
for a in sorted(alerts, key=lambda a: a["annotations"]["case"]):
    want = a["annotations"]["case"].startswith("inhibited")
    got = bool(a["status"]["inhibitedBy"])
    print(("inhibition ok: " if want == got else "inhibition WRONG: ") + a["annotations"]["case"])
    bad += want != got
if len(alerts) < 16:
    print("inhibition WRONG: only %d alerts came back" % len(alerts)); bad += 1
sys.exit(1 if bad else 0)
' || fail "inhibition (see the WRONG lines above)"
  stop_alertmanager
}

check_routes
check_templates
check_inhibition

if ((failures)); then
  echo "check-alertmanager-routes: $failures check(s) failed" >&2
  exit 1
fi
echo "check-alertmanager-routes: OK"
