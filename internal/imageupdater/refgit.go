package imageupdater

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"

	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocdsource"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/gitwrite"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/helmvalues"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/kustomize"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
)

// gitFormat is the kind of file argocd-image-updater's git write-back
// edits.
type gitFormat int

const (
	// formatSource: Argo CD's .argocd-source override file.
	formatSource gitFormat = iota
	// formatKustomization: the images list of a kustomization.
	formatKustomization
	// formatHelmValues: the image keys of a Helm values file.
	formatHelmValues
)

// fileTarget is argocd-image-updater's git write-back of one Application:
// one commit with its message, to an override file or a kustomization,
// pushed to the branch (or to a branch named by a template).
type fileTarget struct {
	format gitFormat
	// file is the override file, relative to the repository root.
	file string
	// sourceType of the Application: Kustomize writes kustomize images,
	// Helm writes Helm parameters (override file only).
	sourceType            string
	appName, appNamespace string
	// pushTemplate renders the target branch of <base>:<target>.
	pushTemplate *template.Template
	targetKey    string
	message      *template.Template
}

// commitData is what the commit message template sees (argocd-image-
// updater's names).
type commitData struct {
	AppName    string
	AppChanges []commitChange
}

type commitChange struct {
	// Image is the repository path, without registry.
	Image          string
	OldTag, NewTag string
	Labels         map[string]string
}

// branchData is what a branch template sees.
type branchData struct {
	Images       []branchImage
	SHA256       string
	TargetKey    string
	AppNamespace string
	AppName      string
}

type branchImage struct {
	Name, Alias, OldTag, NewTag string
}

// parseTemplate parses text and executes it once on sample, so unknown
// fields fail at validation.
func parseTemplate(name, text string, sample any) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err == nil {
		err = t.Execute(&bytes.Buffer{}, sample)
	}
	return t, err
}

// targetKey identifies a write-back target: 8 hex digits of the sha256 of
// repository|branch|target.
func targetKey(repo, branch, target string) string {
	sum := sha256.Sum256([]byte(repo + "|" + branch + "|" + target))
	return hex.EncodeToString(sum[:])[:8]
}

// versionOf is the version part of a reference as argocd-image-updater
// shows it: the digest when there is one, else the tag.
func versionOf(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	repo := argocd.StripTagAndDigest(ref)
	return strings.TrimPrefix(strings.TrimPrefix(ref, repo), ":")
}

// repoPath strips the registry host from a repository.
func repoPath(repo string) string {
	first, rest, ok := strings.Cut(repo, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return repo
}

// request fills req for the images of todo.
func (f *fileTarget) request(req *gitwrite.Request, u *unit, todo []pending) error {
	images := make([]argocd.Image, len(todo))
	for i, p := range todo {
		images[i] = p.argocdImage()
	}
	switch {
	case f.format == formatKustomization:
		req.Apply = func(current []byte) ([]byte, []bool, error) {
			changed := make([]bool, len(todo))
			out := current
			for i, p := range todo {
				img := kustomize.Image{Name: p.ip.kustomizeName, NewName: p.ip.spec.Image, NewTag: p.tag, Digest: p.digest}
				next, ch, err := kustomize.SetImage(out, img)
				if err != nil {
					return nil, nil, err
				}
				out, changed[i] = next, ch
			}
			return out, changed, nil
		}
	case f.format == formatHelmValues:
		req.File = f.file
		req.Apply = func(current []byte) ([]byte, []bool, error) {
			var sets []helmvalues.Set
			var owner []int
			for i, img := range images {
				params := img.HelmParameters()
				for j, p := range params {
					// The name parameter keeps the file's form of the
					// same repository.
					same := j == 0 && len(params) == 2
					sets = append(sets, helmvalues.Set{Key: p.Name, Value: p.Value, SameImage: same})
					owner = append(owner, i)
				}
			}
			out, setChanged, err := helmvalues.Apply(current, sets)
			if err != nil {
				return nil, nil, err
			}
			changed := make([]bool, len(images))
			for k, c := range setChanged {
				changed[owner[k]] = changed[owner[k]] || c
			}
			return out, changed, nil
		}
	case f.sourceType == argocd.SourceHelm:
		req.File = f.file
		req.Apply = func(current []byte) ([]byte, []bool, error) {
			return argocdsource.SetHelmParameters(current, images)
		}
	default:
		req.File = f.file
		req.Apply = func(current []byte) ([]byte, []bool, error) {
			return argocdsource.SetKustomizeImages(current, images)
		}
	}
	req.Message = func(changed []bool) string {
		data := commitData{AppName: f.appName}
		for i, p := range todo {
			if i < len(changed) && changed[i] {
				data.AppChanges = append(data.AppChanges, commitChange{
					Image: repoPath(p.ip.spec.Image), OldTag: versionOf(p.current), NewTag: p.version(),
				})
			}
		}
		var b bytes.Buffer
		if err := f.message.Execute(&b, data); err != nil {
			return "build: update of application " + f.appName
		}
		return b.String()
	}
	if f.pushTemplate != nil {
		data := branchData{TargetKey: f.targetKey, AppNamespace: f.appNamespace, AppName: f.appName}
		var sum strings.Builder
		for _, p := range todo {
			old := versionOf(p.current)
			if old == p.version() {
				continue
			}
			data.Images = append(data.Images, branchImage{Name: p.ip.spec.Image, Alias: p.ip.spec.Name, OldTag: old, NewTag: p.version()})
			fmt.Fprintf(&sum, "%s-%s-%s,", p.ip.spec.Image, old, p.version())
		}
		h := sha256.Sum256([]byte(sum.String()))
		data.SHA256 = hex.EncodeToString(h[:])
		var b bytes.Buffer
		if err := f.pushTemplate.Execute(&b, data); err != nil {
			return failure.New(imagesv1.ReasonInvalidSpec, err, "render the git branch template")
		}
		branch := b.String()
		if len(branch) > 255 {
			branch = branch[:255]
		}
		req.PushBranch = branch
	}
	return nil
}
