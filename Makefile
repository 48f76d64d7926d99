# otelcol-linnix
#
#   make run    build the collector and run it with examples/default.yaml (as root)
#   make test   the whole test suite (installs its tools; run as root)
#   make generate   regenerate BPF bindings, mdatagen code and the distribution
#   make setcap     rebuild and grant the binary its capabilities (unprivileged use)
#   make package    .deb and .rpm packages under dist/

SHELL := /bin/bash
# sudo resets PATH to its secure_path, which leaves out /usr/local/go/bin,
# where Go's own tarball installs: look there before giving up, and put the
# toolchain found on PATH for the builder and go generate.
GO ?= $(firstword $(shell command -v go) $(wildcard /usr/local/go/bin/go /usr/lib/go/bin/go /snap/bin/go))
ifeq ($(GO),)
$(error Go 1.26 not found on PATH nor in /usr/local/go/bin: install it from https://go.dev/dl, or run `sudo env PATH="$$PATH" make ...`)
endif
export PATH := $(dir $(GO)):$(PATH)
BUILDER_VERSION := v0.165.0
GOBIN := $(shell $(GO) env GOPATH)/bin
BUILDER := $(GOBIN)/builder
DIST := cmd/otelcol-linnix
BIN := bin/otelcol-linnix
CLI := bin/linnix
CONFIG ?= examples/default.yaml
# The capabilities of unprivileged use (see README, Privileges).
CAPS := cap_bpf,cap_perfmon+ep
# prometheus: the scrape/remote-write tests and promtool; tmux: the TUI tests;
# libcap2-bin: setcap for the least-privilege tests.
APT_PACKAGES := clang llvm libbpf-dev bpftool prometheus-alertmanager prometheus tmux libcap2-bin gcc make perl
# The local inference engine of the LLM integration test (node-llama-cpp).
ENGINE_DIR := processor/incidentprocessor/internal/llm/testdata/server
# Files that `make generate` writes; check-generate compares them before and after.
GENERATED = bpf/process_*_bpfel.go bpf/process_*_bpfel.o \
	$$(find receiver processor exporter -type f \( -path '*/internal/metadata/*' -o -name 'generated_*_test.go' -o -name documentation.md \) 2>/dev/null) \
	$(DIST)/main.go $(DIST)/main_others.go $(DIST)/main_windows.go $(DIST)/components.go $(DIST)/go.mod $(DIST)/go.sum

.PHONY: all build run setcap test unit e2e deps generate check-generate fmt-check vmlinux distribution fuzz package clean

all: build

## build: compile the distribution into bin/otelcol-linnix and the CLI into bin/linnix
build:
	cd $(DIST) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o ../../$(BIN) .
	cd cmd/linnix && CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o ../../$(CLI) .

## run: build, then run the collector with $(CONFIG)
run: build
	$(BIN) --config $(CONFIG)

## setcap: build, then grant the capabilities again (a rebuild writes a new
## file, which drops them); run as root, then start bin/otelcol-linnix as any user
setcap: build
	setcap $(CAPS) $(BIN)
	getcap $(BIN)

## package: build, then .deb and .rpm packages of bin/otelcol-linnix and
## bin/linnix under dist/ (nfpm, config in packaging/nfpm.yaml); the version
## is builder-config.yaml's dist.version
package: build
	rm -rf dist && mkdir -p dist
	for p in deb rpm; do \
		VERSION=$$(awk '$$1 == "version:" {print $$2; exit}' builder-config.yaml) GOARCH=$$($(GO) env GOARCH) \
			$(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2 pkg --config packaging/nfpm.yaml --packager $$p --target dist/ || exit 1; \
	done
	ls -l dist

## test: tools, generated-code check, format, vet, unit + kernel tests, end-to-end tests
test: deps check-generate fmt-check
	$(GO) vet ./...
	cd $(DIST) && $(GO) vet ./...
	cd cmd/linnix && $(GO) vet ./...
	cd examples && $(GO) vet ./...
	$(MAKE) unit e2e

unit:
	$(GO) test -race -count=1 -timeout 30m ./...
	cd examples && $(GO) test -count=1 -timeout 20m ./...

e2e:
	cd $(DIST) && CGO_ENABLED=0 $(GO) test -count=1 -timeout 40m ./...
	cd cmd/linnix && CGO_ENABLED=0 $(GO) test -count=1 -timeout 20m ./...

## fuzz: run the decoder fuzzer for a while
fuzz:
	$(GO) test ./bpf -run '^$$' -fuzz FuzzDecode -fuzztime 60s

## deps: Debian packages for BPF code generation, the collector builder, and
## the LLM test engine's npm packages
deps:
	@missing=""; for c in clang llvm-strip bpftool prometheus-alertmanager prometheus promtool tmux setcap getcap gcc make perl; do command -v $$c >/dev/null || missing=1; done; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing=1; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)
	@[ -x $(BUILDER) ] && $(BUILDER) version 2>/dev/null | grep -q $(BUILDER_VERSION:v%=%) || \
		$(GO) install go.opentelemetry.io/collector/cmd/builder@$(BUILDER_VERSION)
	@[ -d $(ENGINE_DIR)/node_modules/node-llama-cpp ] || (cd $(ENGINE_DIR) && npm ci --omit=optional --no-audit --no-fund)

## generate: bpf2go, mdatagen and the builder's sources, all committed
generate: distribution
	$(GO) generate ./...

distribution:
	$(BUILDER) --config builder-config.yaml --skip-compilation
	gofmt -w $(DIST)/*.go

## check-generate: fail when committed generated code is stale
check-generate:
	@before=$$(sha256sum $(GENERATED)); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(sha256sum $(GENERATED)); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated code is stale; run 'make generate' and commit:"; \
		diff <(echo "$$before") <(echo "$$after"); exit 1; \
	fi

## fmt-check: fail on Go files gofmt would change (bpf2go output excepted)
fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfe[lb].go$$')); \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to rewrite: $$unformatted"; exit 1; fi

## vmlinux: refresh bpf/headers/vmlinux.h from this kernel's BTF (CO-RE makes
## the committed one work on other kernels; refresh only to use new types)
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/headers/vmlinux.h

clean:
	rm -rf bin
	rm -rf dist
