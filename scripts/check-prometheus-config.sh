#!/usr/bin/env bash
# `promtool check config` on the shipped Prometheus configurations (which also
# checks every rule file they load), then: every prometheus/*.rules.yml must be
# loaded by one of them, so a new rule file cannot ship unused. The HA rules are
# the one opt-in file (two replicas per region only: docs/scaling.md).
# Run by `make rules`.
set -euo pipefail
cd "$(dirname "$0")/.."

configs=(prometheus/prometheus.yml prometheus/global/prometheus-global.yml prometheus/global/remote-write.yml)
opt_in=(outpost-ha.rules.yml)

out=$(promtool check config "${configs[@]}" 2>&1) || {
  printf '%s\n' "$out" >&2
  echo "check-prometheus-config: promtool check config failed" >&2
  exit 1
}
printf '%s\n' "$out"

# promtool names each rule file it checked: "Checking prometheus/global/../x.rules.yml".
loaded=$(printf '%s\n' "$out" | sed -n 's/^Checking \(.*\.rules\.yml\)$/\1/p' | xargs -rn1 basename | sort -u)

unused=0
for file in prometheus/*.rules.yml; do
  name=$(basename "$file")
  if printf '%s\n' "$loaded" "${opt_in[@]}" | grep -qxF "$name"; then
    continue
  fi
  echo "check-prometheus-config: $file is loaded by none of ${configs[*]}" >&2
  unused=1
done
if ((unused)); then
  exit 1
fi

# The /probe jobs' relabelling, on the targets promtool discovers: Prometheus
# connects to outpost, passes the listed address as ?target= and keeps it as
# instance and target, with module and probe = module:target.
jobs=$(sed -n 's/^ *- job_name: \(outpost-probe-.*\)$/\1/p' prometheus/prometheus.yml)
[[ -n $jobs ]] || { echo "check-prometheus-config: no outpost-probe-* job" >&2; exit 1; }
# Static targets are discovered at once; promtool otherwise waits out its 30 s default
# per job (two minutes of make test). An empty answer still fails below.
for job in $jobs; do
  promtool check service-discovery --timeout=2s prometheus/prometheus.yml "$job" | python3 -c '
import json, sys
job, bad = sys.argv[1], 0
targets = json.load(sys.stdin)
for t in targets:
    d, l = t["discoveredLabels"], t["labels"]
    addr = d["__address__"]
    want = {
        "__address__": "outpost.ap-southeast-1.internal:9465",
        "__metrics_path__": "/probe",
        "__param_target": d["__address__"],
        "instance": d["__address__"],
        "target": d["__address__"],
        "module": d["__param_module"],
        "probe": d["__param_module"] + ":" + d["__address__"],
        "region": "ap-southeast-1",
    }
    for k, v in want.items():
        if l.get(k) != v:
            print(f"check-prometheus-config: {job}: {addr}: {k}={l.get(k)!r}, want {v!r}", file=sys.stderr)
            bad += 1
if not targets:
    print(f"check-prometheus-config: {job}: no target", file=sys.stderr); bad += 1
sys.exit(1 if bad else 0)
' "$job"
  echo "check-prometheus-config: relabelling of $job ok"
done
echo "check-prometheus-config: OK (rule files loaded: $(echo "$loaded" | xargs))"
