#!/usr/bin/env bash
# make test's first step: in a second, say which programs the tests run from
# PATH are missing, what that skips, and how to install them. Everything
# else the tests run (Kubernetes, the registry, Prometheus, krew) they build
# from Go modules. With SWITCHYARD_REQUIRE_TOOLS set (CI), a missing program
# fails here rather than as a failed test later.
set -uo pipefail

missing=0
need() { # need "what is missing" "what it skips" "how to install it"
  echo "preflight: missing $1: $2 will be skipped (install: $3)" >&2
  missing=$((missing + 1))
}

command -v go >/dev/null || need "go" "everything" "go.dev/doc/install"
if ! command -v git >/dev/null; then
  need "git" "the image updater's git write-back tests and the bare-machine test" "apt-get install -y git"
elif [ ! -x "$(git --exec-path)/git-http-backend" ]; then
  need "git-http-backend" "the image updater's git write-back tests" "apt-get install -y git"
fi
command -v kubectl >/dev/null || need "kubectl" "the README walkthrough, bare-machine and krew tests" "kubernetes.io/docs/tasks/tools"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  need "chromium" "the dashboard's browser tests (internal/plugin/dashboard)" "apt-get install -y chromium"
fi

if [ "$missing" -eq 0 ]; then
  echo "preflight: go, git, kubectl and chromium found; the rest is built from Go modules" >&2
else
  case "${SWITCHYARD_REQUIRE_TOOLS:-}" in
    ""|0|false) echo "preflight: $missing missing; the tests that need them skip (SWITCHYARD_REQUIRE_TOOLS=1 makes that a failure)" >&2 ;;
    *) echo "preflight: SWITCHYARD_REQUIRE_TOOLS is set: a missing program is a failure" >&2; exit 1 ;;
  esac
fi
exit 0
