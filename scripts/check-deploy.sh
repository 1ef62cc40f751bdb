#!/usr/bin/env bash
# Check everything under deploy/ with the real tools, offline (`make deploy-check`,
# part of `make test`). No Docker engine, Terraform or Kubernetes runs here, so each
# file is checked by what does run (deploy/README.md, "How each file is checked"):
#
#   systemd unit        systemd-analyze verify, and security with an exposure threshold
#   configs             outpost check: the compose demo's, the image's health check's, the ConfigMap's
#   docker-compose.yml  docker-compose config (Debian's docker-compose), then its mounts and tags
#   Dockerfile          COPY sources vs .dockerignore, HEALTHCHECK module; checkov
#   kubernetes/         kubernetes-validate (bundled API schemas, strict), ServiceMonitor and Probe
#                       against scripts/schemas/*-v1.json, cross-references, the sharded/ and
#                       ha-pair/ overlays built and checked the same way; checkov
#   terraform/          python-hcl2 parses every .tf, references and templatefile() variables,
#                       user data rendered and run through bash -n and shellcheck; checkov
#
# Needs what scripts/install-test-deps.sh installs (docker-compose, .venv with python-hcl2
# and kubernetes-validate, .venv-checkov with checkov). OUTPOST_BIN names a built binary;
# otherwise target/debug/outpost, as `cargo test` left it (rebuilt if a source is newer).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
CHECKOV=.venv-checkov/bin/checkov
# systemd-analyze security's exposure, times ten (1.5 -> 15): fail if hardening regresses.
MAX_EXPOSURE=${MAX_EXPOSURE:-20}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf -- '-- %s\n' "$*"; }
die() {
  echo "check-deploy: $*" >&2
  exit 1
}

for tool in docker-compose systemd-analyze "$PY" "$CHECKOV"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/install-test-deps.sh installs it)"
done

bin=${OUTPOST_BIN:-}
if [[ -z $bin ]]; then
  bin=target/debug/outpost
  # `cargo test` (run before this in `make test`) leaves a debug binary built with
  # the dev-dependencies' features; `cargo build` would rebuild much of the tree
  # with another feature set. Reuse it unless a source is newer.
  if [[ ! -x $bin ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$bin" -print -quit) ]]; then
    "${CARGO:-cargo}" build --quiet --bin outpost
  fi
fi
bin=$(realpath "$bin")

step "outpost check: the configs deploy/ ships"
"$PY" scripts/check_deploy.py configmap deploy/kubernetes/configmap.yaml probes.toml "$tmp/configmap-probes.toml"
for config in deploy/docker/probes.toml deploy/docker/healthcheck.toml "$tmp/configmap-probes.toml"; do
  "$bin" check --config "$config"
done

step "systemd-analyze verify, security (deploy/systemd/outpost.service)"
# verify insists that ExecStart's binary exists: a copy of the unit pointing at the
# one just built.
sed "s|/usr/local/bin/outpost|$bin|g" deploy/systemd/outpost.service >"$tmp/outpost.service"
# verify exits 0 on unknown keys and unparsable values ("ignoring"): any message about
# the unit is a failure. Messages about the host's own units are not ours to judge.
systemd-analyze verify "$tmp/outpost.service" >"$tmp/verify.txt" 2>&1 || {
  cat "$tmp/verify.txt"
  die "systemd-analyze verify failed"
}
if grep -F "$tmp/outpost.service" "$tmp/verify.txt"; then
  die "systemd-analyze verify: deploy/systemd/outpost.service has the problems above"
fi
# Canary: the same check must catch a misspelt directive.
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$tmp/outpost.service" >"$tmp/canary.service"
if ! systemd-analyze verify "$tmp/canary.service" 2>&1 | grep -qF "$tmp/canary.service"; then
  die "systemd-analyze verify no longer reports a misspelt directive: this check is blind"
fi
systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" "$tmp/outpost.service" >"$tmp/security.txt" ||
  {
    cat "$tmp/security.txt"
    die "exposure above $MAX_EXPOSURE/10"
  }
grep -F 'Overall exposure level' "$tmp/security.txt"

step "docker-compose config (deploy/docker-compose.yml)"
docker-compose -f deploy/docker-compose.yml config -q
docker-compose -f deploy/docker-compose.yml config >"$tmp/compose.yml"
"$PY" scripts/check_deploy.py compose "$tmp/compose.yml"
"$PY" scripts/check_deploy.py dockerfile deploy/docker/Dockerfile

step "Kubernetes manifests (base, sharded/, ha-pair/): API schemas, ServiceMonitor and Probe schemas, references"
for variant in deploy/kubernetes deploy/kubernetes/sharded deploy/kubernetes/ha-pair; do
  "$PY" scripts/check_deploy.py kubernetes "$variant" scripts/schemas
done
"$PY" scripts/check_deploy.py canaries deploy/kubernetes scripts/schemas

step "Terraform: python-hcl2, references, user data"
"$PY" scripts/check_deploy.py terraform deploy/terraform
"$PY" scripts/check_deploy.py userdata deploy/terraform "$tmp/user_data.sh"
bash -n "$tmp/user_data.sh"
if command -v shellcheck >/dev/null 2>&1; then shellcheck -s bash "$tmp/user_data.sh"; fi

step "checkov: terraform, kubernetes, dockerfile"
# --skip-download: no call to the vendor's API (there is no route to it here, and
# its retries cost minutes); the checks themselves ship in the package. Accepted
# findings are skipped inline next to the code, each with its reason.
"$CHECKOV" --quiet --compact --skip-download --framework terraform kubernetes dockerfile \
  -d deploy >"$tmp/checkov.txt" 2>&1 || {
  cat "$tmp/checkov.txt"
  die "checkov found issues"
}
grep -E 'scan results|Passed checks' "$tmp/checkov.txt" | paste - - | sed 's/\s\+/ /g'
# A framework that found nothing to scan prints no results: that is a failure too.
for framework in dockerfile kubernetes terraform; do
  grep -qE "^$framework scan results" "$tmp/checkov.txt" || die "checkov scanned no $framework file"
done

echo "check-deploy: ok"
