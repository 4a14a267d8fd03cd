package imageupdater

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/strategy"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/workload"
)

// Defaults of the spec that the CRD cannot express (or that objects created
// before a default existed lack).
const (
	DefaultInterval        = 2 * time.Minute
	DefaultBranch          = "main"
	DefaultAuthorName      = "Switchyard Image Updater"
	DefaultAuthorEmail     = "image-updater@switchyard.dev"
	DefaultMessageTemplate = "Update {{.Name}} to {{.Ref}}"
	defaultCAKey           = "ca.crt"
)

// plan is a validated spec: everything parsed once, before any network or
// API traffic, so a bad spec is reported as InvalidSpec and not retried.
type plan struct {
	interval  time.Duration
	images    []imagePlan
	writeBack writeBackPlan
}

type imagePlan struct {
	spec imagesv1.ImageSpec
	// query lacks Keychain and Transport, which come from Secrets.
	query registry.Query
	// kustomizeName is the image name the manifests use.
	kustomizeName string
	// bareKustomizeEntry writes the argocd method's kustomize entry as the
	// reference alone, without "<kustomizeName>=" (argocd-image-updater's
	// form for an image without a kustomize name).
	bareKustomizeEntry bool
	// helm names the Helm parameters (Helm Applications); nil: defaults.
	helm *argocd.HelmNames
	// credential is argocd-image-updater's secret:, env: or ext:
	// pullSecret (its pullsecret: form is spec.PullSecret).
	credential *registriesconf.CredentialRef
}

type writeBackPlan struct {
	method imagesv1.WriteBackMethod

	// git
	gitURL, gitBranch, gitPath string
	gitSecret                  string
	authorName, authorEmail    string
	message                    *template.Template

	// file, when set, is argocd-image-updater's git write-back: one
	// commit per Application, to an override file or a kustomization.
	file *fileTarget

	// argocd
	application types.NamespacedName
	// sourceType is the Application's source type when known.
	sourceType string

	// workload
	target workload.Target
}

// messageData is what a commit message template sees.
type messageData struct {
	// Name is the image's alias.
	Name string
	// Image is the registry/repository.
	Image string
	// Tag and Digest are the new version.
	Tag, Digest string
	// Ref is the reference written: Image:Tag@Digest.
	Ref string
}

// planOptions are the controller settings validation depends on.
type planOptions struct {
	minInterval         time.Duration
	allowCrossNamespace bool
}

