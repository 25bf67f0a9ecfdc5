# smexec — run `make help` for the targets.
GO      ?= go
VENV    := .venv
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/smexec
# moto_server from PATH, else the virtualenv `make moto` installs into.
MOTO    := $(or $(shell command -v moto_server 2>/dev/null),$(abspath $(VENV)/bin/moto_server))
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all help test build demo bench bench-peers lint moto dotenv-readers clean fuzz stress vuln

all: test

help:
	@echo "make test    run every test (unit, fuzz seeds, end to end against moto_server) with -race"
	@echo "make demo    start moto_server on loopback, seed examples/demo, run smexec and a child"
	@echo "make build   static, stripped binary at $(BIN)"
	@echo "make bench   start-up benchmark (see docs/performance.md)"
	@echo "make bench-peers  smexec, chamber and vals interleaved, plain and TLS (tools pinned, installed into bin/tools)"
	@echo "make lint    go vet, staticcheck and govulncheck (tools pinned, installed into bin/tools)"
	@echo "make fuzz    run every fuzz target for FUZZTIME each (default $(FUZZTIME))"
	@echo "make stress  200 smexec processes at once against a rate-limited proxy (see docs/performance.md)"

# moto_server is the local Secrets Manager the end-to-end tests and the demo
# talk to. Machines without it get moto[server] in a local virtualenv.
moto:
	@if [ ! -x "$(MOTO)" ]; then \
		echo "moto_server not found: installing moto[server] into $(VENV) with pip"; \
		python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet 'moto[server]'; \
	fi

# export's dotenv output is tested against the real readers: python-dotenv
# (python3's own where it has it, else installed into $(VENV) with pip) and
# Node's dotenv (installed into .node with npm where missing).
DOTENV_PYTHON := $(shell python3 -c 'import dotenv' 2>/dev/null && echo python3 || echo $(abspath $(VENV)/bin/python3))
NODE_MODULES  := $(abspath .node/node_modules)
NODE_DOTENV   := 17.4.2

dotenv-readers:
	@if ! $(DOTENV_PYTHON) -c 'import dotenv' 2>/dev/null; then \
		echo "python-dotenv not found: installing it into $(VENV) with pip"; \
		python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet python-dotenv; \
	fi
	@if [ ! -f $(NODE_MODULES)/dotenv/package.json ]; then \
		echo "Node's dotenv not found: installing dotenv@$(NODE_DOTENV) into .node with npm"; \
		npm install --silent --no-audit --no-fund --prefix .node dotenv@$(NODE_DOTENV); \
	fi

test: moto dotenv-readers
	MOTO_SERVER=$(MOTO) DOTENV_PYTHON=$(DOTENV_PYTHON) DOTENV_NODE_MODULES=$(NODE_MODULES) $(GO) test -race -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

demo: build moto
	MOTO_SERVER=$(MOTO) SMEXEC=$(BIN) sh examples/demo/run.sh

# Start-up time, memory and requests for 1 to 200 secrets, the supervisor's
# cost and the redactor's speed and memory per value size; writes nothing,
# prints the tables docs/performance.md records.
bench: build moto
	MOTO_SERVER=$(MOTO) $(GO) run ./internal/testenv/startbench -bin $(BIN)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/mask

# smexec against its peers, interleaved run by run over the same cells,
# plain and over TLS (see docs/performance.md). The peers are pinned
# releases built into bin/tools: vals with go install; chamber from the
# module in internal/testenv/startbench/peers/chamber (the module proxy refuses
# chamber's version list, which go install asks for, and every v3
# release; v2.14.1 is the newest release tried that it serves). Both only ever talk to the
# loopback endpoint the benchmark gives them. Built static and stripped,
# as smexec is.
CHAMBER_VERSION := v2.14.1
VALS_VERSION    := v0.46.1
CHAMBER := $(abspath bin/tools)/chamber-$(CHAMBER_VERSION)/chamber
VALS    := $(abspath bin/tools)/vals-$(VALS_VERSION)/vals
PEERS_N ?= 1,10,50
PEERS_K ?= 20

$(CHAMBER):
	cd internal/testenv/startbench/peers/chamber && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/segmentio/chamber/v2

$(VALS):
	CGO_ENABLED=0 GOBIN=$(dir $@) $(GO) install -trimpath -ldflags "-s -w" github.com/helmfile/vals/cmd/vals@$(VALS_VERSION)

bench-peers: build moto $(CHAMBER) $(VALS)
	MOTO_SERVER=$(MOTO) $(GO) run ./internal/testenv/startbench -bin $(BIN) -n $(PEERS_N) -k $(PEERS_K) -peers chamber=$(CHAMBER),vals=$(VALS)

# Static checks. The tools are installed at pinned versions into bin/tools,
# never into the user's GOPATH, each version in its own folder.
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
TOOLS       := $(abspath bin/tools)
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
GOVULNCHECK := $(TOOLS)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
# govulncheck reads the Go vulnerability database at VULNDB.
VULNDB      ?= https://vuln.go.dev

$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOVULNCHECK):
	GOBIN=$(dir $@) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# lint fails on any finding of vet, staticcheck or govulncheck. Where the
# vulnerability database cannot be reached (a machine without access to
# VULNDB), it says loudly that no vulnerability check ran and passes;
# `make vuln` fails there instead.
lint: $(STATICCHECK) $(GOVULNCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@out=$$($(GOVULNCHECK) -db $(VULNDB) ./... 2>&1); code=$$?; \
	if [ $$code -ne 0 ] && printf '%s' "$$out" | grep -q 'fetching vulnerabilities'; then \
		echo "lint: WARNING: govulncheck did not run: the vulnerability database $(VULNDB) cannot be reached from here"; \
		printf '%s\n' "$$out" | sed 's/^/lint:   /'; \
		echo "lint: no known-vulnerability check was made; run 'make vuln' where $(VULNDB) (or a mirror, VULNDB=...) is reachable"; \
	else \
		printf '%s\n' "$$out"; exit $$code; \
	fi

vuln: $(GOVULNCHECK)
	$(GOVULNCHECK) -db $(VULNDB) ./...

# Every fuzz target of every package, found with go test -list, for
# FUZZTIME each. Seeds: the f.Add calls and testdata/fuzz of each package,
# where go test also keeps any failing input it finds.
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg); \
		for target in $$(printf '%s\n' "$$list" | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# The thundering herd: 200 processes at once, each with 10 secrets,
# through a proxy that throttles past its limits. The two quota models run
# with smexec's defaults and must start every process: shared-limit (one
# limit for every operation, 5 s of the herd's batch calls) and
# fleet-model (per-operation limits in Secrets Manager's ratio, scaled to
# the demand of 10,000 tasks). The other variants measure --no-batch and
# the SDK's retry settings (see herdVariants in herd_test.go). make test
# runs 30 processes of batched, shared-limit, fleet-model and
# no-batch-attempts20.
STRESS_MODES ?= batched,batched-tight,shared-limit,fleet-model,no-batch-defaults,no-batch-sdk3,no-batch-adaptive,no-batch-attempts20,no-batch-adaptive20,shared-limit-sdk3,shared-limit-no-batch,fleet-model-sdk3,fleet-model-no-batch,fleet-model-adaptive20,fleet-model-no-batch-adaptive20
stress: moto
	MOTO_SERVER=$(MOTO) $(GO) test -count=1 -v -timeout 30m -run '^TestHerd$$' . -herd 200 -herd.modes $(STRESS_MODES)

clean:
	rm -rf bin $(VENV) .node
