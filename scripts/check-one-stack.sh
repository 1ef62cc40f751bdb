#!/usr/bin/env bash
# Checks that the dependency tree keeps ONE HTTP, ONE TLS and ONE crypto stack
# (hyper 1, h2, rustls 0.23 on ring), as docs and STYLE.md promise: the AWS SDK
# and database drivers pull a second stack or aws-lc/openssl unless set up with
# care, and a second copy doubles binary size and splits TLS configuration.
#
#   scripts/check-one-stack.sh        # exit 1 on a violation, listing each (CARGO overrides cargo)
#
# What is checked, over normal and build dependencies of every target platform:
#   - exactly one version each of hyper, h2, rustls, tokio-rustls and ring;
#   - none of aws-lc-rs, aws-lc-sys, openssl, openssl-sys, native-tls;
#   - at most one `http` 1.x. Exception: one `http` 0.2 may sit beside it, because
#     the AWS SDK's smithy types still expose `http` 0.2 (types only, no second
#     HTTP stack: hyper 0.14 and h2 0.3 stay banned through the checks above).
#   - at most one `http-body` 1.x, and likewise one `http-body` 0.4 beside it:
#     aws-sdk-cloudwatch (every release) turns on aws-smithy-types' http-body 0.4
#     conversions for its request compression; traits only, no second stack.
set -euo pipefail
cd "$(dirname "$0")/.."

one_version=(hyper h2 rustls tokio-rustls ring)
banned=(aws-lc-rs aws-lc-sys openssl openssl-sys native-tls)

# "name version" of every package in the tree, once each.
packages=$("${CARGO:-cargo}" tree -e normal,build --prefix none --target all --format '{p}' |
  awk '{print $1, $2}' | sort -u)

failures=0
fail() {
  echo "check-one-stack: $*" >&2
  failures=$((failures + 1))
}

# Lines as one space-separated line, for messages.
joined() {
  tr '\n' ' ' <<<"$1" | sed 's/ *$//'
}

# The versions of crate $1 in the tree, one per line.
versions() {
  awk -v name="$1" '$1 == name {print $2}' <<<"$packages"
}

for crate in "${one_version[@]}"; do
  found=$(versions "$crate")
  count=$(grep -c . <<<"$found" || true)
  if [[ $count -ne 1 ]]; then
    fail "expected exactly one version of $crate, found $count: $(joined "$found")"
  fi
done

for crate in "${banned[@]}"; do
  found=$(versions "$crate")
  if [[ -n $found ]]; then
    fail "$crate must not be in the tree (found $(joined "$found")); see 'cargo tree -i $crate'"
  fi
done

http=$(versions http)
http1=$(grep -c '^v1\.' <<<"$http" || true)
http02=$(grep -c '^v0\.2\.' <<<"$http" || true)
other=$(grep -vE '^(v1\.|v0\.2\.)' <<<"$http" | grep -c . || true)
if [[ $http1 -gt 1 || $http02 -gt 1 || $other -gt 0 ]]; then
  fail "http: at most one 1.x and one 0.2.x allowed, found: $(joined "$http")"
fi

body=$(versions http-body)
body1=$(grep -c '^v1\.' <<<"$body" || true)
body04=$(grep -c '^v0\.4\.' <<<"$body" || true)
other=$(grep -vE '^(v1\.|v0\.4\.)' <<<"$body" | grep -c . || true)
if [[ $body1 -ne 1 || $body04 -gt 1 || $other -gt 0 ]]; then
  fail "http-body: exactly one 1.x and at most one 0.4.x allowed, found: $(joined "$body")"
fi

if [[ $failures -gt 0 ]]; then
  echo "check-one-stack: $failures problem(s); 'cargo tree -d' shows the duplicates" >&2
  exit 1
fi
echo "check-one-stack: one stack: $(for c in hyper h2 rustls ring; do printf '%s %s, ' "$c" "$(versions "$c")"; done | sed 's/, $//')"
