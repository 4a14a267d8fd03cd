#!/usr/bin/env bash
# Regenerates deepcopy code and the Rollout CRD from api/. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

go tool controller-gen object paths=./api/...
# maxDescLen=0: the CRD embeds the PodTemplateSpec schema; without
# descriptions it stays far under client-side `kubectl apply`'s 256 KiB
# last-applied-configuration annotation limit.
# generateEmbeddedObjectMeta=true: keep spec.template.metadata.labels and
# annotations in the schema (otherwise the API server prunes them).
go tool controller-gen crd:maxDescLen=0,generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
# Let embedded pod/Job metadata keep unknown keys (e.g. creationTimestamp: null),
# as Argo Rollouts' CRD does; controller-gen markers cannot express this.
go run ./hack/crdpatch config/crd/bases/argoproj.io_rollouts.yaml \
  config/crd/bases/argoproj.io_analysistemplates.yaml \
  config/crd/bases/argoproj.io_clusteranalysistemplates.yaml \
  config/crd/bases/argoproj.io_analysisruns.yaml \
  config/crd/bases/argoproj.io_experiments.yaml
# RBAC from the +kubebuilder:rbac markers on the reconcilers.
go tool controller-gen rbac:roleName=switchyard paths=./internal/... output:rbac:artifacts:config=config/rbac
# The single-file installs, built from the kustomize bases.
go run ./hack/installyaml config/default install.yaml
go run ./hack/installyaml config/namespaced namespace-install.yaml
