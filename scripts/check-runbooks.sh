#!/usr/bin/env bash
# Every alert in prometheus/*.rules.yml carries what the on-call needs: a severity
# of critical|warning|info, summary and description annotations, and a runbook_url
# pointing at its own section of docs/runbooks.md, which must exist
# ("### AlertName": GitHub makes the anchor the lower-cased name).
# Run by `make rules`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - prometheus/*.rules.yml <<'PY'
import re, sys

base = "https://github.com/outpost-monitoring/outpost/blob/main/docs/runbooks.md#"
headings = set(re.findall(r"^### (\S+)\s*$", open("docs/runbooks.md").read(), re.M))
bad, seen = [], set()
for path in sys.argv[1:]:
    text = open(path).read()
    # One block per rule: from "- alert:" to the next "- alert:"/"- record:"/group.
    for m in re.finditer(r"^\s*- alert: (\S+)\n(.*?)(?=^\s*- (?:alert|record):|^\s*- name:|\Z)",
                         text, re.M | re.S):
        name, body = m.group(1), m.group(2)
        seen.add(name)
        where = f"{path}: {name}"
        if not re.search(r"^\s*severity: (critical|warning|info)\s*$", body, re.M):
            bad.append(f"{where}: severity must be critical, warning or info")
        for key in ("summary", "description"):
            if not re.search(rf"^\s*{key}: \S", body, re.M):
                bad.append(f"{where}: no {key} annotation")
        url = re.search(r"^\s*runbook_url: (\S+)\s*$", body, re.M)
        if not url or url.group(1) != base + name.lower():
            bad.append(f"{where}: runbook_url must be {base}{name.lower()}")
        if name not in headings:
            bad.append(f"{where}: docs/runbooks.md has no '### {name}' section")
for line in bad:
    print("check-runbooks:", line, file=sys.stderr)
if bad:
    sys.exit(1)
print(f"check-runbooks: OK ({len(seen)} alerts, each with severity, summary, description and a runbook section)")
PY
