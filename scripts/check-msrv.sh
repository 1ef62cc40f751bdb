#!/usr/bin/env bash
# Checks that Cargo.toml's rust-version (the Rust that README tells a newcomer to
# install) is at least every locked dependency's own rust-version, so a lockfile update
# that needs a newer compiler cannot leave README promising an older one. Our own code
# is held to it by clippy's incompatible_msrv lint. Offline: reads `cargo metadata`.
#
#   scripts/check-msrv.sh      # exit 1 naming the dependencies that need more (CARGO overrides cargo)
set -euo pipefail
cd "$(dirname "$0")/.."

"${CARGO:-cargo}" metadata --format-version 1 --locked --offline 2>/dev/null |
  python3 -c '
import json, sys

def key(v):
    return tuple(int(p) for p in v.split("."))

meta = json.load(sys.stdin)
ours = next(p for p in meta["packages"] if p["id"] in meta["workspace_members"])
msrv = ours.get("rust_version")
if not msrv:
    sys.exit("check-msrv: Cargo.toml has no rust-version")
need = sorted(
    ((key(p["rust_version"]), p["name"], p["version"], p["rust_version"])
     for p in meta["packages"]
     if p.get("rust_version") and p["id"] not in meta["workspace_members"]),
    reverse=True,
)
over = [n for n in need if n[0] > key(msrv)]
if over:
    for _, name, version, rv in over[:10]:
        print(f"check-msrv: {name} {version} needs Rust {rv}", file=sys.stderr)
    sys.exit(f"check-msrv: Cargo.toml says rust-version = \"{msrv}\"; raise it to {over[0][3]} and README with it")
top = need[0]
print(f"check-msrv: rust-version {msrv} covers all {len(need)} dependencies that state one (highest: {top[1]} {top[2]}, {top[3]})")
'
