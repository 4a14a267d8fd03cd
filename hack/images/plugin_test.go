package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/test/sidemodule"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// krewModule is krew v0.4.3, built from the side module hack/krew.
var krewModule = sidemodule.Module{
	Dir:      filepath.Join("hack", "krew"),
	Packages: []string{"sigs.k8s.io/krew/cmd/krew"},
	Outputs:  []string{"krew"},
	What:     "krew (about a minute the first time)",
}

// TestKrewInstall builds the plugin's release files for this machine's
// platform, installs the archive with krew itself (built from its Go
// module) from the krew manifest, and runs the installed plugin through
// kubectl (`kubectl argo-rollouts version`): it must report the version and commit stamped into the release.
func TestKrewInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and krew")
	}
	var log bytes.Buffer
	krewDir, err := sidemodule.Build(t.Context(), &log, krewModule)
	if err != nil {
		tools.Missing(t, "no krew to install with: %v\n%s", err, log.String())
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		tools.Missing(t, "kubectl is not installed: the test runs the installed plugin as `kubectl argo rollouts`")
	}

	const version = "v1.2.3-krewtest.1"
	const commit = "0123456789abcdef0123456789abcdef01234567"
	m := meta{Version: version, Revision: commit, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), TreeState: "clean"}
	host := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	dist := t.TempDir()
	if err := writePluginRelease(t.Context(), root, dist, m, []v1.Platform{host}, "https://example.invalid/download/"+version); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dist, archiveName(host))
	manifest := filepath.Join(dist, KrewPluginName+".yaml")

	// checksums.txt names every file of the release with its sum.
	sums, err := os.ReadFile(filepath.Join(dist, Checksums))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Base(archive), filepath.Base(manifest)} {
		if !strings.Contains(string(sums), "  "+f+"\n") {
			t.Errorf("%s does not list %s:\n%s", Checksums, f, sums)
		}
	}

	krewRoot := filepath.Join(t.TempDir(), "krew")
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KREW_NO_UPGRADE_CHECK=1", "HOME="+t.TempDir())
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(filepath.Join(krewDir, "krew"), "install", "--manifest="+manifest, "--archive="+archive)
	// krew keeps a receipt of what it installed (`krew list` reads them,
	// but wants an index this offline test has no use for).
	receipt, err := os.ReadFile(filepath.Join(krewRoot, "receipts", KrewPluginName+".yaml"))
	if err != nil {
		t.Fatalf("krew wrote no receipt for %s: %v", KrewPluginName, err)
	}
	if !strings.Contains(string(receipt), "version: "+version) {
		t.Errorf("krew's receipt does not name %s:\n%s", version, receipt)
	}

	// As a user runs it: krew's bin directory on PATH, through kubectl.
	// krew links the plugin as kubectl-argo_rollouts, which kubectl runs
	// for `kubectl argo-rollouts`.
	env = append(env, "PATH="+filepath.Join(krewRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	out := run(kubectl, "argo-rollouts", "version")
	for _, want := range []string{
		"kubectl-argo-rollouts: " + version + "+" + commit[:7] + "\n",
		"GitCommit: " + commit + "\n",
		"GitTreeState: clean\n",
		"Platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl argo-rollouts version lacks %q:\n%s", want, out)
		}
	}
}

// TestKrewManifest checks the manifest for every released platform: one
// entry per archive with krew's selector labels, its sum and binary.
func TestKrewManifest(t *testing.T) {
	var archives []pluginArchive
	for _, s := range strings.Split(PluginPlatforms, ",") {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		a := pluginArchive{Platform: *p, Name: archiveName(*p), Binary: Plugin, SHA256: strings.Repeat("ab", 32)}
		if p.OS == "windows" {
			a.Binary += ".exe"
		}
		archives = append(archives, a)
	}
	data, err := krewManifest("v1.0.0", "https://example.invalid/v1.0.0/", archives)
	if err != nil {
		t.Fatal(err)
	}
	var got krewPlugin
	if err := yaml.UnmarshalStrict(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Name != "argo-rollouts" || got.Kind != "Plugin" || got.Spec.Version != "v1.0.0" {
		t.Errorf("manifest header: %+v", got)
	}
	want := map[string]string{
		"linux/amd64":   "https://example.invalid/v1.0.0/kubectl-argo-rollouts-linux-amd64.tar.gz kubectl-argo-rollouts",
		"linux/arm64":   "https://example.invalid/v1.0.0/kubectl-argo-rollouts-linux-arm64.tar.gz kubectl-argo-rollouts",
		"darwin/amd64":  "https://example.invalid/v1.0.0/kubectl-argo-rollouts-darwin-amd64.tar.gz kubectl-argo-rollouts",
		"darwin/arm64":  "https://example.invalid/v1.0.0/kubectl-argo-rollouts-darwin-arm64.tar.gz kubectl-argo-rollouts",
		"windows/amd64": "https://example.invalid/v1.0.0/kubectl-argo-rollouts-windows-amd64.zip kubectl-argo-rollouts.exe",
	}
	if len(got.Spec.Platforms) != len(want) {
		t.Fatalf("%d platforms, want %d", len(got.Spec.Platforms), len(want))
	}
	for _, p := range got.Spec.Platforms {
		key := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		if w := want[key]; p.URI+" "+p.Bin != w {
			t.Errorf("%s: %s %s, want %s", key, p.URI, p.Bin, w)
		}
		if p.SHA256 != strings.Repeat("ab", 32) || len(p.Files) != 1 || p.Files[0].From != p.Bin {
			t.Errorf("%s: sha256 %s files %v", key, p.SHA256, p.Files)
		}
	}
}

// TestZipArchive checks the Windows archive holds the executable.
func TestZipArchive(t *testing.T) {
	data, err := zipArchive("kubectl-argo-rollouts.exe", []byte("MZ binary"), meta{Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "kubectl-argo-rollouts.exe" {
		t.Fatalf("zip entries: %v", zr.File)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "MZ binary" {
		t.Errorf("zip content %q", buf.String())
	}
}
