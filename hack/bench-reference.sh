#!/usr/bin/env bash
# Runs the benchmark's workload against the reference controller, Argo
# Rollouts, on a fresh local cluster: the side-by-side comparison issue 17
# asks for. The reference is built from its Go module (hack/reference, a
# module of its own so its dependencies stay out of Switchyard's go.mod)
# into bin/; the bench measures it by PID, telling its requests apart in
# kube-apiserver's audit log by its user agent.
#
#   hack/bench-reference.sh [bench flags, e.g. -n 1000]
#
# Compare with `make bench` (the same workload against Switchyard); the
# bench's JSON goes to bench-results/reference/. The cluster is the one
# `make cluster-up` starts (.localcluster): one already running is
# replaced, and it is stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/bin/rollouts-controller"
out="$root/bench-results/reference"
mkdir -p "$out" "$root/bin"

echo "building the reference controller (hack/reference)" >&2
(cd hack/reference && go build -o "$bin" github.com/argoproj/argo-rollouts/cmd/rollouts-controller)

go run ./test/cluster/cmd/localcluster up -audit-log >/dev/null
kubeconfig=$(go run ./test/cluster/cmd/localcluster kubeconfig)
audit="$(cat .localcluster/current)/audit.log"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	go run ./test/cluster/cmd/localcluster down
}
trap cleanup EXIT

# The reference expects its CRDs served when it starts (the bench would
# install the same ones, Switchyard's, later).
kubectl --kubeconfig "$kubeconfig" apply --server-side -k config/crd >/dev/null
kubectl --kubeconfig "$kubeconfig" wait --for condition=established --timeout 60s crd --all >/dev/null
"$bin" --kubeconfig "$kubeconfig" --leader-elect=false --enable-pprof-address=127.0.0.1:6061 \
	--metricsPort 18090 --healthzPort 18080 >"$out/controller.log" 2>&1 &
pid=$!

go run ./test/bench -kubeconfig "$kubeconfig" -audit-log "$audit" \
	-controller-pid "$pid" -controller-user-agent rollouts-controller \
	-pprof -pprof-url http://127.0.0.1:6061 -skip-rig -settle-before-promote -out "$out" "$@"
