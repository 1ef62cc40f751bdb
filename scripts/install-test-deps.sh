#!/usr/bin/env bash
# Install what `make test` needs, as root, on Debian 12 (bookworm: what CI runs) or
# Debian 13 (trixie). Idempotent: a second run installs nothing and takes about a second.
#
#   scripts/install-test-deps.sh [EXTRA_DEBIAN_PACKAGE...]
#
# Debian: each package is checked with `dpkg-query` first; apt is only touched for what
# is missing. Versions are the release's own (its security updates included), so the
# release is what is pinned: another release is refused with a message, because its
# promtool, amtool, dnsmasq or nginx may behave differently from the ones the tests
# were written against. Extra package names given as arguments are ensured too.
#
# PyPI: two virtualenvs, each installed from a requirements file of exact versions and
# hashes (scripts/requirements/*.txt, `pip install --require-hashes`). A venv whose
# installed packages differ in any way from its file (another moto left by an older
# checkout, a package added by hand, another Python) is made again from nothing.
#
# Adding a dependency for the tests: a Debian package goes into the list below (and,
# if its command differs from the package's name, into COMMANDS); a PyPI package into
# scripts/requirements/*.in, then recompile (scripts/requirements/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "install-test-deps: $*"; }
die() {
  echo "install-test-deps: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root: it installs Debian packages, and the tests it serves make network namespaces (README.md, 'From nothing')"

# The Debian release decides the packages' versions.
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
case "$codename" in
  bookworm | trixie) ;;
  *) die "this is '${codename:-not Debian}'; the tests expect Debian 12 (bookworm) or 13 (trixie) packages" ;;
esac

# Debian packages the tests use.
#   build-essential, pkg-config -> cc and make for the crates that build C (ring)
#   python3, python3-venv    -> the virtualenvs below
#   prometheus               -> promtool (metrics and rule checks, integration tests)
#   prometheus-alertmanager  -> amtool (alertmanager config checks), alertmanager
#   nginx (-light on 12)     -> a real HTTP peer for tests and the benchmark
#   wrk                      -> load generator for the benchmark
#   dnsmasq-base             -> dnsmasq, the real DNS server of the dns prober's and fan_out's tests
#   iproute2                 -> ip, which brings loopback up in the tests' network namespaces (and ip netns exec: fan_out's resolv.conf)
#   docker-compose           -> `docker-compose config`, the compose file's check (no engine needed)
#   systemd                  -> systemd-analyze verify/security, the unit's check
#   procps                   -> kill, with which the cli tests signal the daemon (a minimal image lacks it)
#   chromium                 -> a real browser: the status page test loads it headless (--dump-dom)
#   prometheus-blackbox-exporter -> Blackbox itself, which `import-blackbox`'s round trip probes beside outpost
#   mariadb-server           -> mariadbd and mariadb-install-db, the real database of the mysql prober's tests
#   util-linux               -> setpriv, which starts that database as nobody and kills it with the tests
#   postgresql               -> a real PostgreSQL (initdb, postgres) for the postgres prober's tests
#   nftables                 -> nft, which drops a random share of echo replies in the icmp loss test's namespace
want=(build-essential pkg-config python3 python3-venv prometheus prometheus-alertmanager
  wrk curl ca-certificates dnsmasq-base iproute2 docker-compose systemd procps chromium
  prometheus-blackbox-exporter mariadb-server util-linux postgresql nftables)
# Debian 13 folded nginx-light into nginx.
if [[ $codename == bookworm ]]; then want+=(nginx-light); else want+=(nginx); fi
want+=("$@")

missing=()
for pkg in "${want[@]}"; do
  # One status line, no pipe: `dpkg -s | grep -q` under pipefail fails at random when
  # grep stops reading early and dpkg dies of SIGPIPE.
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  say "Debian $codename: all ${#want[@]} packages already installed"
else
  say "Debian $codename: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The programs the tests run, found on PATH as files (`kill` is also a shell builtin);
# nginx and dnsmasq live in /usr/sbin, which a non-login root shell may lack.
COMMANDS=(cc make python3 kill promtool amtool nginx wrk curl dnsmasq ip docker-compose systemd-analyze
  chromium prometheus-blackbox-exporter mariadbd mariadb-install-db setpriv nft)
for cmd in "${COMMANDS[@]}"; do
  type -P "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] ||
    die "'$cmd' is not on PATH after the install"
done
# PostgreSQL's server programs live in /usr/lib/postgresql/VERSION/bin, off PATH;
# the tests take the highest version there.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $pg_bin && -x $pg_bin/initdb && -x $pg_bin/postgres ]] ||
  die "no /usr/lib/postgresql/*/bin/{initdb,postgres} after the install"

# venv DIR REQUIREMENTS: DIR holds exactly what REQUIREMENTS pins, or is made anew.
venv() {
  local dir=$1 req=$2 why
  if [[ ! -x $dir/bin/python ]]; then
    why="absent"
  elif ! why=$("$dir/bin/python" scripts/requirements/venv-matches.py "$req" 2>&1); then
    why="out of step with $req: $why"
  else
    say "$dir matches $req"
    return 0
  fi
  say "$dir $why; installing $req (exact versions and hashes)"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --require-hashes -r "$req" -q --no-input
  why=$("$dir/bin/python" scripts/requirements/venv-matches.py "$req" 2>&1) ||
    die "$dir still differs from $req after the install: $why"
}

# .venv: moto_server, boto3 for the seed scripts, python-hcl2, kubernetes-validate and
# PyYAML for the deploy and runbook checks. .venv-checkov: checkov alone, because it pins
# an older boto3 than moto wants and installs bc-python-hcl2 under python-hcl2's
# import name `hcl2`.
venv .venv scripts/requirements/test.txt
venv .venv-checkov scripts/requirements/checkov.txt

# The Rust components the checks use. rustup installs them; nothing here can.
for sub in fmt clippy; do
  cargo "$sub" --version >/dev/null 2>&1 ||
    die "'cargo $sub' is missing: rustup component add ${sub/fmt/rustfmt}"
done

# What this run will test with, for the log.
say "promtool $(promtool --version 2>&1 | sed -n '1s/^promtool, version \([^ ]*\).*/\1/p')," \
  "amtool $(amtool --version 2>&1 | sed -n '1s/^amtool, version \([^ ]*\).*/\1/p')," \
  "dnsmasq $(PATH=$PATH:/usr/sbin dnsmasq --version | sed -n '1s/^Dnsmasq version \([^ ]*\).*/\1/p')," \
  "$(chromium --version 2>/dev/null | sed -n '1s/^Chromium \([^ ]*\).*/chromium \1/p')," \
  "blackbox_exporter $(prometheus-blackbox-exporter --version 2>&1 | sed -n '1s/^blackbox_exporter, version \([^ ]*\).*/\1/p')," \
  "postgres $("$pg_bin/postgres" --version | sed -n '1s/^postgres (PostgreSQL) \([^ ]*\).*/\1/p')," \
  "$(.venv/bin/python --version), moto $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))')," \
  "$(rustc --version | cut -d' ' -f1-2)"
