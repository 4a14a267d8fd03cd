# Switchyard: make help lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
LOCALCLUSTER := $(GO) run ./test/cluster/cmd/localcluster
KUBECONFIG_LOCAL := $(CURDIR)/.localcluster/kubeconfig
GOTEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: help
help: ## Show this help.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

##@ Development

.PHONY: generate
generate: ## Regenerate deepcopy code, CRDs, RBAC and install.yaml.
	bash hack/generate.sh

.PHONY: manifests
manifests: generate ## Alias of generate (kubebuilder's name).

.PHONY: verify-generate
verify-generate: generate ## Fail if generated files are stale.
	@git diff --exit-code -- api config charts install.yaml namespace-install.yaml || { echo "generated files are stale: run 'make generate' and commit"; exit 1; }

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# What make build stamps into the binaries (internal/buildinfo): the
# release, the commit, its time and whether the tree had changes.
VERSION ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT = $(shell git rev-parse HEAD 2>/dev/null)
COMMIT_DATE = $(shell git log -1 --format=%cI 2>/dev/null)
TREE_STATE = $(shell if [ -z "$$(git status --porcelain 2>/dev/null)" ]; then echo clean; else echo dirty; fi)
BUILDINFO := github.com/switchyard-dev/switchyard/internal/buildinfo
LDFLAGS = -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Commit=$(COMMIT) -X $(BUILDINFO).CommitDate=$(COMMIT_DATE) -X $(BUILDINFO).TreeState=$(TREE_STATE)

.PHONY: build
build: ## Build the controller, the image updater and the kubectl plugin into bin/, with the version and commit stamped in.
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

.PHONY: preflight
preflight: ## Say in a second which programs the tests need from PATH are missing (git, kubectl, chromium) and what that skips.
	@bash hack/preflight.sh

.PHONY: test
test: preflight ## Run every test: unit, integration and end-to-end (each package starts its own local cluster).
	$(GO) test $(GOTEST_FLAGS) ./...

.PHONY: test-unit
test-unit: ## Run the tests that need no cluster.
	$(GO) test -short ./...

.PHONY: chart-test
chart-test: ## Lint the Helm chart (helm lint --strict, Helm built from go.mod), render-test it and helm-install it into a local cluster.
	$(GO) tool helm lint --strict charts/switchyard
	$(GO) test -count=1 ./charts/...

.PHONY: test-e2e
test-e2e: ## Run the end-to-end tests only.
	$(GO) test $(GOTEST_FLAGS) ./test/e2e/...

##@ Images and releases

REGISTRY ?=
IMAGES_FLAGS ?=

.PHONY: images
images: ## Build the controller and image-updater images (linux/amd64+arm64, no Docker) and push them as REGISTRY/switchyard:VERSION and REGISTRY/switchyard-image-updater:VERSION.
	$(GO) run ./hack/images -registry "$(REGISTRY)" -version "$(VERSION)" $(IMAGES_FLAGS)

.PHONY: release
release: ## images, then into dist/: install.yaml and namespace-install.yaml naming the pushed images by digest, the kubectl plugin's archives (linux, darwin, windows), krew's argo-rollouts.yaml and checksums.txt.
	$(GO) run ./hack/images -registry "$(REGISTRY)" -version "$(VERSION)" -release dist $(IMAGES_FLAGS)

.PHONY: release-plugin
release-plugin: ## Only the kubectl plugin's part of release (no registry): archives, argo-rollouts.yaml and checksums.txt in dist/.
	$(GO) run ./hack/images -plugin-only -version "$(VERSION)" -release dist $(IMAGES_FLAGS)

##@ Local cluster

.PHONY: cluster-up
cluster-up: ## Build (once) and start the local cluster; kubeconfig at .localcluster/kubeconfig.
	$(LOCALCLUSTER) up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove its data.
	$(LOCALCLUSTER) down

##@ Sandbox

.PHONY: sandbox
sandbox: ## Bring up the seed's world: local cluster, Switchyard in default, a registry with backend:latest, the seed Rollouts, Prometheus and an analysed canary.
	$(GO) run ./hack/sandbox up

.PHONY: sandbox-push
sandbox-push: ## Push a new build under the same backend:latest tag.
	@$(GO) run ./hack/sandbox push

.PHONY: sandbox-bad-metric
sandbox-bad-metric: ## Make the sandbox's error ratio (Prometheus) fail backend-analysis's analysis.
	@$(GO) run ./hack/sandbox metric bad

.PHONY: sandbox-good-metric
sandbox-good-metric: ## Make it pass again.
	@$(GO) run ./hack/sandbox metric good

.PHONY: sandbox-down
sandbox-down: ## Stop everything the sandbox started.
	$(GO) run ./hack/sandbox down

.PHONY: run
run: ## Run the controller locally against $$KUBECONFIG.
	$(GO) run ./cmd/switchyard --leader-elect=false

.PHONY: install
install: ## Apply the CRDs to the cluster of $$KUBECONFIG.
	kubectl apply -k config/crd

##@ Benchmark and chaos

BENCH_N ?= 100
BENCH_FLAGS ?=

CHAOS_FLAGS ?=

.PHONY: chaos
chaos: ## Chaos run on a local cluster: 100 updates under controller SIGKILLs, leader failovers, kube-apiserver restarts; table on stdout, JSON in chaos-results/, non-zero exit on a violation.
	$(GO) run ./test/chaos -out chaos-results $(CHAOS_FLAGS)

.PHONY: chaos-short
chaos-short: ## The short chaos run CI does (TestChaosShort under make test): each fault kind over 7 updates.
	$(GO) run ./test/chaos -short -out chaos-results $(CHAOS_FLAGS)

.PHONY: bench
bench: ## Benchmark the controller on a local cluster with BENCH_N Rollouts (100; BENCH_N=1000 for the large fleet): table on stdout, JSON in bench-results/.
	$(GO) run ./test/bench -n $(BENCH_N) -out bench-results $(BENCH_FLAGS)

.PHONY: bench-reference
bench-reference: ## The same benchmark against the reference controller (Argo Rollouts, built from its Go module in hack/reference) on a fresh local cluster; JSON in bench-results/reference/.
	hack/bench-reference.sh -n $(BENCH_N) $(BENCH_FLAGS)
