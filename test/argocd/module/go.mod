// This module only pins the Argo CD release whose Application CRD and
// built-in health checks (resource_customizations/*/health.lua) the tests
// read: package test/argocd runs `go mod download` here, which fetches the
// module's source into the module cache. Nothing builds against it, so
// Argo CD stays out of Switchyard's own go.mod. v3.5.7 is the newest
// release that Go 1.26 can download (v3.6 needs Go 1.27).
module github.com/switchyard-dev/switchyard/test/argocd/module

go 1.26.0

require github.com/argoproj/argo-cd/v3 v3.5.7
