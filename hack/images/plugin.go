package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"
)

// Plugin is the kubectl plugin's binary and its name in krew's index
// (`kubectl krew install argo-rollouts`, as Argo Rollouts' plugin is named).
const (
	Plugin         = "kubectl-argo-rollouts"
	KrewPluginName = "argo-rollouts"
)

// PluginPlatforms are the platforms the plugin is released for.
const PluginPlatforms = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64"

// Checksums is the release's list of SHA-256 sums, in sha256sum's format.
const Checksums = "checksums.txt"

// pluginArchive is one platform's release archive.
type pluginArchive struct {
	Platform v1.Platform
	// Name is the file's name in the release directory.
	Name string
	// Binary is the executable's name inside the archive.
	Binary string
	SHA256 string
}

// archiveName is kubectl-argo-rollouts-<os>-<arch>.tar.gz, or .zip for
// Windows.
func archiveName(p v1.Platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s-%s-%s%s", Plugin, p.OS, p.Architecture, ext)
}

// releasePlugin builds the plugin for each platform, stamped with m, and
// writes one archive per platform into dir. Archives are reproducible:
// every entry is dated m.Created.
func releasePlugin(ctx context.Context, root, dir string, m meta, platforms []v1.Platform) ([]pluginArchive, error) {
	binDir, err := os.MkdirTemp("", "switchyard-plugin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []pluginArchive
	for _, p := range platforms {
		pdir := filepath.Join(binDir, platformDir(p))
		if err := goBuild(ctx, root, pdir, m, p, "./cmd/"+Plugin); err != nil {
			return nil, err
		}
		a := pluginArchive{Platform: p, Name: archiveName(p), Binary: Plugin}
		if p.OS == "windows" {
			a.Binary += ".exe"
		}
		bin, err := os.ReadFile(filepath.Join(pdir, a.Binary))
		if err != nil {
			return nil, err
		}
		var data []byte
		if p.OS == "windows" {
			data, err = zipArchive(a.Binary, bin, m)
		} else {
			data, err = tarGzArchive(a.Binary, bin, m)
		}
		if err != nil {
			return nil, fmt.Errorf("archive for %s: %w", p, err)
		}
		sum := sha256.Sum256(data)
		a.SHA256 = hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(dir, a.Name), data, 0o644); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func tarGzArchive(name string, bin []byte, m meta) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(bin)), ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func zipArchive(name string, bin []byte, m meta) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.Created}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// krewPlugin is krew's plugin manifest
// (krew.googlecontainertools.github.com/v1alpha2 Plugin), the fields a
// release sets.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec krewSpec `json:"spec"`
}

type krewSpec struct {
	Version          string         `json:"version"`
	Homepage         string         `json:"homepage"`
	ShortDescription string         `json:"shortDescription"`
	Description      string         `json:"description"`
	Platforms        []krewPlatform `json:"platforms"`
}

type krewPlatform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string     `json:"uri"`
	SHA256 string     `json:"sha256"`
	Files  []krewFile `json:"files"`
	Bin    string     `json:"bin"`
}

type krewFile struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// krewManifest returns the krew manifest for the archives, each downloaded
// from downloadURL/<archive name>.
func krewManifest(version, downloadURL string, archives []pluginArchive) ([]byte, error) {
	var p krewPlugin
	p.APIVersion = "krew.googlecontainertools.github.com/v1alpha2"
	p.Kind = "Plugin"
	p.Metadata.Name = KrewPluginName
	p.Spec = krewSpec{
		Version:          version,
		Homepage:         Source,
		ShortDescription: "Manage Argo Rollouts progressive delivery (Switchyard's plugin)",
		Description: "The kubectl plugin of Switchyard, a progressive-delivery controller that serves\n" +
			"the Argo Rollouts API: list, get, watch, promote, abort, retry, pause,\n" +
			"restart, undo, set image, lint and create Rollouts, and a dashboard.\n",
	}
	for _, a := range archives {
		kp := krewPlatform{
			URI:    strings.TrimSuffix(downloadURL, "/") + "/" + a.Name,
			SHA256: a.SHA256,
			Files:  []krewFile{{From: a.Binary, To: "."}},
			Bin:    a.Binary,
		}
		kp.Selector.MatchLabels = map[string]string{"os": a.Platform.OS, "arch": a.Platform.Architecture}
		p.Spec.Platforms = append(p.Spec.Platforms, kp)
	}
	return yaml.Marshal(p)
}

// writeChecksums writes dir/checksums.txt with the SHA-256 of every other
// file in dir, as `sha256sum -c` reads it.
func writeChecksums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == Checksums {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+e.Name())
	}
	sort.Strings(lines)
	return os.WriteFile(filepath.Join(dir, Checksums), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// writePluginRelease writes the plugin's archives for platforms, the krew
// manifest argo-rollouts.yaml naming them under downloadURL, and the
// release's checksums.txt into dir.
func writePluginRelease(ctx context.Context, root, dir string, m meta, platforms []v1.Platform, downloadURL string) error {
	archives, err := releasePlugin(ctx, root, dir, m, platforms)
	if err != nil {
		return err
	}
	manifest, err := krewManifest(m.Version, downloadURL, archives)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, KrewPluginName+".yaml"), manifest, 0o644); err != nil {
		return err
	}
	return writeChecksums(dir)
}
