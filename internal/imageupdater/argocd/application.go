// Package argocd writes images to an Argo CD Application the way
// argocd-image-updater's "argocd" write-back method does: entries
// "[<kustomize image name>=]<repo>:<tag>@<digest>" in the source's
// kustomize.images, which Argo CD hands to `kustomize edit set image` when
// it renders the app, or the image's parameters in the source's
// helm.parameters; in spec.source, or in the chosen entry of spec.sources.
// The Application is handled as unstructured, so Argo CD's Go module is not
// needed.
package argocd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// ApplicationGVK is Argo CD's Application.
var ApplicationGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// Image is one image to set.
type Image struct {
	// KustomizeName is the image name the manifests use. Entry writes it
	// as "<KustomizeName>=<Ref>" unless Bare is set.
	KustomizeName string
	// Bare writes the kustomize entry as "<Ref>" alone, as
	// argocd-image-updater does for an image without a kustomize name.
	Bare bool
	// Ref is what it becomes: repo:tag@digest, repo:tag or repo@digest.
	Ref string
	// Helm names the Helm parameters of the image; nil means the defaults
	// (image.name and image.tag).
	Helm *HelmNames
}

// HelmNames are the Helm parameter names of an image (dot paths).
type HelmNames struct {
	// Name takes the repository; default image.name.
	Name string
	// Tag takes tag[@digest]; default image.tag.
	Tag string
	// Spec, when set, takes the whole reference instead of Name and Tag.
	Spec string
}

// Default Helm parameter names.
const (
	DefaultHelmName = "image.name"
	DefaultHelmTag  = "image.tag"
)

// HelmParameter is an entry of spec.source.helm.parameters.
type HelmParameter struct {
	Name        string
	Value       string
	ForceString bool
}

// Entry is the kustomize images entry for the image.
func (i Image) Entry() string {
	if i.Bare {
		return i.Ref
	}
	return i.KustomizeName + "=" + i.Ref
}

// name is the image an entry of i overrides.
func (i Image) name() string {
	if i.Bare {
		return StripTagAndDigest(i.Ref)
	}
	return i.KustomizeName
}

// HelmParameters are the Helm parameters that set the image: the spec
// parameter with the whole reference, or the name parameter with the
// repository and the tag parameter with tag[@digest] (latest@digest when
// the reference has no tag).
func (i Image) HelmParameters() []HelmParameter {
	names := HelmNames{}
	if i.Helm != nil {
		names = *i.Helm
	}
	if names.Spec != "" {
		return []HelmParameter{{Name: names.Spec, Value: i.Ref, ForceString: true}}
	}
	repo := StripTagAndDigest(i.Ref)
	tag := strings.TrimPrefix(strings.TrimPrefix(i.Ref, repo), ":")
	if strings.HasPrefix(tag, "@") {
		tag = "latest" + tag
	}
	params := []HelmParameter{{Name: orDefault(names.Name, DefaultHelmName), Value: repo, ForceString: true}}
	if tag != "" {
		params = append(params, HelmParameter{Name: orDefault(names.Tag, DefaultHelmTag), Value: tag, ForceString: true})
	}
	return params
}

// Source types of an Application (status.sourceType).
const (
	SourceKustomize = "Kustomize"
	SourceHelm      = "Helm"
	SourcePlugin    = "Plugin"
	SourceDirectory = "Directory"
)

// SourceType is the type of the Application's source: status.sourceType
// (or, for a multi-source Application, the first Kustomize or Helm entry of
// status.sourceTypes), else what the spec's source blocks say (kustomize,
// helm or chart, plugin); "" when nothing tells.
func SourceType(app *unstructured.Unstructured) string {
	if t, _, _ := unstructured.NestedString(app.Object, "status", "sourceType"); t != "" {
		return t
	}
	types, _, _ := unstructured.NestedStringSlice(app.Object, "status", "sourceTypes")
	for _, t := range types {
		if t == SourceKustomize || t == SourceHelm {
			return t
		}
	}
	if len(types) > 0 {
		return types[0]
	}
	for _, src := range Sources(app) {
		switch {
		case has(src, "kustomize"):
			return SourceKustomize
		case has(src, "helm"), has(src, "chart"):
			return SourceHelm
		case has(src, "plugin"):
			return SourcePlugin
		}
	}
	return ""
}

