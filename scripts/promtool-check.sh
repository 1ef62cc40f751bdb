#!/usr/bin/env bash
# Lint Prometheus exposition text with `promtool check metrics`.
#
#   scripts/promtool-check.sh http://127.0.0.1:9465/metrics   # fetch and check
#   scripts/promtool-check.sh 'http://127.0.0.1:9465/probe?target=...&module=http_2xx'
#   scripts/promtool-check.sh metrics.txt                      # a saved file
#   curl -s 127.0.0.1:9465/metrics | scripts/promtool-check.sh # stdin
#
# Exits 0 when promtool finds nothing to say, else non-zero with promtool's messages
# (missing HELP, counter without _total, parse errors, ...).
set -euo pipefail

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool-check: promtool not found (apt-get install prometheus, or make deps)" >&2
  exit 2
fi

input=$(mktemp)
trap 'rm -f "$input"' EXIT

case "${1:-}" in
  "" | -) cat >"$input" ;;
  http://* | https://*) curl -fsS --max-time 30 "$1" >"$input" ;;
  *) cat -- "$1" >"$input" ;;
esac

if [[ ! -s $input ]]; then
  echo "promtool-check: no exposition text to check" >&2
  exit 1
fi

if out=$(promtool check metrics <"$input" 2>&1); then
  echo "promtool-check: OK ($(grep -vc '^#' "$input") samples)"
else
  rc=$?
  printf '%s\n' "$out" >&2
  echo "promtool-check: promtool check metrics failed (exit $rc)" >&2
  exit "$rc"
fi
