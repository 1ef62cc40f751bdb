#!/usr/bin/env bash
# Every alert in prometheus/*.rules.yml carries what the on-call needs: a severity
# of critical|warning|info, summary and description annotations, and a runbook_url
# pointing at its own section of docs/runbooks.md, which must exist
# ("### AlertName": GitHub makes the anchor the lower-cased name).
# Run by `make rules`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The rule files are read as YAML (PyYAML comes with moto in the venv that
# scripts/install-test-deps.sh makes), so quoting and layout do not matter.
.venv/bin/python3 - prometheus/*.rules.yml <<'PY'
import re, sys

import yaml

base = "docs/runbooks.md#"
headings = set(re.findall(r"^### (\S+)\s*$", open("docs/runbooks.md").read(), re.M))
bad, seen = [], set()
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path)) or {}
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if not name:
                continue
            seen.add(name)
            where = f"{path}: {name}"
            labels = rule.get("labels") or {}
            notes = rule.get("annotations") or {}
            if labels.get("severity") not in ("critical", "warning", "info"):
                bad.append(f"{where}: severity must be critical, warning or info")
            for key in ("summary", "description"):
                if not str(notes.get(key, "")).strip():
                    bad.append(f"{where}: no {key} annotation")
            if notes.get("runbook_url") != base + name.lower():
                bad.append(f"{where}: runbook_url must be {base}{name.lower()}")
            if name not in headings:
                bad.append(f"{where}: docs/runbooks.md has no '### {name}' section")
for line in bad:
    print("check-runbooks:", line, file=sys.stderr)
if bad:
    sys.exit(1)
print(f"check-runbooks: OK ({len(seen)} alerts, each with severity, summary, description and a runbook section)")
PY