// HasSourceType reports whether one of the Application's sources is of
// type typ: by status.sourceType(s), or by a kustomize or helm block.
func HasSourceType(app *unstructured.Unstructured, typ string) bool {
	if t, _, _ := unstructured.NestedString(app.Object, "status", "sourceType"); t == typ {
		return true
	}
	types, _, _ := unstructured.NestedStringSlice(app.Object, "status", "sourceTypes")
	if slices.Contains(types, typ) {
		return true
	}
	block := strings.ToLower(typ)
	for _, src := range Sources(app) {
		if has(src, block) {
			return true
		}
	}
	return false
}

// Sources returns the Application's spec.source, or its spec.sources.
func Sources(app *unstructured.Unstructured) []map[string]any {
	if list, ok, _ := unstructured.NestedSlice(app.Object, "spec", "sources"); ok {
		out := make([]map[string]any, 0, len(list))
		for _, s := range list {
			m, _ := s.(map[string]any)
			out = append(out, m)
		}
		return out
	}
	src, _, _ := unstructured.NestedMap(app.Object, "spec", "source")
	return []map[string]any{src}
}

// SourceIndex chooses the source of a multi-source Application that holds
// the images of type typ, as argocd-image-updater does: the first with a
// block of that type (kustomize or helm); else the one status.sourceTypes
// gives that type; else 0. It is -1 for a single-source Application.
func SourceIndex(app *unstructured.Unstructured, typ string) int {
	list, multi, _ := unstructured.NestedSlice(app.Object, "spec", "sources")
	if !multi {
		return -1
	}
	block := strings.ToLower(typ)
	for i, s := range list {
		if m, ok := s.(map[string]any); ok && has(m, block) {
			return i
		}
	}
	types, _, _ := unstructured.NestedStringSlice(app.Object, "status", "sourceTypes")
	for i, t := range types {
		if t == typ && i < len(list) {
			return i
		}
	}
	return 0
}

// Source returns the source of index i (-1: spec.source).
func Source(app *unstructured.Unstructured, i int) map[string]any {
	srcs := Sources(app)
	if i < 0 {
		i = 0
	}
	if i >= len(srcs) || srcs[i] == nil {
		return map[string]any{}
	}
	return srcs[i]
}

func has(m map[string]any, key string) bool {
	_, ok := m[key]
	return ok
}

// SetImages makes the Application name images: kustomize images entries
// for a Kustomize Application, Helm parameters for a Helm one, in
// spec.source or in the spec.sources entry SourceIndex chooses. It reads
// with r (uncached) and patches with c, guarded by the resourceVersion
// read, so a concurrent edit of the Application fails the patch rather
// than being overwritten. changed[i] reports whether images[i] had to be
// written. typ is the type of source to write to (see Edit).
func SetImages(ctx context.Context, r client.Reader, c client.Client, key types.NamespacedName, typ string, images []Image) (changed []bool, err error) {
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(ApplicationGVK)
	if err := r.Get(ctx, key, app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "Application %s not found", key)
		}
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "get Application %s", key)
	}
	orig := app.DeepCopy()
	changed, err = Edit(app, typ, images)
	if err != nil {
		return nil, failure.New(ReasonUnsupportedSource, err, "Application %s", key)
	}
	if !anyTrue(changed) {
		return changed, nil
	}
	if err := c.Patch(ctx, app, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "patch Application %s", key)
	}
	return changed, nil
}

// ReasonUnsupportedSource is the failure reason of an Application whose
// source is neither Kustomize nor Helm.
const ReasonUnsupportedSource = "UnsupportedSource"

