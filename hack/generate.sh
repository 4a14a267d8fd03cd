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
# What controller-gen markers cannot express: embedded pod/Job metadata keeps
# unknown keys (e.g. creationTimestamp: null) as in Argo Rollouts' CRD,
# number-or-string quantities, unkeyed env lists, and the schema bounds the
# CEL validation rules need to fit kube-apiserver's cost budget.
go run ./hack/crdpatch config/crd/bases/argoproj.io_rollouts.yaml \
  config/crd/bases/argoproj.io_analysistemplates.yaml \
  config/crd/bases/argoproj.io_clusteranalysistemplates.yaml \
  config/crd/bases/argoproj.io_analysisruns.yaml \
  config/crd/bases/argoproj.io_experiments.yaml
# RBAC from the +kubebuilder:rbac markers, one ClusterRole per binary, each
# from the markers of the packages that binary links (go list -deps): a
# marker in a package the controller does not link grants it nothing.
module=$(go list -m)
packages_of() {
  go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$1" | grep "^${module}/" | paste -sd ';' -
}
go tool controller-gen rbac:roleName=switchyard,fileName=role.yaml \
  paths="$(packages_of ./cmd/switchyard)" output:rbac:artifacts:config=config/rbac
go tool controller-gen rbac:roleName=switchyard-image-updater,fileName=image_updater_role.yaml \
  paths="$(packages_of ./cmd/image-updater)" output:rbac:artifacts:config=config/rbac
# The single-file installs, built from the kustomize bases.
go run ./hack/installyaml config/default install.yaml
go run ./hack/installyaml config/namespaced namespace-install.yaml
# The Helm chart's generated parts: the CRDs (Helm applies crds/ before the
# templates) and the RBAC files its templates read the rules from.
chart=charts/switchyard
rm -f "$chart"/crds/*.yaml
cp config/crd/bases/*.yaml "$chart/crds/"
cp config/rbac/role.yaml config/rbac/image_updater_role.yaml "$chart/files/rbac/"
