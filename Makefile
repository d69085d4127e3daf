# keyport: build, run and test. `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
VENV ?= .venv
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
RELEASE_BIN_DIR = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)
export KEYPORT_BIN ?= $(BIN_DIR)/keyport

.PHONY: help build release run test test-swift test-ops deps venv clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-19s %s\n", $$1, $$2}'

build: ## Debug build of the server and the tests
	$(SWIFT) build --build-tests

release: ## Optimised build: .build/release/keyport
	$(SWIFT) build -c release --product keyport

ARGS ?=
# The dev container sets RUN_HOST=0.0.0.0 so its published port reaches the server.
RUN_HOST ?= 127.0.0.1
run: ## Run the server on $(RUN_HOST):1123 with the bundled sample ports file (extra flags: ARGS='...')
	$(SWIFT) build --product keyport
	$(BIN_DIR)/keyport --host $(RUN_HOST) --log-format text $(ARGS)

deps: ## Install the test tools (Debian packages, when run as root) and the Python venv
	scripts/install-test-deps.sh
	$(MAKE) venv

venv: $(VENV)/.installed
$(VENV)/.installed: ops-tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r ops-tests/requirements.txt
	touch $@

test: deps build ## Everything: Swift unit/integration tests, then the ops tests (rules, chart, containers, live alerts, HA)
	$(MAKE) test-swift test-ops

test-swift: ## Swift Testing suites (needs a prior `make build`)
	$(SWIFT) test --skip-build

test-ops: venv ## The ops tests in ops-tests/ (pytest) against the built binary
	$(VENV)/bin/python -m pytest -q ops-tests

clean: ## Remove build output and the venv
	rm -rf .build $(VENV)

# --- containers: Dockerfile, Dockerfile.dev, compose.yaml (docs/containers.md) ---
CONTAINER_ENGINE ?= podman
# The chart's default image: values.yaml's image.repository, tagged with Chart.yaml's appVersion. The
# repository is fully qualified (localhost/), so podman, containerd (k3s, kind) and CRI-O all give
# the archive's image the name the chart asks for (a bare `keyport` is localhost/keyport to podman
# but docker.io/library/keyport to containerd).
CHART_APP_VERSION = $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/keyport/Chart.yaml)
CHART_IMAGE_REPOSITORY = $(shell sed -n '/^image:/,/^[^ ]/s/^  repository: *//p' charts/keyport/values.yaml)
IMAGE ?= $(CHART_IMAGE_REPOSITORY):$(CHART_APP_VERSION)
IMAGE_ARCHIVE ?= .build-image/keyport-$(CHART_APP_VERSION).tar
DEV_IMAGE ?= localhost/keyport-dev:latest
IMAGE_VERSION ?= $(shell sed -n 's/.*releaseVersion = "\(.*\)"/\1/p' Sources/KeyportCore/BuildInfo.swift)
IMAGE_REVISION ?= $(or $(shell git rev-parse --verify -q HEAD 2>/dev/null),unknown)
IMAGE_SOURCE ?= $(shell git remote get-url origin 2>/dev/null)

.PHONY: image image-archive load-k3s load-kind load-minikube image-dev compose-smoke kube-play-smoke container-standins

image: ## Production image from the Dockerfile as $(IMAGE) (the chart's default), labelled with git's version and revision
	$(CONTAINER_ENGINE) build $(if $(filter podman,$(notdir $(CONTAINER_ENGINE))),--format docker) -t $(IMAGE) \
		--build-arg VERSION='$(IMAGE_VERSION)' --build-arg REVISION='$(IMAGE_REVISION)' --build-arg SOURCE='$(IMAGE_SOURCE)' .

image-archive: image ## `make image`, then save it to $(IMAGE_ARCHIVE) (docker-archive: k3s, kind and minikube load it)
	mkdir -p $(dir $(IMAGE_ARCHIVE))
	rm -f $(IMAGE_ARCHIVE)
	$(CONTAINER_ENGINE) save $(if $(filter podman,$(notdir $(CONTAINER_ENGINE))),--format docker-archive) -o $(IMAGE_ARCHIVE) $(IMAGE)