// Edit sets images in app (in memory) and reports which changed. typ is
// the type of source to write to; empty: SourceType, and Kustomize when
// the Application tells none.
func Edit(app *unstructured.Unstructured, typ string, images []Image) ([]bool, error) {
	if typ == "" {
		typ = SourceType(app)
	}
	if typ == "" {
		typ = SourceKustomize
	}
	if typ != SourceKustomize && typ != SourceHelm {
		if typ == "" {
			typ = "of unknown type (no status.sourceType, no kustomize or helm block)"
		}
		return nil, fmt.Errorf("source is %s; images can be written to Kustomize and Helm sources", typ)
	}
	idx := SourceIndex(app, typ)
	src := Source(app, idx)
	var changed []bool
	switch typ {
	case SourceKustomize:
		current, _, err := unstructured.NestedStringSlice(src, "kustomize", "images")
		if err != nil {
			return nil, fmt.Errorf("kustomize.images is not a list of strings: %w", err)
		}
		merged, ch := MergeImages(current, images)
		if anyTrue(ch) {
			if err := unstructured.SetNestedStringSlice(src, merged, "kustomize", "images"); err != nil {
				return nil, err
			}
		}
		changed = ch
	case SourceHelm:
		current, _, err := unstructured.NestedSlice(src, "helm", "parameters")
		if err != nil {
			return nil, fmt.Errorf("helm.parameters is not a list: %w", err)
		}
		changed = make([]bool, len(images))
		for i, img := range images {
			for _, p := range img.HelmParameters() {
				var ch bool
				current, ch = mergeHelmParameter(current, p)
				changed[i] = changed[i] || ch
			}
		}
		if anyTrue(changed) {
			if err := unstructured.SetNestedSlice(src, current, "helm", "parameters"); err != nil {
				return nil, err
			}
		}
	}
	if !anyTrue(changed) {
		return changed, nil
	}
	if idx < 0 {
		return changed, unstructured.SetNestedMap(app.Object, src, "spec", "source")
	}
	list, _, _ := unstructured.NestedSlice(app.Object, "spec", "sources")
	list[idx] = src
	return changed, unstructured.SetNestedSlice(app.Object, list, "spec", "sources")
}

// mergeHelmParameter sets p in params (by name), forceString on.
func mergeHelmParameter(params []any, p HelmParameter) ([]any, bool) {
	for i, e := range params {
		m, ok := e.(map[string]any)
		if !ok || m["name"] != p.Name {
			continue
		}
		if m["value"] == p.Value && m["forceString"] == p.ForceString {
			return params, false
		}
		m = maps.Clone(m)
		m["value"], m["forceString"] = p.Value, p.ForceString
		params[i] = m
		return params, true
	}
	return append(params, map[string]any{"name": p.Name, "value": p.Value, "forceString": p.ForceString}), true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MergeImages returns current with an entry per image: an entry for the
// same image (by alias before "=", or by image name without tag and digest)
// is replaced in place, others are appended, unrelated entries are kept.
func MergeImages(current []string, images []Image) (merged []string, changed []bool) {
	merged = append([]string(nil), current...)
	changed = make([]bool, len(images))
	for i, img := range images {
		want := img.Entry()
		found := false
		for j, e := range merged {
			if entryName(e) != img.name() {
				continue
			}
			found = true
			if e != want {
				merged[j] = want
				changed[i] = true
			}
		}
		if !found {
			merged = append(merged, want)
			changed[i] = true
		}
	}
	return merged, changed
}

// entryName is the image an entry overrides: the alias of "alias=ref", or
// the name of a bare "name:tag" / "name@digest".
func entryName(e string) string {
	if alias, _, ok := strings.Cut(e, "="); ok {
		return alias
	}
	return StripTagAndDigest(e)
}

// StripTagAndDigest returns the repository part of an image reference.
func StripTagAndDigest(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	// A ":" after the last "/" starts the tag; before it, it is a port.
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}
