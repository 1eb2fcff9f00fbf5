# tether: `make demo` shows what it does, `make test` proves it. Run as root on Debian 12.

SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.tether-installed
# docker-compose: Debian's 1.29.2 (python3, docker-py 5.0.3), the real client the compose
# tests drive tetherd with; installed without its recommended docker.io, no daemon.
DEBIAN_PACKAGES := nftables libnftables1 runc busybox-static iproute2 conntrack util-linux \
                   procps iputils-ping etcd-server etcd-client graphviz chromium \
                   docker-compose openssl
# What `make bench` measures tether against (CNI bridge plugin, netavark, iptables for both;
# dnsmasq and aardvark-dns for the resolver; iperf3 for throughput).
BENCH_PACKAGES := containernetworking-plugins netavark iptables dnsmasq-base aardvark-dns iperf3
BENCH_STAMP := $(VENV)/.tether-bench-installed
# A bound on the whole suite, so a hung test fails CI instead of stalling it.
TEST_TIMEOUT := 1500

.PHONY: install demo test unit integration bench lint-imports clean

install: $(STAMP)
	@tools/install-deps $(DEBIAN_PACKAGES)

# Re-installed only when pyproject.toml changes (or the venv is gone). The interpreter is
# /usr/bin/python3 when >= 3.11 (Debian 12), else python3 on PATH; PYTHON=... overrides.
$(STAMP): pyproject.toml
	@tools/install-deps $(DEBIAN_PACKAGES)
	tools/make-venv $(VENV)
	@touch $@

demo: install
	$(VENV)/bin/python tools/demo

# The whole suite, unit and integration; as root it runs inside private namespaces.
test: install
	timeout --foreground -k 20 $(TEST_TIMEOUT) $(VENV)/bin/python -m pytest tests

unit: install
	$(VENV)/bin/python -m pytest -q tests/unit

integration: install
	timeout --foreground -k 20 $(TEST_TIMEOUT) $(VENV)/bin/python -m pytest tests/integration

# Every bench/*.py, then bench/results/RESULTS.md and plots (see bench/README.md). Minutes.
bench: install $(BENCH_STAMP)
	$(VENV)/bin/python bench/run

$(BENCH_STAMP): pyproject.toml
	@tools/install-deps $(BENCH_PACKAGES)
	$(VENV)/bin/python -m pip install -q -e '.[test,bench]' </dev/null
	@touch $@

lint-imports: install
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
