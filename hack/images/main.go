// Command images builds the container images of the controller and the image
// updater without a container daemon and pushes them to a registry:
//
//	go run ./hack/images -registry host:port [-version v1.2.3] [-release dist]
//
// Each image is an OCI index for linux/amd64 and linux/arm64. An image is
// two layers on no base image: the files a static Go binary needs
// (/etc/passwd and /etc/group naming the nonroot user 65532, the machine's
// CA certificates, /etc/nsswitch.conf, /tmp) and the binary itself, built
// with CGO_ENABLED=0 and the version stamped in. Every timestamp is
// SOURCE_DATE_EPOCH or the commit's time, so the same commit, version and
// CA bundle give the same digests.
//
// With -release DIR it also writes DIR/install.yaml and
// DIR/namespace-install.yaml: the repository's install files with each
// Deployment's containers naming the pushed images by digest; the kubectl
// plugin's archives DIR/kubectl-argo-rollouts-<os>-<arch>.tar.gz (.zip for
// Windows) with the same version stamped in; krew's plugin manifest
// DIR/argo-rollouts.yaml naming them under -download-url; and
// DIR/checksums.txt. -plugin-only writes the plugin's files alone, without
// a registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Source is the repository the images' source label names.
const Source = "https://github.com/switchyard-dev/switchyard"

// target is one image: a main package and the repository it is pushed to.
type target struct {
	// Repo is the repository under the registry.
	Repo string
	// Package is the main package, relative to the module root.
	Package string
	// Binary is the executable's name, at / in the image.
	Binary string
	// Title is the image's title label.
	Title string
	// Container is the name of the install files' containers that run it.
	Container string
}

func targets() []target {
	return []target{
		{Repo: "switchyard", Package: "./cmd/switchyard", Binary: "switchyard", Title: "Switchyard controller", Container: "controller"},
		{Repo: "switchyard-image-updater", Package: "./cmd/image-updater", Binary: "image-updater", Title: "Switchyard image updater", Container: "image-updater"},
	}
}

// meta is what is stamped into the images.
type meta struct {
	Version  string
	Revision string
	// Created is the time of every file and of the image configs.
	Created time.Time
	// TreeState is "clean", or "dirty" when the checkout has changes.
	TreeState string
}

