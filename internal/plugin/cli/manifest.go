package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Document is one object of a (possibly multi-document) YAML or JSON file.
type Document struct {
	// Index counts documents from 1, skipping none, so messages can point
	// at "document 3" of a file.
	Index int
	// JSON is the document converted to JSON.
	JSON   []byte
	Object *unstructured.Unstructured
}

// IsRollout reports whether the document is an argoproj.io Rollout (any version).
func (d *Document) IsRollout() bool {
	gvk := d.Object.GroupVersionKind()
	return gvk.Group == v1alpha1.GroupVersion.Group && gvk.Kind == "Rollout"
}

// ReadDocuments reads the non-empty documents of path ("-" is stdin).
func ReadDocuments(path string, stdin io.Reader) ([]Document, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs []Document
	for index := 1; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read document %d: %w", path, index, err)
		}
		data, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 || bytes.Equal(data, []byte("null")) {
			continue // an empty document between two "---"
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		docs = append(docs, Document{Index: index, JSON: data, Object: obj})
	}
}

// StrictRollout decodes a Rollout document, rejecting unknown fields as
// Argo's plugin does: a misspelt field would otherwise be silently dropped.
func StrictRollout(doc Document) (*v1alpha1.Rollout, error) {
	ro := &v1alpha1.Rollout{}
	if err := yaml.UnmarshalStrict(doc.JSON, ro); err != nil {
		return nil, err
	}
	return ro, nil
}
