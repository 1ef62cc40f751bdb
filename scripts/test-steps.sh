#!/usr/bin/env bash
# Runs make targets one after the other, as `make test` does: says which step it is on,
# times each, stops at the first failure naming the step and how to rerun only it, and
# ends with a table of the steps' times.
#
#   scripts/test-steps.sh STEP...       # each STEP a target of the Makefile (MAKE overrides make)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

make=${MAKE:-make}
steps=("$@")
n=${#steps[@]}
names=()
times=()

table() {
  local i
  for i in "${!names[@]}"; do
    printf '  %-14s %6ss\n' "${names[$i]}" "${times[$i]}"
  done
}

all=$SECONDS
for i in "${!steps[@]}"; do
  step=${steps[$i]}
  printf '\n==> make test: step %d/%d: %s\n' $((i + 1)) "$n" "$step"
  start=$SECONDS
  "$make" --no-print-directory "$step"
  rc=$?
  names+=("$step")
  times+=($((SECONDS - start)))
  if ((rc != 0)); then
    printf '\n==> make test: FAILED at step %d/%d, %s, after %ss (exit %d)\n' \
      $((i + 1)) "$n" "$step" "${times[-1]}" "$rc"
    table
    printf 'Rerun only this step with: make %s\n' "$step"
    exit 1
  fi
done
printf '\n==> make test: all %d steps passed in %ss\n' "$n" $((SECONDS - all))
table
