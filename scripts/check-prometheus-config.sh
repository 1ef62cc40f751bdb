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
echo "check-prometheus-config: OK (rule files loaded: $(echo "$loaded" | xargs))"