K3S ?= k3s
MINIKUBE ?= minikube
load-k3s: image-archive ## Import the image into k3s' containerd (as root): then `helm install keyport charts/keyport` finds it
	$(K3S) ctr images import $(IMAGE_ARCHIVE)

load-kind: image-archive ## Load the image into the kind cluster $(KIND_CLUSTER)
	$(KIND) load image-archive $(IMAGE_ARCHIVE) --name $(KIND_CLUSTER)

load-minikube: image-archive ## Load the image into minikube's container runtime
	$(MINIKUBE) image load $(IMAGE_ARCHIVE)

image-dev: ## Development image (Swift toolchain + test tools) from Dockerfile.dev
	$(CONTAINER_ENGINE) build -f Dockerfile.dev -t $(DEV_IMAGE) .

container-standins: ## This machine's set-up (dev/): local stand-ins for the registry base images (no registry reachable)
	dev/standin-images.sh

compose-smoke: venv ## Build the image and run compose.yaml for real under podman-compose, then check it
	scripts/install-test-deps.sh --containers
	PYTHON=$(abspath $(VENV))/bin/python scripts/compose-smoke.sh

kube-play-smoke: venv ## The chart's keyport, Prometheus and Alertmanager Deployments started by `podman kube play` on compose-smoke's images, checked from outside
	scripts/install-test-deps.sh --containers
	PYTHON=$(abspath $(VENV))/bin/python scripts/kube-play-smoke.sh

# --- Helm chart: charts/keyport, deploy/kind (charts/keyport/README.md) ---
KIND ?= kind
HELM ?= helm
KUBECTL ?= kubectl
# kind loads images from an archive, so Docker and Podman both work here.
KIND_ENGINE ?= docker
KIND_CLUSTER ?= keyport

.PHONY: chart-test chart-docs kind-up deploy kind-down

chart-test: venv ## Render, lint, validate and scan the Helm chart (ops-tests/test_chart_*.py)
	$(VENV)/bin/python -m pytest -q ops-tests/test_chart_*.py

chart-docs: venv ## Re-generate charts/keyport/values.schema.json and the README's values table from values.yaml (scripts/generate-chart-schema.py)
	$(VENV)/bin/python scripts/generate-chart-schema.py