// compile validates iu's spec into a plan. All problems are reported
// together, each prefixed with its field path.
func compile(iu *imagesv1.ImageUpdater, opts planOptions) (*plan, error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	spec := iu.Spec
	p := &plan{interval: DefaultInterval}
	if spec.Interval != nil {
		p.interval = spec.Interval.Duration
	}
	if p.interval < opts.minInterval {
		fail("spec.interval", "%s is shorter than the minimum %s", p.interval, opts.minInterval)
	}

	if len(spec.Images) == 0 {
		fail("spec.images", "at least one image is required")
	}
	seen := map[string]bool{}
	for i, im := range spec.Images {
		field := fmt.Sprintf("spec.images[%d]", i)
		if im.Name == "" {
			fail(field+".name", "required")
		} else if seen[im.Name] {
			fail(field+".name", "%q is used twice", im.Name)
		}
		seen[im.Name] = true

		ip, ierrs := compileImage(field, im)
		errs = append(errs, ierrs...)
		p.images = append(p.images, ip)
	}

	wb := spec.WriteBack
	p.writeBack.method = wb.Method
	switch wb.Method {
	case imagesv1.WriteBackGit:
		if wb.Git == nil || wb.Git.URL == "" {
			fail("spec.writeBack.git.url", "required with method git")
			break
		}
		g := wb.Git
		if strings.Contains(g.URL, "://") && strings.Contains(strings.SplitN(g.URL, "://", 2)[1], "@") && !strings.HasPrefix(g.URL, "ssh://") {
			fail("spec.writeBack.git.url", "must not hold credentials; use secretRef")
		}
		p.writeBack.gitURL = g.URL
		p.writeBack.gitBranch = orDefault(g.Branch, DefaultBranch)
		dir := path.Clean(orDefault(g.Path, "."))
		if path.IsAbs(dir) || dir == ".." || strings.HasPrefix(dir, "../") {
			fail("spec.writeBack.git.path", "%q is not inside the repository", g.Path)
		}
		p.writeBack.gitPath = dir
		if g.SecretRef != nil {
			p.writeBack.gitSecret = g.SecretRef.Name
		}
		p.writeBack.authorName = orDefault(g.Author.Name, DefaultAuthorName)
		p.writeBack.authorEmail = orDefault(g.Author.Email, DefaultAuthorEmail)
		tmpl, err := template.New("message").Option("missingkey=error").Parse(orDefault(g.MessageTemplate, DefaultMessageTemplate))
		if err == nil {
			// Executing once with sample data catches references to
			// fields that do not exist.
			err = tmpl.Execute(&bytes.Buffer{}, messageData{Name: "n", Image: "i", Tag: "t", Digest: "d", Ref: "r"})
		}
		if err != nil {
			fail("spec.writeBack.git.messageTemplate", "%v", err)
		}
		p.writeBack.message = tmpl
	case imagesv1.WriteBackArgoCD:
		if wb.ArgoCD == nil || wb.ArgoCD.ApplicationName == "" {
			fail("spec.writeBack.argocd.applicationName", "required with method argocd")
			break
		}
		ns := orDefault(wb.ArgoCD.Namespace, iu.Namespace)
		if ns != iu.Namespace && !opts.allowCrossNamespace {
			fail("spec.writeBack.argocd.namespace", "%q is not the ImageUpdater's namespace and this controller does not allow cross-namespace references", ns)
		}
		p.writeBack.application = types.NamespacedName{Namespace: ns, Name: wb.ArgoCD.ApplicationName}
	case imagesv1.WriteBackWorkload:
		if wb.Workload == nil || wb.Workload.Name == "" {
			fail("spec.writeBack.workload.name", "required with method workload")
			break
		}
		w := wb.Workload
		apiVersion := w.APIVersion
		switch {
		case w.Kind == "Deployment" && apiVersion == "":
			apiVersion = "apps/v1"
		case w.Kind == "Rollout" && apiVersion == "":
			apiVersion = "argoproj.io/v1alpha1"
		case w.Kind != "Deployment" && w.Kind != "Rollout":
			fail("spec.writeBack.workload.kind", "%q is not Deployment or Rollout", w.Kind)
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			fail("spec.writeBack.workload.apiVersion", "%v", err)
		}
		if w.Container != "" && len(spec.Images) != 1 {
			fail("spec.writeBack.workload.container", "can only be set with exactly one image")
		}
		p.writeBack.target = workload.Target{
			GVK:       gv.WithKind(w.Kind),
			Key:       types.NamespacedName{Namespace: iu.Namespace, Name: w.Name},
			Container: w.Container,
		}
	default:
		fail("spec.writeBack.method", "unknown method %q", wb.Method)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// compileImage validates one image; every problem is reported, prefixed
// with field.
func compileImage(field string, im imagesv1.ImageSpec) (imagePlan, []error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	ip := imagePlan{spec: im, kustomizeName: im.KustomizeImageName}
	if ip.kustomizeName == "" {
		ip.kustomizeName = im.Image
	}
	if _, err := name.NewRepository(im.Image); err != nil || strings.Contains(im.Image, "@") {
		fail(field+".image", "%q is not a registry/repository without tag or digest", im.Image)
	}
	q := registry.Query{Image: im.Image, Strategy: im.Strategy, Tag: im.Tag, Insecure: im.Insecure}
	if q.Strategy == "" {
		q.Strategy = imagesv1.StrategyDigest
	}
	switch q.Strategy {
	case imagesv1.StrategyDigest:
		if q.Tag == "" {
			q.Tag = registry.DefaultTag
		}
		if _, err := name.NewTag(im.Image + ":" + q.Tag); err != nil {
			fail(field+".tag", "%q is not a valid tag", q.Tag)
		}
	case imagesv1.StrategySemver, imagesv1.StrategyNewestBuild, imagesv1.StrategyAlphabetical:
	default:
		fail(field+".strategy", "unknown strategy %q", q.Strategy)
	}
	if q.Strategy == imagesv1.StrategySemver {
		c, err := strategy.ParseConstraint(im.Constraint)
		if err != nil {
			fail(field+".constraint", "%v", err)
		}
		q.Constraint = c
	}
	f, err := strategy.NewFilter(im.AllowTags, im.IgnoreTags)
	if err != nil {
		fail(field, "%v", err)
	}
	q.Filter = f
	for _, ps := range im.Platforms {
		plat, err := v1.ParsePlatform(ps)
		if err != nil || plat.OS == "" || plat.Architecture == "" {
			fail(field+".platforms", "%q is not os/arch[/variant]", ps)
			continue
		}
		q.Platforms = append(q.Platforms, *plat)
	}
	if im.Insecure && (im.CASecret != nil || im.CAConfigMap != nil) {
		fail(field, "insecure and a CA are exclusive")
	}
	ip.query = q
	return ip, errs
}

// commitMessage renders the commit message for one image.
func (w writeBackPlan) commitMessage(d messageData) (string, error) {
	var b bytes.Buffer
	if err := w.message.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
