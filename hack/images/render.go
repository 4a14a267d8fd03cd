package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// render returns the install file in with every Deployment container that
// runs one of the targets naming that target's image by digest. Everything
// else is kept as it is; a Deployment container no target runs, or a
// target no container runs, is an error.
func render(in []byte, version string, refs map[string]name.Digest) ([]byte, error) {
	byContainer := map[string]target{}
	for _, t := range targets() {
		if _, ok := refs[t.Repo]; !ok {
			return nil, fmt.Errorf("no pushed image for %s", t.Repo)
		}
		byContainer[t.Container] = t
	}
	// The install file's own header says how it is generated: this one is not.
	for bytes.HasPrefix(in, []byte("#")) {
		_, in, _ = bytes.Cut(in, []byte("\n"))
	}
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(in), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, n := range nodes {
		if n.GetKind() != "Deployment" {
			continue
		}
		containers, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
		if err != nil {
			return nil, fmt.Errorf("deployment %s: %w", n.GetName(), err)
		}
		elements, err := containers.Elements()
		if err != nil {
			return nil, fmt.Errorf("deployment %s: spec.template.spec.containers: %w", n.GetName(), err)
		}
		for _, c := range elements {
			var cname string
			if v, err := c.Pipe(yaml.Lookup("name")); err == nil && v != nil {
				cname = yaml.GetValue(v)
			}
			t, ok := byContainer[cname]
			if !ok {
				return nil, fmt.Errorf("deployment %s: container %q runs none of the images built (containers %s)",
					n.GetName(), cname, strings.Join(sortedKeys(byContainer), ", "))
			}
			if err := c.PipeE(yaml.SetField("image", yaml.NewScalarRNode(refs[t.Repo].String()))); err != nil {
				return nil, fmt.Errorf("deployment %s: container %s: %w", n.GetName(), cname, err)
			}
			used[t.Repo] = true
		}
	}
	for _, t := range targets() {
		if !used[t.Repo] {
			return nil, fmt.Errorf("no Deployment has a container %q to run %s", t.Container, t.Repo)
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Switchyard %s, rendered by 'make release' from the repository's install file: images pinned by digest.\n", version)
	if err := (kio.ByteWriter{Writer: &out}).Write(nodes); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