func main() {
	var (
		registry, version, platforms, release, caFile string
		pluginPlatforms, downloadURL                  string
		insecure, pluginOnly                          bool
	)
	flag.StringVar(&registry, "registry", "", "registry host[:port] (and optional path) to push to (required)")
	flag.StringVar(&version, "version", "v0.0.0-dev", "version stamped into the binaries and labels, and the images' tag")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the image index")
	flag.StringVar(&release, "release", "", "also write install.yaml and namespace-install.yaml with the images pinned by digest into this directory")
	flag.StringVar(&caFile, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the images")
	flag.BoolVar(&insecure, "insecure", false, "allow a registry that serves plain HTTP")
	flag.StringVar(&pluginPlatforms, "plugin-platforms", PluginPlatforms, "comma-separated platforms of the kubectl plugin's release archives")
	flag.StringVar(&downloadURL, "download-url", "", "where the krew manifest says the archives are (default "+Source+"/releases/download/VERSION)")
	flag.BoolVar(&pluginOnly, "plugin-only", false, "with -release: write the kubectl plugin's archives, krew manifest and checksums only (no images, no registry)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if downloadURL == "" {
		downloadURL = Source + "/releases/download/" + version
	}
	var err error
	if pluginOnly {
		err = runPlugin(ctx, version, release, pluginPlatforms, downloadURL)
	} else {
		err = run(ctx, registry, version, platforms, release, caFile, insecure)
		if err == nil && release != "" {
			err = runPlugin(ctx, version, release, pluginPlatforms, downloadURL)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, registry, version, platformList, release, caFile string, insecure bool) error {
	if registry == "" {
		return errors.New("-registry is required (make images REGISTRY=host:port)")
	}
	if _, err := name.NewTag(registry+"/switchyard:"+version, name.StrictValidation); err != nil {
		return fmt.Errorf("-registry %q with -version %q do not make an image reference: %w", registry, version, err)
	}
	platforms, err := parsePlatforms(platformList)
	if err != nil {
		return err
	}
	m, err := gitMeta(ctx, ".", version)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("-ca-certificates: %w", err)
	}
	binDir, err := os.MkdirTemp("", "switchyard-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)
	fmt.Fprintf(os.Stderr, "building %s for %s\n", version, platformList)
	if err := buildBinaries(ctx, ".", binDir, m, platforms); err != nil {
		return err
	}
	indexes, err := buildIndexes(binDir, m, ca, platforms)
	if err != nil {
		return err
	}
	var nameOpts []name.Option
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	refs, err := push(ctx, registry, version, indexes, nameOpts,
		remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, t := range targets() {
		fmt.Println(refs[t.Repo])
	}
	if release == "" {
		return nil
	}
	if err := os.MkdirAll(release, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"install.yaml", "namespace-install.yaml"} {
		in, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out, err := render(in, version, refs)
		if err != nil {
			return fmt.Errorf("render %s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(release, f), out, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", filepath.Join(release, f))
	}
	return nil
}

// runPlugin writes the plugin's release files into release.
func runPlugin(ctx context.Context, version, release, platformList, downloadURL string) error {
	if release == "" {
		return errors.New("-plugin-only needs -release DIR")
	}
	var platforms []v1.Platform
	for _, s := range strings.Split(platformList, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-plugin-platforms %q: %w", s, err)
		}
		platforms = append(platforms, *p)
	}
	m, err := gitMeta(ctx, ".", version)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "building %s %s for %s\n", Plugin, version, platformList)
	if err := writePluginRelease(ctx, ".", release, m, platforms, downloadURL); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the plugin's archives, %s and %s into %s\n", KrewPluginName+".yaml", Checksums, release)
	return nil
}

func parsePlatforms(list string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range strings.Split(list, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-platforms %q: %w", s, err)
		}
		if p.OS != "linux" {
			return nil, fmt.Errorf("-platforms %q: only linux images are built", s)
		}
		out = append(out, *p)
	}
	return out, nil
}

// gitMeta reads the commit of dir, its time and whether the checkout has
// changes; SOURCE_DATE_EPOCH, when set, overrides the time.
func gitMeta(ctx context.Context, dir, version string) (meta, error) {
	out, err := gitOutput(ctx, dir, "log", "-1", "--format=%H %ct")
	if err != nil {
		return meta{}, err
	}
	rev, epoch, _ := strings.Cut(out, " ")
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		epoch = s
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return meta{}, fmt.Errorf("commit time or SOURCE_DATE_EPOCH %q: %w", epoch, err)
	}
	status, err := gitOutput(ctx, dir, "status", "--porcelain")
	if err != nil {
		return meta{}, err
	}
	state := "clean"
	if status != "" {
		state = "dirty"
	}
	return meta{Version: version, Revision: rev, Created: time.Unix(sec, 0).UTC(), TreeState: state}, nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildBinaries builds every target's binary for each platform into
// outDir/<os>_<arch>[_<variant>]/<binary>, from the module at root, with
// m's version and commit stamped in (Go's own VCS stamp is off: it is
// missing in a linked worktree, and the stamp should not depend on that).
func buildBinaries(ctx context.Context, root, outDir string, m meta, platforms []v1.Platform) error {
	var pkgs []string
	for _, t := range targets() {
		pkgs = append(pkgs, t.Package)
	}
	for _, p := range platforms {
		if err := goBuild(ctx, root, filepath.Join(outDir, platformDir(p)), m, p, pkgs...); err != nil {
			return err
		}
	}
	return nil
}

// goBuild builds the main packages pkgs for platform p into dir, static
// and with m's version, commit, time and tree state stamped in.
func goBuild(ctx context.Context, root, dir string, m meta, p v1.Platform, pkgs ...string) error {
	const pkg = "github.com/switchyard-dev/switchyard/internal/buildinfo"
	ldflags := strings.Join([]string{"-s", "-w",
		"-X", pkg + ".Version=" + m.Version,
		"-X", pkg + ".Commit=" + m.Revision,
		"-X", pkg + ".CommitDate=" + m.Created.Format(time.RFC3339),
		"-X", pkg + ".TreeState=" + m.TreeState,
	}, " ")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if p.Architecture == "arm" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", p, err, out)
	}
	return nil
}

func platformDir(p v1.Platform) string {
	s := p.OS + "_" + p.Architecture
	if p.Variant != "" {
		s += "_" + p.Variant
	}
	return s
}
