# outpost: build, check and benchmark entry points. `make test` is what CI runs
# (.ci/run): scripts/test-steps.sh runs TEST_STEPS in order, times each, and on the
# first failure names the step and the `make STEP` that reruns only it.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := test

CARGO ?= cargo
# nginx and friends live in /usr/sbin, which a non-login shell may lack.
export PATH := $(PATH):/usr/sbin

RULES      := $(wildcard prometheus/*.rules.yml)
RULE_TESTS := $(wildcard prometheus/tests/*.yml)
AM_CONFIGS := $(wildcard deploy/alertmanager/*.yml)
SCRIPTS    := $(wildcard .ci/run scripts/*.sh benches/*.sh)

banner = @printf '\n==> %s\n' '$(1)'

# soak and fuzz: not in `make test` (10 minutes each or more); see benches/soak.sh, scripts/fuzz.sh.
.PHONY: soak fuzz test deps fmt-check clippy deps-check cargo-test rules alertmanager lint fmt shellcheck bench bench-probe bench-endless bench-scale bench-timing deploy-check bench-aws bench-encode

TEST_STEPS := deps fmt-check clippy deps-check cargo-test rules alertmanager deploy-check

test:
	MAKE='$(MAKE)' scripts/test-steps.sh $(TEST_STEPS)

deps:
	$(call banner,test dependencies (scripts/install-test-deps.sh))
	scripts/install-test-deps.sh

fmt-check:
	$(call banner,cargo fmt --check)
	$(CARGO) fmt --all -- --check

clippy:
	$(call banner,cargo clippy -D warnings)
	$(CARGO) clippy --all-targets -- -D warnings

deps-check:
	$(call banner,one HTTP/TLS/crypto stack (scripts/check-one-stack.sh))
	CARGO=$(CARGO) scripts/check-one-stack.sh
	$(call banner,rust-version in Cargo.toml covers every dependency (scripts/check-msrv.sh))
	CARGO=$(CARGO) scripts/check-msrv.sh

cargo-test:
	$(call banner,cargo test)
	$(CARGO) test

rules:
	$(call banner,promtool: Prometheus rules and rule tests)
	$(if $(RULES),promtool check rules --lint-fatal $(RULES),@echo 'no prometheus/*.rules.yml yet: skipped')
	$(if $(RULE_TESTS),promtool test rules $(RULE_TESTS),@echo 'no prometheus/tests/*.yml yet: skipped')
	$(call banner,promtool: Prometheus configurations (regional, global) and the rule files they load)
	scripts/check-prometheus-config.sh
	$(call banner,every alert: severity and annotations and its docs/runbooks.md section)
	scripts/check-runbooks.sh
	$(call banner,check-dashboards self-test: each file of scripts/testdata/dashboards/bad fails its own check)
	.venv/bin/python3 scripts/check-dashboards.py --self-test
	$(call banner,Grafana dashboards: job selectors; units; alert thresholds; matrix links; no sum of gauges; timeInterval; federation (scripts/check-dashboards.py))
	.venv/bin/python3 scripts/check-dashboards.py

alertmanager:
	$(call banner,amtool: AlertManager configuration)
	$(if $(AM_CONFIGS),amtool check-config $(AM_CONFIGS),@echo 'no deploy/alertmanager/*.yml yet: skipped')
	$(call banner,alertmanager.yml: route cases and templates (amtool) and inhibition (loopback Alertmanager))
	scripts/check-alertmanager-routes.sh

# deploy/: systemd unit, Dockerfile, compose file, Kubernetes manifests, Terraform
# module, each checked offline by the tools that understand it (deploy/README.md).
deploy-check:
	$(call banner,deploy/: systemd-analyze, docker-compose, kubernetes-validate, python-hcl2, checkov (scripts/check-deploy.sh))
	CARGO=$(CARGO) scripts/check-deploy.sh

# Conveniences, not part of `make test`.
lint: fmt-check clippy shellcheck

fmt:
	$(CARGO) fmt --all

shellcheck:
	$(call banner,shellcheck)
	@if command -v shellcheck >/dev/null; then shellcheck -x $(SCRIPTS) && echo ok; \
	 else echo 'shellcheck not installed (apt-get install shellcheck): skipped'; fi

# cargo-fuzz targets for outpost's own parsers (fuzz/README.md), FUZZ_SECONDS
# (default 60) each from the committed seeds; nightly; exit 1 on a crash.
FUZZ_SECONDS ?= 60
fuzz:
	$(call banner,cargo fuzz: every target for $(FUZZ_SECONDS)s (scripts/fuzz.sh))
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# outpost vs Blackbox Exporter; each script writes its section of docs/benchmarks.md.
bench: bench-probe bench-endless bench-scale bench-timing bench-aws bench-encode

# Throughput, CPU per probe, RSS, start-up and binary size under wrk. See the script's header.
bench-probe:
	benches/probe_bench.sh

# A target with an endless body and a body regex: time to fail and peak RSS.
bench-endless:
	benches/endless_body.sh

# Thousands of scheduled probes: CPU, RSS, scheduler lag, cost of a /metrics scrape.
bench-scale:
	benches/scale.sh

# Reported probe times against a target that answers after known delays, idle and loaded.
bench-timing:
	benches/timing_fidelity.sh

# The /metrics encoder alone: one page of ENCODE_PROBES scheduled http probes (cargo bench, no harness).
bench-encode:
	cargo bench --bench encode_metrics

# 2,000 probes and a reload every 20 s for 10 minutes: RSS and file descriptors must stay flat.
soak:
	benches/soak.sh

# AWS scrapes of 1,000 RDS instances and 200 target groups on moto: API calls, time, cache cost.
bench-aws:
	benches/aws_scale.sh
