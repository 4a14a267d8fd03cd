// Package argocdsource reads and writes Argo CD's parameter override file,
// .argocd-source-<app>.yaml, which Argo CD merges into the Application's
// source when it renders it from git. The format is argocd-image-updater's:
// 2-space indent, list items not indented under their key, and the keys
// kustomize.images, helm.parameters (name, value, forcestring) and
// plugin.env. Pure functions, table-tested.
package argocdsource

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v2"

	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
)

// File is the content of an override file. Keys the image updater does
// not know are dropped when the file is rewritten, as argocd-image-updater
// drops them.
type File struct {
	Helm      *Helm      `yaml:"helm,omitempty"`
	Kustomize *Kustomize `yaml:"kustomize,omitempty"`
	Plugin    *Plugin    `yaml:"plugin,omitempty"`
}

// Kustomize holds kustomize images overrides ("[name=]ref").
type Kustomize struct {
	Images []string `yaml:"images"`
}

// Helm holds Helm parameter overrides.
type Helm struct {
	Parameters []Parameter `yaml:"parameters"`
}

// Parameter is a Helm parameter; the lowercase forcestring key is the
// format's.
type Parameter struct {
	Name        string `yaml:"name"`
	Value       string `yaml:"value"`
	ForceString bool   `yaml:"forcestring"`
}

// Plugin holds config management plugin environment overrides.
type Plugin struct {
	Env []EnvEntry `yaml:"env"`
}

// EnvEntry is a plugin environment variable.
type EnvEntry struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Parse reads an override file; empty data is an empty file.
func Parse(data []byte) (File, error) {
	var f File
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return File{}, fmt.Errorf("parse override file: %w", err)
	}
	return f, nil
}

// Marshal writes f in the format's layout.
func Marshal(f File) ([]byte, error) {
	return yaml.Marshal(f)
}

// SetKustomizeImages merges images into the file's kustomize.images
// (replacing the entry for the same image) and returns the new content
// and, per image, whether it changed. Unchanged content is returned as is.
func SetKustomizeImages(current []byte, images []argocd.Image) (out []byte, changed []bool, err error) {
	f, err := Parse(current)
	if err != nil {
		return nil, nil, err
	}
	if f.Kustomize == nil {
		f.Kustomize = &Kustomize{}
	}
	f.Kustomize.Images, changed = argocd.MergeImages(f.Kustomize.Images, images)
	return finish(current, f, changed)
}

// SetHelmParameters merges the images' Helm parameters into the file's
// helm.parameters, sorted by name.
func SetHelmParameters(current []byte, images []argocd.Image) (out []byte, changed []bool, err error) {
	f, err := Parse(current)
	if err != nil {
		return nil, nil, err
	}
	if f.Helm == nil {
		f.Helm = &Helm{}
	}
	changed = make([]bool, len(images))
	for i, img := range images {
		for _, p := range img.HelmParameters() {
			j := slices.IndexFunc(f.Helm.Parameters, func(e Parameter) bool { return e.Name == p.Name })
			want := Parameter{Name: p.Name, Value: p.Value, ForceString: p.ForceString}
			switch {
			case j < 0:
				f.Helm.Parameters = append(f.Helm.Parameters, want)
				changed[i] = true
			case f.Helm.Parameters[j] != want:
				f.Helm.Parameters[j] = want
				changed[i] = true
			}
		}
	}
	slices.SortStableFunc(f.Helm.Parameters, func(a, b Parameter) int { return cmp.Compare(a.Name, b.Name) })
	return finish(current, f, changed)
}

func finish(current []byte, f File, changed []bool) ([]byte, []bool, error) {
	if !slices.Contains(changed, true) && len(current) > 0 {
		return current, changed, nil
	}
	out, err := Marshal(f)
	if err != nil {
		return nil, nil, fmt.Errorf("write override file: %w", err)
	}
	return out, changed, nil
}
