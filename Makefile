# smexec — run `make help` for the targets.
GO      ?= go
VENV    := .venv
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/smexec
# moto_server from PATH, else the virtualenv `make moto` installs into.
MOTO    := $(or $(shell command -v moto_server 2>/dev/null),$(abspath $(VENV)/bin/moto_server))
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all help test build demo bench lint moto clean

all: test

help:
	@echo "make test    run every test (unit, fuzz seeds, end to end against moto_server) with -race"
	@echo "make demo    start moto_server on loopback, seed examples/demo, run smexec and a child"
	@echo "make build   static, stripped binary at $(BIN)"
	@echo "make bench   start-up benchmark (see docs/performance.md)"
	@echo "make lint    go vet"

# moto_server is the local Secrets Manager the end-to-end tests and the demo
# talk to. Machines without it get moto[server] in a local virtualenv.
moto:
	@if [ ! -x "$(MOTO)" ]; then \
		echo "moto_server not found: installing moto[server] into $(VENV) with pip"; \
		python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet 'moto[server]'; \
	fi

test: moto
	MOTO_SERVER=$(MOTO) $(GO) test -race -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

demo: build moto
	MOTO_SERVER=$(MOTO) SMEXEC=$(BIN) sh examples/demo/run.sh

# Start-up time, memory and requests for 1 to 200 secrets, the supervisor's
# cost and the redactor's speed; writes nothing, prints the tables
# docs/performance.md records.
bench: build moto
	MOTO_SERVER=$(MOTO) $(GO) run ./internal/startbench -bin $(BIN)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/mask

lint:
	$(GO) vet ./...

clean:
	rm -rf bin $(VENV)
