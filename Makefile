# Twill — build, test, lab, bench.  Run `make help` for the list.
SHELL := /bin/bash
.DEFAULT_GOAL := build

DOTNET      ?= dotnet
CONFIG      ?= Release
RID         ?= linux-x64
OUT         := $(CURDIR)/out
PUBLISH     := $(OUT)/publish
CNI_TYPES   := flannel bridge host-local portmap loopback
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

.PHONY: help build cli cni kubeapi image deps test test-unit test-root lab bench drills fuzz fuzz-deps clean

help:
	@echo "make build      build out/bin/twill, out/bin/twill-kube-apiserver and the CNI plugins in out/cni/ (Native AOT)"
	@echo "make image      build the container image localhost/twill:dev (deploy/Containerfile) on a Debian base made locally"
	@echo "make test       install test dependencies (apt), build, run every test"
	@echo "make test-unit  run only the tests that need no root, no namespaces and no built binary"
	@echo "make lab        build, start a 3-node lab with the seed's configuration, check it, tear it down"
	@echo "make fuzz       AFL++ on one parser for a while: make fuzz TARGET=netlink SECONDS=600 [MINIMISE=1] (fuzz/README.md)"
	@echo "make bench      run every benchmark bench/<name> (each an executable; QUICK=1 passes --quick)"
	@echo "make drills     failure drills on a lab, ending with a table (QUICK=1 seconds-long subset; ONLY=agent,drift,store; STORE_OUTAGE=60)"

build: cli cni kubeapi

cli:
	$(DOTNET) publish src/Twill.Cli -c $(CONFIG) -r $(RID) -o $(PUBLISH)/twill -p:DebugType=none --nologo -v q
	@mkdir -p $(OUT)/bin
	install -m 0755 $(PUBLISH)/twill/twill $(OUT)/bin/twill

# The API server stand-in (nodes, pods on etcd) that the Kubernetes store's tests and the lab run.
kubeapi:
	$(DOTNET) publish src/Twill.KubeApi -c $(CONFIG) -r $(RID) -o $(PUBLISH)/kubeapi -p:DebugType=none --nologo -v q
	@mkdir -p $(OUT)/bin
	install -m 0755 $(PUBLISH)/kubeapi/twill-kube-apiserver $(OUT)/bin/twill-kube-apiserver

# The CNI plugins are one multi-call binary installed under each CNI type name.
cni:
	@mkdir -p $(OUT)/cni
	@if [ -d src/Twill.Cni ]; then \
	  $(DOTNET) publish src/Twill.Cni -c $(CONFIG) -r $(RID) -o $(PUBLISH)/cni -p:DebugType=none --nologo -v q && \
	  install -m 0755 $(PUBLISH)/cni/twill-cni $(OUT)/cni/twill-cni && \
	  for t in $(CNI_TYPES); do ln -f $(OUT)/cni/twill-cni $(OUT)/cni/$$t; done; \
	else echo "cni: src/Twill.Cni not present yet; out/cni/ left empty"; fi

# The image deploy/twill.yml runs, from out/ and a Debian 12 base made here from Debian's packages
# (localhost/twill-base:bookworm, built once). The DaemonSet test (tests/Twill.Deploy.Tests) runs it.
image: build
	@CNI_TYPES="$(CNI_TYPES)" OUT="$(OUT)" bash build/image.sh

# Everything the tests use, on a fresh Debian 12 machine as root.
deps:
	@bash build/install-deps.sh

test: deps build image
	@bash build/run-tests.sh

test-unit:
	@bash build/run-tests.sh --filter "Category!=Root&Category!=Binary"

test-root: deps build image
	@bash build/run-tests.sh --filter "Category=Root|Category=Binary"

# Up, check, and down even when check fails, keeping check's exit status. KEEP=1 leaves the lab up.
lab: build
	@rc=0; $(OUT)/bin/twill lab up || rc=$$?; \
	if [ $$rc -eq 0 ]; then $(OUT)/bin/twill lab check || rc=$$?; fi; \
	if [ -n "$(KEEP)" ]; then echo "make lab: KEEP=1, the lab stays up (twill lab status | exec | down)"; \
	else $(OUT)/bin/twill lab down || true; fi; \
	exit $$rc

bench: build
	@set -e; for b in bench/*; do \
	  [ -f "$$b" ] && [ -x "$$b" ] || continue; echo "== $$b"; "$$b" $(if $(QUICK),--quick,); done

# Failure drills on a lab cluster (docs/drills.md): agents killed, kernel state deleted by hand, etcd
# stopped; ends with the table drill / target / measured / pass and fails when a drill did.
drills: build
	@$(DOTNET) build tests/Twill.Drills -c $(CONFIG) --nologo -v q -clp:ErrorsOnly
	@$(DOTNET) tests/Twill.Drills/bin/$(CONFIG)/net10.0/Twill.Drills.dll $(if $(QUICK),--quick,) \
	  $(if $(ONLY),--only $(ONLY),) $(if $(STORE_OUTAGE),--store-outage $(STORE_OUTAGE),)

# Fuzzing is not part of make test: its prerequisites are installed here, not by build/install-deps.sh.
fuzz-deps:
	@command -v afl-fuzz >/dev/null || { apt-get update -qq && apt-get install -y -qq afl++; }
	@cd fuzz && $(DOTNET) tool restore >/dev/null

TARGET  ?=
SECONDS ?= 60
fuzz: fuzz-deps
	@if [ -z "$(TARGET)" ]; then echo "make fuzz TARGET=<one of: $$(echo $$($(DOTNET) build fuzz/Twill.Fuzz -c Release -v q --nologo >/dev/null && $(DOTNET) fuzz/Twill.Fuzz/bin/Release/net10.0/Twill.Fuzz.dll list))> SECONDS=n"; exit 2; fi
	@MINIMISE=$(MINIMISE) bash fuzz/run.sh $(TARGET) $(SECONDS)

clean:
	rm -rf $(OUT)
	find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
