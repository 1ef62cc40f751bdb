#!/usr/bin/env bash
# make fuzz: build the cargo-fuzz targets in fuzz/ (nightly, debug assertions on,
# so overflows panic) and run each for FUZZ_SECONDS (default 60), starting from
# its committed seeds (fuzz/seeds/TARGET) and, if there is one, its dictionary
# (fuzz/dicts/TARGET.dict). New inputs go to fuzz/corpus/TARGET (not committed).
# Prints per target the executions, the time and whether it found a crash; exits
# 1 if any did, naming the artifact (fuzz/artifacts/TARGET/...). FUZZ_TARGETS
# (space-separated) runs only those. Installs cargo-fuzz if it is missing.
# See fuzz/README.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
cargo_fuzz=(cargo "+$toolchain" fuzz)

if ! "${cargo_fuzz[@]}" --version >/dev/null 2>&1; then
  echo "==> cargo-fuzz is missing: cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked
fi

if [[ -n ${FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <("${cargo_fuzz[@]}" list)
fi

echo "==> building ${#targets[@]} fuzz targets (cargo +$toolchain fuzz build -a)"
"${cargo_fuzz[@]}" build -a

logs=$root/fuzz/target/logs
mkdir -p "$logs"
summary=()
crashed=0
for target in "${targets[@]}"; do
  corpus=$root/fuzz/corpus/$target
  seeds=$root/fuzz/seeds/$target
  dict=$root/fuzz/dicts/$target.dict
  log=$logs/$target.log
  mkdir -p "$corpus" "$seeds"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  if [[ -f $dict ]]; then
    args+=(-dict="$dict")
  fi
  echo "==> $target: ${seconds}s (log: ${log#"$root"/})"
  started=$(date +%s)
  if "${cargo_fuzz[@]}" run -a "$target" "$corpus" "$seeds" -- "${args[@]}" >"$log" 2>&1; then
    outcome="no crash"
  else
    crashed=1
    artifact=$(grep -o 'Test unit written to .*' "$log" | tail -n 1 | sed 's/^Test unit written to //' || true)
    outcome="CRASH: ${artifact:-see $log}"
    grep -E '^(==[0-9]+==ERROR|thread .* panicked)' "$log" | head -n 3 || true
  fi
  took=$(($(date +%s) - started))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  line=$(printf '%-16s %12s execs %5ss  %s' "$target" "${execs:-?}" "$took" "$outcome")
  echo "$line"
  summary+=("$line")
done

echo
echo "==> fuzz summary (FUZZ_SECONDS=$seconds per target)"
printf '%s\n' "${summary[@]}"
if ((crashed)); then
  echo "a target crashed: reproduce with cargo +$toolchain fuzz run -a TARGET ARTIFACT (fuzz/README.md)" >&2
  exit 1
fi
