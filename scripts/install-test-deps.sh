#!/usr/bin/env bash
# Install what `make test` needs on a Debian 12 machine (run as root).
#
# Idempotent and quick when everything is already there: each package is checked with
# `dpkg -s` first, and apt is only touched for what is missing. Extra package names given
# as arguments are ensured too (the benchmark uses this for its own tools).
#
# Adding a dependency for the tests: append it to TEST_PACKAGES (and, if its command
# name differs from the package's, to the check in the summary at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use. Later issues add e.g. mariadb-server.
#   prometheus               -> promtool (metrics and rule checks, integration tests)
#   prometheus-alertmanager  -> amtool   (alertmanager config checks)
#   nginx-light              -> a real HTTP peer for tests and the benchmark
#   wrk                      -> load generator for the benchmark
#   dnsmasq-base             -> dnsmasq, the real DNS server of the dns prober's tests
TEST_PACKAGES="prometheus prometheus-alertmanager nginx-light wrk curl ca-certificates dnsmasq-base"
#   iproute2                 -> ip, which brings loopback up in the icmp tests' network namespaces
TEST_PACKAGES="$TEST_PACKAGES iproute2"
#   docker-compose           -> `docker-compose config`, the compose file's check (no engine needed)
#   systemd                  -> systemd-analyze verify/security, the unit's check
TEST_PACKAGES="$TEST_PACKAGES docker-compose systemd"

want=("$@")
read -r -a base <<<"$TEST_PACKAGES"
want=("${base[@]}" "${want[@]}")

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-test-deps: all ${#want[@]} packages already installed"
else
  echo "install-test-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "install-test-deps: need root (or sudo) to apt-get install ${missing[*]}" >&2
      exit 1
    }
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python tools for the tests: moto_server (PyPI `moto[server]`, with boto3) in a venv
# at .venv, which the AWS tests start on a free loopback port. Skipped when present.
if [[ ! -x .venv/bin/moto_server ]]; then
  if [[ ! -x .venv/bin/python ]]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      # Debian's python3 ships venv separately.
      rm -rf .venv
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
      python3 -m venv .venv
    fi
  fi
  echo "install-test-deps: installing moto[server] into .venv"
  .venv/bin/pip install -q 'moto[server]'
else
  echo "install-test-deps: .venv already has moto_server"
fi

# Python tools of scripts/check-deploy.sh, pinned so that CI sees what was tested:
# python-hcl2 (parses the Terraform module) and kubernetes-validate (Kubernetes API
# schemas bundled in the package, no network) into .venv; checkov into a venv of its
# own, .venv-checkov, because it pins an older boto3 than moto wants and installs
# bc-python-hcl2, whose import name `hcl2` is python-hcl2's.
if ! .venv/bin/python -c 'import hcl2, kubernetes_validate' 2>/dev/null; then
  echo "install-test-deps: installing python-hcl2 and kubernetes-validate into .venv"
  .venv/bin/pip install -q 'python-hcl2==8.1.4' 'kubernetes-validate==1.37.0'
fi
if [[ ! -x .venv-checkov/bin/checkov ]]; then
  echo "install-test-deps: installing checkov into .venv-checkov"
  rm -rf .venv-checkov
  python3 -m venv .venv-checkov
  .venv-checkov/bin/pip install -q 'checkov==3.3.30'
fi

# The commands the tests call, found on PATH.
for cmd in promtool amtool nginx wrk curl dnsmasq docker-compose systemd-analyze; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    # nginx and dnsmasq live in /usr/sbin, which a non-login root shell may not have on PATH.
    if [[ ($cmd == nginx || $cmd == dnsmasq) && -x /usr/sbin/$cmd ]]; then continue; fi
    echo "install-test-deps: '$cmd' still not on PATH after install" >&2
    exit 1
  fi
done

# The Rust components the checks use: there is no network path to install them here.
for sub in fmt clippy; do
  if ! cargo "$sub" --version >/dev/null 2>&1; then
    echo "install-test-deps: 'cargo $sub' is missing (rustup component add ${sub/fmt/rustfmt})" >&2
    exit 1
  fi
done