kind-up: ## kind cluster of deploy/kind/kind-config.yaml with a freshly built keyport image loaded (needs Docker/Podman + kind)
	$(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' || $(KIND) create cluster --name $(KIND_CLUSTER) --config deploy/kind/kind-config.yaml
	$(MAKE) load-kind CONTAINER_ENGINE=$(KIND_ENGINE)

deploy: ## helm upgrade --install keyport (deploy/kind/values.yaml) into the current context, then helm test
	$(HELM) upgrade --install keyport charts/keyport --namespace keyport --create-namespace \
		-f deploy/kind/values.yaml --wait --timeout 5m
	$(HELM) test keyport --namespace keyport
	@echo "keyport: http://localhost:1123  Prometheus: http://localhost:9090  Alertmanager: http://localhost:9093 (kind)"

kind-down: ## Delete the kind cluster
	$(KIND) delete cluster --name $(KIND_CLUSTER)

# --- alerting: rules, Alertmanager config, runbooks (charts/keyport/files/*.yaml -> deploy/) ---
.PHONY: rules rules-test alerts-live monitoring-live dashboard docs

rules: venv ## Re-render deploy/prometheus/ (rules, prometheus.yml, prometheus-tls.yml) and deploy/alertmanager/alertmanager.yml from the chart's files/
	$(VENV)/bin/python scripts/render-alerting.py

docs: build ## Re-generate README.md's flag table and the chart's files/server-env.yaml from the flags' declarations (scripts/generate-flag-table.py)
	KEYPORT_BIN=$(BIN_DIR)/keyport $(PYTHON) scripts/generate-flag-table.py

dashboard: venv ## Re-generate the Grafana dashboard charts/keyport/files/dashboards/keyport.json (scripts/generate-dashboard.py)
	$(VENV)/bin/python scripts/generate-dashboard.py

rules-test: venv ## promtool check/test rules, amtool check-config, values tuning and schema (ops-tests/test_rules.py)
	$(VENV)/bin/python -m pytest -q ops-tests/test_rules.py

alerts-live: venv ## Live fault -> Prometheus -> Alertmanager -> webhook test against $(KEYPORT_BIN), printing the latencies
	$(VENV)/bin/python -m pytest -q -s ops-tests/test_alerts_live.py

monitoring-live: venv ## The chart's Prometheus/Alertmanager config live: reload in place, pipeline alerts, a quiet default (~2.5 min)
	$(VENV)/bin/python -m pytest -q -s ops-tests/test_monitoring_live.py

# --- high availability: 3 instances behind HAProxy (deploy/haproxy/haproxy.cfg) under load ---
.PHONY: ha-test
ha-test: venv ## Rolling replacement, kill -9, SIGSTOP and bad ports data behind a real HAProxy + Prometheus; prints requests, failures, gaps, alerts
	$(VENV)/bin/python -m pytest -q -s ops-tests/test_ha.py

# --- HTTP throughput against the Go reference, allocations per request (Benchmarks/http) ------------
.PHONY: bench
bench: ## BENCH_ROUNDS (3) x BENCH_SECONDS (5): release build vs ../shared/perf's Go server side by side (key, ports, both loops, idle RSS), then allocations per request
	Benchmarks/http/run.sh $(or $(BENCH_ROUNDS),3) $(or $(BENCH_SECONDS),5)

# --- Ports parser (KeyportPorts): benchmark and fuzzing -------------------------------------------
.PHONY: bench-ports fuzz-ports
bench-ports: ## Load a generated ports file (RECORDS, default 1M; RUNS, default 3): keyport's parser vs Go encoding/json (time, MB/s, peak RSS)
	Benchmarks/ports/run.sh $(or $(RECORDS),1000000) $(or $(RUNS),3)

.PHONY: bench-ports-sizing
bench-ports-sizing: ## Pod sizing: release keyport loads and reloads generated 100k/1M/3M-record files (SIZING_RECORDS): file MB, load s, MB/s, steady RSS, reload peak, peak per record
	swift build -c release --product keyport
	Benchmarks/ports/sizing.py .build/release/keyport $(SIZING_RECORDS)

fuzz-ports: ## libFuzzer run of the ports parser for $(FUZZ_SECONDS) seconds (default 60)
	Fuzz/ports/run.sh $(or $(FUZZ_SECONDS),60)

# --- hardening: OpenAPI + schemathesis, hostile input, slow clients, shutdown, fuzzing, load (docs/hardening.md) ---
.PHONY: load-test hardening fuzz-long
URL ?= http://127.0.0.1:1123
ADMIN_URL ?= http://127.0.0.1:9123
USERS ?= 50
SPAWN_RATE ?= 10
DURATION ?= 60s
MAX_SIZE ?= 1024
HARDENING_BIN ?= $(RELEASE_BIN_DIR)/keyport

load-test: venv ## locust's mix (keys, look-ups, listings, ~8% bad requests) against URL=$(URL), USERS, SPAWN_RATE, DURATION, MAX_SIZE (the server's --max-size)
	KEYPORT_LOAD_MAX_SIZE=$(MAX_SIZE) KEYPORT_LOAD_ADMIN_URL=$(ADMIN_URL) $(VENV)/bin/locust -f ops-tests/load/locustfile.py --headless -H $(URL) \
		-u $(USERS) -r $(SPAWN_RATE) -t $(DURATION) --only-summary

hardening: venv ## Long runs on a release build (needs wrk): 500-connection slowloris, 2,000 keep-alive connections, shutdown under wrk, 3-minute soak with reloads, 1M-record reload peak
	$(if $(filter $(RELEASE_BIN_DIR)/keyport,$(HARDENING_BIN)),$(SWIFT) build -c release --product keyport)
	KEYPORT_HARDENING_LONG=1 KEYPORT_BIN=$(HARDENING_BIN) $(VENV)/bin/python -m pytest -q -s ops-tests/test_hardening.py -k long

fuzz-long: ## libFuzzer run of the ports parser for FUZZ_LONG_SECONDS (default 1800; crashes land in FUZZ_OUT, default /tmp/keyport-fuzz)
	Fuzz/ports/run.sh $(or $(FUZZ_LONG_SECONDS),1800)
