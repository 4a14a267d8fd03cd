// Package kustomize edits a kustomization's images list the way
// `kustomize edit set image name=newName:newTag@digest` does, on the YAML
// tree (kyaml) so comments, key order and the rest of the file survive.
package kustomize

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Image is the desired images entry of a kustomization.
type Image struct {
	// Name is images[].name: the image name as the manifests spell it.
	Name string
	// NewName replaces the name; empty or equal to Name keeps it.
	NewName string
	// NewTag replaces the tag; empty removes newTag.
	NewTag string
	// Digest pins the image; empty removes digest.
	Digest string
}

// String renders the image as kustomize renders the container image:
// newName:newTag@digest.
func (i Image) String() string {
	s := i.Name
	if i.NewName != "" {
		s = i.NewName
	}
	if i.NewTag != "" {
		s += ":" + i.NewTag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// FileNames are the file names kustomize recognises as a kustomization, in
// the order it looks for them.
func FileNames() []string { return konfig.RecognizedKustomizationFileNames() }

// SetImage returns the kustomization with the images entry named img.Name
// set to img, creating the entry (and the images list) if needed. When the
// entry already says so, SetImage returns data unchanged and changed=false,
// so callers never commit a reformatted but equivalent file.
func SetImage(data []byte, img Image) (out []byte, changed bool, err error) {
	if img.Name == "" {
		return nil, false, fmt.Errorf("image name is empty")
	}
	want := types.Image{Name: img.Name, NewTag: img.NewTag, Digest: img.Digest}
	if img.NewName != img.Name {
		want.NewName = img.NewName
	}

	current, err := images(data)
	if err != nil {
		return nil, false, err
	}
	for _, im := range current {
		if im.Name == img.Name && im.NewName == want.NewName && im.NewTag == want.NewTag && im.Digest == want.Digest && im.TagSuffix == "" {
			return data, false, nil
		}
	}

	root, err := yaml.Parse(string(data))
	if err != nil {
		return nil, false, fmt.Errorf("parse kustomization: %w", err)
	}
	list, err := root.Pipe(yaml.LookupCreate(yaml.SequenceNode, "images"))
	if err != nil {
		return nil, false, fmt.Errorf("find images list: %w", err)
	}
	entry, err := list.Pipe(yaml.ElementMatcher{
		Keys:   []string{"name"},
		Values: []string{img.Name},
		Create: yaml.NewMapRNode(&map[string]string{"name": img.Name}),
	})
	if err != nil {
		return nil, false, fmt.Errorf("find images entry %q: %w", img.Name, err)
	}
	// Field order of a new entry follows kustomize's: name, newName, newTag,
	// digest. tagSuffix cannot be combined with a digest, and a tag we chose
	// replaces any suffix scheme, so it goes.
	for _, f := range []struct{ name, value string }{
		{"newName", want.NewName},
		{"newTag", want.NewTag},
		{"digest", want.Digest},
		{"tagSuffix", ""},
	} {
		if f.value == "" {
			if _, err := entry.Pipe(yaml.Clear(f.name)); err != nil {
				return nil, false, fmt.Errorf("clear %s of images entry %q: %w", f.name, img.Name, err)
			}
			continue
		}
		// NewStringRNode tags the value !!str, so a tag like 1.10 is
		// written quoted and not read back as the float 1.1.
		if err := entry.PipeE(yaml.SetField(f.name, yaml.NewStringRNode(f.value))); err != nil {
			return nil, false, fmt.Errorf("set %s of images entry %q: %w", f.name, img.Name, err)
		}
	}

	out, err = yaml.MarshalWithOptions(root.Document(), &yaml.EncoderOptions{
		SeqIndent: yaml.SequenceIndentStyle(yaml.DeriveSeqIndentStyle(string(data))),
	})
	if err != nil {
		return nil, false, fmt.Errorf("encode kustomization: %w", err)
	}

	// Read the result back the way kustomize will, so a YAML subtlety can
	// never make us commit something kustomize reads differently.
	got, err := images(out)
	if err != nil {
		return nil, false, fmt.Errorf("re-read edited kustomization: %w", err)
	}
	found := false
	for _, im := range got {
		if im.Name == img.Name {
			if im != want {
				return nil, false, fmt.Errorf("edited kustomization reads back images entry %+v, want %+v", im, want)
			}
			found = true
		}
	}
	if !found {
		return nil, false, fmt.Errorf("edited kustomization has no images entry %q", img.Name)
	}
	return out, !bytes.Equal(out, data), nil
}

// images decodes the images list with kustomize's own types.
func images(data []byte) ([]types.Image, error) {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("decode kustomization: %w", err)
	}
	return k.Images, nil
}
