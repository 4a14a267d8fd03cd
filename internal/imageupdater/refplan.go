package imageupdater

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
)

// This file is the second front door of the engine: it translates an
// argocd-image-updater.argoproj.io ImageUpdater, and the
// argocd-image-updater.argoproj.io/* annotations of the Applications it
// selects, into the plans the engine runs. Everything here is pure.

// AnnotationPrefix starts argocd-image-updater's Application annotations.
const AnnotationPrefix = "argocd-image-updater.argoproj.io/"

// Annotation keys (after AnnotationPrefix; per image: "<alias>.<key>").
const (
	annImageList       = "image-list"
	annUpdateStrategy  = "update-strategy"
	annForceUpdate     = "force-update"
	annAllowTags       = "allow-tags"
	annIgnoreTags      = "ignore-tags"
	annPullSecret      = "pull-secret"
	annPlatforms       = "platforms"
	annHelmImageName   = "helm.image-name"
	annHelmImageTag    = "helm.image-tag"
	annHelmImageSpec   = "helm.image-spec"
	annKustomizeName   = "kustomize.image-name"
	annWriteBackMethod = "write-back-method"
	annGitRepository   = "git-repository"
	annGitBranch       = "git-branch"
	annWriteBackTarget = "write-back-target"
)

// Defaults of argocd-image-updater's git write-back.
const (
	RefAuthorName      = "argocd-image-updater"
	RefAuthorEmail     = "noreply@argoproj.io"
	RefMessageTemplate = "build: automatic update of {{ .AppName }}\n\n{{ range .AppChanges -}}\nupdates image {{ .Image }} tag '{{ .OldTag }}' to '{{ .NewTag }}'\n{{ end -}}\n"
)

// refImage is one image with its settings merged, as the ImageUpdater's
// images or the Application's annotations give it: what both forms of the
// reference's configuration have in common.
type refImage struct {
	alias     string
	imageName string
	settings  aiuv1.CommonUpdateSettings
	// kustomizeName is manifestTargets.kustomize.name or the
	// kustomize.image-name annotation.
	kustomizeName string
	helm          *argocd.HelmNames
	plugin        bool
	verify        bool
	// field names where the image is configured, for messages.
	field string
	// reason and err: the image cannot be used (InvalidSettings or
	// InvalidAnnotation).
	reason string
	err    error
}

// refWriteBack is the merged write-back configuration.
type refWriteBack struct {
	method, repository, branch, target string
	pullRequest                        bool
	field                              string
	reason                             string
}

// refScore orders applicationRefs by specificity, as argocd-image-updater
// does: a pattern without wildcards first, then more literal characters,
// then label selectors and their terms.
func refScore(r aiuv1.ApplicationRef) int {
	score := 0
	if !strings.ContainsAny(r.NamePattern, "*?[]") {
		score += 1_000_000
	}
	literal := r.NamePattern
	for {
		i := strings.Index(literal, "[")
		j := strings.Index(literal, "]")
		if i < 0 || j < i {
			break
		}
		literal = literal[:i] + literal[j+1:]
	}
	literal = strings.NewReplacer("*", "", "?", "").Replace(literal)
	score += len(literal)
	if r.LabelSelectors != nil {
		score += 10_000 + 100*(len(r.LabelSelectors.MatchLabels)+len(r.LabelSelectors.MatchExpressions))
	}
	return score
}

// compiledRef is an applicationRef with its selector parsed.
type compiledRef struct {
	index    int
	ref      aiuv1.ApplicationRef
	selector labels.Selector // nil: any labels
}

// compileRefs validates the refs and orders them by specificity (stable).
// An invalid glob or selector fails the whole ImageUpdater.
func compileRefs(refs []aiuv1.ApplicationRef) ([]compiledRef, error) {
	out := make([]compiledRef, 0, len(refs))
	for i, r := range refs {
		field := fmt.Sprintf("spec.applicationRefs[%d]", i)
		if r.NamePattern == "" {
			return nil, fmt.Errorf("%s.namePattern: required", field)
		}
		if _, err := filepath.Match(r.NamePattern, ""); err != nil {
			return nil, fmt.Errorf("%s.namePattern: %q is not a valid glob: %w", field, r.NamePattern, err)
		}
		cr := compiledRef{index: i, ref: r}
		if r.LabelSelectors != nil {
			sel, err := metav1.LabelSelectorAsSelector(r.LabelSelectors)
			if err != nil {
				return nil, fmt.Errorf("%s.labelSelectors: %w", field, err)
			}
			cr.selector = sel
		}
		out = append(out, cr)
	}
	slices.SortStableFunc(out, func(a, b compiledRef) int { return cmp.Compare(refScore(b.ref), refScore(a.ref)) })
	return out, nil
}

// matchingRefs returns the refs that match an Application, most specific
// first.
func matchingRefs(refs []compiledRef, name string, appLabels map[string]string) []compiledRef {
	var out []compiledRef
	for _, r := range refs {
		if ok, _ := filepath.Match(r.ref.NamePattern, name); !ok {
			continue
		}
		if r.selector != nil && !r.selector.Matches(labels.Set(appLabels)) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// mergeSettings merges common update settings: a field set in a later
// layer wins; lists replace.
func mergeSettings(layers ...*aiuv1.CommonUpdateSettings) aiuv1.CommonUpdateSettings {
	var m aiuv1.CommonUpdateSettings
	for _, l := range layers {
		if l == nil {
			continue
		}
		if l.UpdateStrategy != nil {
			m.UpdateStrategy = l.UpdateStrategy
		}
		if l.ForceUpdate != nil {
			m.ForceUpdate = l.ForceUpdate
		}
		if l.AllowTags != nil {
			m.AllowTags = l.AllowTags
		}
		if l.IgnoreTags != nil {
			m.IgnoreTags = l.IgnoreTags
		}
		if l.PullSecret != nil {
			m.PullSecret = l.PullSecret
		}
		if l.Platforms != nil {
			m.Platforms = l.Platforms
		}
	}
	return m
}

// mergeVerification merges imagesVerification per field; verification is
// on when the merged block is present and not disabled.
func mergeVerification(layers ...*aiuv1.ImagesVerification) bool {
	present, enabled := false, true
	for _, l := range layers {
		if l == nil {
			continue
		}
		present = true
		if l.Enabled != nil {
			enabled = *l.Enabled
		}
	}
	return present && enabled
}

// mergeWriteBack merges the spec's and the ref's writeBackConfig.
func mergeWriteBack(field string, layers ...*aiuv1.WriteBackConfig) refWriteBack {
	wb := refWriteBack{field: field, reason: aiuv1.ReasonInvalidSettings}
	for _, l := range layers {
		if l == nil {
			continue
		}
		if l.Method != "" {
			wb.method = l.Method
		}
		if g := l.GitConfig; g != nil {
			if g.Repository != "" {
				wb.repository = g.Repository
			}
			if g.Branch != "" {
				wb.branch = g.Branch
			}
			if g.WriteBackTarget != "" {
				wb.target = g.WriteBackTarget
			}
			if g.PullRequest != nil {
				wb.pullRequest = true
			}
		}
	}
	return wb
}

// appImages returns the images of an Application and where they are
// written back: those of the first matching ref (most specific first) that
// yields images. With useAnnotations, an Application whose annotations
// yield none is tried with the next ref; the error says why none did.
func appImages(spec aiuv1.ImageUpdaterSpec, matching []compiledRef, annotations map[string]string) ([]refImage, refWriteBack, error) {
	var errs []string
	for _, ref := range matching {
		if !deref(ref.ref.UseAnnotations) {
			wb := mergeWriteBack(fmt.Sprintf("spec.applicationRefs[%d].writeBackConfig", ref.index), spec.WriteBackConfig, ref.ref.WriteBackConfig)
			return refImages(spec, ref), wb, nil
		}
		imgs, err := annotationImages(annotations, mergeVerification(ref.ref.ImagesVerification))
		if err != nil {
			errs = append(errs, fmt.Sprintf("applicationRefs[%d] (useAnnotations): %v", ref.index, err))
			continue
		}
		return imgs, annotationWriteBack(annotations), nil
	}
	return nil, refWriteBack{}, errors.New(strings.Join(errs, "; "))
}

// refImages returns the images of a ref (not useAnnotations).
func refImages(spec aiuv1.ImageUpdaterSpec, r compiledRef) []refImage {
	var out []refImage
	for i, im := range r.ref.Images {
		ri := refImage{
			alias:     im.Alias,
			imageName: im.ImageName,
			settings:  mergeSettings(spec.CommonUpdateSettings, r.ref.CommonUpdateSettings, im.CommonUpdateSettings),
			verify:    mergeVerification(spec.ImagesVerification, r.ref.ImagesVerification, im.ImagesVerification),
			field:     fmt.Sprintf("spec.applicationRefs[%d].images[%d]", r.index, i),
			reason:    aiuv1.ReasonInvalidSettings,
		}
		if t := im.ManifestTarget; t != nil {
			switch {
			case t.Kustomize != nil:
				ri.kustomizeName = t.Kustomize.Name
			case t.Helm != nil:
				ri.helm = &argocd.HelmNames{Name: t.Helm.Name, Tag: t.Helm.Tag, Spec: t.Helm.Spec}
			case t.Plugin != nil:
				ri.plugin = true
			}
		}
		out = append(out, ri)
	}
	return out
}

// annotationImages reads the images of an Application from its
// annotations. An error is about the Application as a whole (no or an
// empty image-list, a bad app-wide value): the next matching ref is tried.
// A bad per-image value fails only that image (refImage.err).
func annotationImages(ann map[string]string, verify bool) ([]refImage, error) {
	get := func(key string) (string, bool) {
		v, ok := ann[AnnotationPrefix+key]
		return strings.TrimSpace(v), ok
	}
	list, ok := get(annImageList)
	if !ok || list == "" {
		return nil, fmt.Errorf("annotation %s%s is missing or empty", AnnotationPrefix, annImageList)
	}
	// App-wide settings, the defaults of every image.
	var appWide aiuv1.CommonUpdateSettings
	var appErr error
	setFrom := func(s *aiuv1.CommonUpdateSettings, prefix string) error {
		if v, ok := get(prefix + annUpdateStrategy); ok {
			s.UpdateStrategy = &v
		}
		if v, ok := get(prefix + annForceUpdate); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("annotation %s%s%s: %q is not true or false", AnnotationPrefix, prefix, annForceUpdate, v)
			}
			s.ForceUpdate = &b
		}
		if v, ok := get(prefix + annAllowTags); ok {
			s.AllowTags = &v
		}
		if v, ok := get(prefix + annIgnoreTags); ok {
			s.IgnoreTags = splitList(v)
		}
		if v, ok := get(prefix + annPullSecret); ok {
			s.PullSecret = &v
		}
		return nil
	}
	if err := setFrom(&appWide, ""); err != nil {
		appErr = err
	}
	if appErr != nil {
		return nil, appErr
	}
	var out []refImage
	for _, entry := range splitList(list) {
		alias, image, hasAlias := strings.Cut(entry, "=")
		if !hasAlias {
			alias, image = "", entry
		}
		ri := refImage{
			alias: strings.TrimSpace(alias), imageName: strings.TrimSpace(image), verify: verify,
			field:  AnnotationPrefix + annImageList + " entry " + strconv.Quote(entry),
			reason: aiuv1.ReasonInvalidAnnotation,
		}
		ri.settings = appWide
		if ri.alias == "" {
			// Entries without alias get only the app-wide settings.
			ri.alias = ri.imageName
			out = append(out, ri)
			continue
		}
		prefix := strings.ReplaceAll(ri.alias, "/", "_") + "."
		per := aiuv1.CommonUpdateSettings{}
		if err := setFrom(&per, prefix); err != nil {
			ri.err = err
		}
		if v, ok := get(prefix + annPlatforms); ok {
			per.Platforms = splitList(v)
		}
		ri.settings = mergeSettings(&appWide, &per)
		kname, hasK := get(prefix + annKustomizeName)
		hn, hasHN := get(prefix + annHelmImageName)
		ht, hasHT := get(prefix + annHelmImageTag)
		hs, hasHS := get(prefix + annHelmImageSpec)
		switch {
		case hasK && (hasHN || hasHT || hasHS):
			if ri.err == nil {
				ri.err = fmt.Errorf("annotations %s%s%s and %s%shelm.*: an image is written to kustomize or to Helm, not both", AnnotationPrefix, prefix, annKustomizeName, AnnotationPrefix, prefix)
			}
		case hasK:
			ri.kustomizeName = kname
		case hasHN || hasHT || hasHS:
			ri.helm = &argocd.HelmNames{Name: hn, Tag: ht, Spec: hs}
		}
		out = append(out, ri)
	}
	return out, nil
}

// annotationWriteBack reads the write-back annotations.
func annotationWriteBack(ann map[string]string) refWriteBack {
	wb := refWriteBack{field: "annotation " + AnnotationPrefix + "*", reason: aiuv1.ReasonInvalidAnnotation}
	wb.method = strings.TrimSpace(ann[AnnotationPrefix+annWriteBackMethod])
	wb.repository = strings.TrimSpace(ann[AnnotationPrefix+annGitRepository])
	wb.branch = strings.TrimSpace(ann[AnnotationPrefix+annGitBranch])
	wb.target = strings.TrimSpace(ann[AnnotationPrefix+annWriteBackTarget])
	return wb
}

// splitList splits a comma list; an empty list is empty, not nil, so it
// overrides a list set app-wide.
func splitList(s string) []string {
	out := []string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// splitImageName splits [registry/]repository[:constraint].
func splitImageName(s string) (repo, constraint string) {
	slash := strings.LastIndex(s, "/")
	if i := strings.Index(s[slash+1:], ":"); i >= 0 {
		return s[:slash+1+i], s[slash+1+i+1:]
	}
	return s, ""
}

// refStrategy maps the reference's strategy names (and aliases,
// case-insensitively) to the engine's.
func refStrategy(s string) (imagesv1.UpdateStrategy, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "semver":
		return imagesv1.StrategySemver, true
	case "newest-build", "latest":
		return imagesv1.StrategyNewestBuild, true
	case "alphabetical", "name":
		return imagesv1.StrategyAlphabetical, true
	case "digest":
		return imagesv1.StrategyDigest, true
	}
	return "", false
}

// compileRefImage turns an image of the reference's configuration into
// the engine's image plan. namespace is the ImageUpdater's.
func compileRefImage(ri refImage, namespace string) (imagePlan, error) {
	if ri.err != nil {
		return imagePlan{}, ri.err
	}
	if ri.verify {
		return imagePlan{}, fmt.Errorf("%s: imagesVerification (cosign signatures) is not supported by this image updater; disable it or remove the block", ri.field)
	}
	if ri.plugin {
		return imagePlan{}, fmt.Errorf("%s: manifestTargets.plugin is not supported by this image updater", ri.field)
	}
	if strings.Contains(ri.imageName, "@") {
		return imagePlan{}, fmt.Errorf("%s: imageName %q must not hold a digest", ri.field, ri.imageName)
	}
	repo, constraint := splitImageName(ri.imageName)
	s := ri.settings
	strat, ok := refStrategy(deref(s.UpdateStrategy))
	if !ok {
		return imagePlan{}, fmt.Errorf("%s: updateStrategy %q is not semver, newest-build (latest), alphabetical (name) or digest", ri.field, deref(s.UpdateStrategy))
	}
	spec := imagesv1.ImageSpec{
		Name: ri.alias, Image: repo, Strategy: strat,
		AllowTags: deref(s.AllowTags), IgnoreTags: s.IgnoreTags, Platforms: s.Platforms,
		KustomizeImageName: ri.kustomizeName,
	}
	switch strat {
	case imagesv1.StrategyDigest:
		if constraint == "" {
			return imagePlan{}, fmt.Errorf("%s: cannot use update strategy 'digest' for image %s without a version constraint (the tag to track, as in %s:latest)", ri.field, repo, repo)
		}
		spec.Tag = constraint
	case imagesv1.StrategySemver:
		spec.Constraint = constraint
	}
	var credential *registriesconf.CredentialRef
	if ps := deref(s.PullSecret); ps != "" {
		ref, err := refCredential(ps, namespace)
		if err != nil {
			return imagePlan{}, fmt.Errorf("%s: pullSecret: %w", ri.field, err)
		}
		if ref.Kind == registriesconf.PullSecret {
			// The engine's own form: a docker config Secret of the namespace.
			spec.PullSecret = ref.Name
		} else {
			credential = &ref
		}
	}
	ip, errs := compileImage(ri.field, spec)
	if len(errs) > 0 {
		return imagePlan{}, errs[0]
	}
	ip.credential = credential
	ip.bareKustomizeEntry = ri.kustomizeName == ""
	ip.helm = ri.helm
	return ip, nil
}

// refCredential reads a credential reference (registriesconf's forms).
// The Secret of pullsecret: and secret: must be in the ImageUpdater's
// namespace; env: and ext: are the image updater's own credentials, which
// the ambient policy governs when the image is polled.
func refCredential(s, namespace string) (registriesconf.CredentialRef, error) {
	ref, err := registriesconf.ParseCredentialRef(s)
	if err != nil {
		return registriesconf.CredentialRef{}, err
	}
	switch ref.Kind {
	case registriesconf.PullSecret, registriesconf.SecretField:
		if ref.Namespace != namespace {
			return registriesconf.CredentialRef{}, fmt.Errorf("%q: the Secret must be in the ImageUpdater's namespace %s", s, namespace)
		}
	}
	return ref, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// appInfo is what the write-back needs of an Application.
type appInfo struct {
	name, namespace string
	// sourceType: Kustomize or Helm.
	sourceType string
	// repoURL, path and targetRevision of the source written to.
	repoURL, path, revision string
}

// compileRefWriteBack turns the reference's write-back configuration into
// the engine's write-back plan for one Application.
func compileRefWriteBack(wb refWriteBack, app appInfo, namespace string) (writeBackPlan, error) {
	p := writeBackPlan{sourceType: app.sourceType}
	fail := func(format string, args ...any) (writeBackPlan, error) {
		return writeBackPlan{}, fmt.Errorf("%s: %s", wb.field, fmt.Sprintf(format, args...))
	}
	method := wb.method
	switch {
	case method == "" || method == "argocd":
		p.method = imagesv1.WriteBackArgoCD
		p.application.Namespace, p.application.Name = app.namespace, app.name
		return p, nil
	case method == "git" || method == "git:repocreds":
		// Finding Argo CD's repository credentials means listing Secrets,
		// which the image updater's role does not allow.
		return fail("write-back method %q (Argo CD's repository credentials) is not supported: the image updater does not list Secrets; use git:secret:<name> with a Secret holding username and password (or sshPrivateKey and known_hosts)", method)
	case strings.HasPrefix(method, "git:secret:"):
		ref := strings.TrimPrefix(method, "git:secret:")
		name := ref
		if ns, n, ok := strings.Cut(ref, "/"); ok {
			if ns != namespace {
				return fail("write-back method %q: the Secret must be in the ImageUpdater's namespace %s", method, namespace)
			}
			name = n
		}
		if name == "" || strings.Contains(name, "/") {
			return fail("write-back method %q is not git:secret:[<namespace>/]<name>", method)
		}
		p.gitSecret = name
	default:
		return fail("write-back method %q is not argocd, git, git:repocreds or git:secret:[<namespace>/]<name>", method)
	}
	if wb.pullRequest {
		return fail("gitConfig.pullRequest is not supported by this image updater; the write-back pushes to the branch")
	}
	p.method = imagesv1.WriteBackGit
	p.gitURL = orDefault(wb.repository, app.repoURL)
	if p.gitURL == "" {
		return fail("no git repository: set gitConfig.repository (or the git-repository annotation); the Application's source has no repoURL")
	}
	p.authorName, p.authorEmail = RefAuthorName, RefAuthorEmail
	ft := &fileTarget{appName: app.name, appNamespace: app.namespace, sourceType: app.sourceType}

	// Branch: <branch>, <base>:<target> or :<target>.
	revision := app.revision
	if revision == "HEAD" {
		revision = ""
	}
	switch strings.Count(wb.branch, ":") {
	case 0:
		p.gitBranch = orDefault(wb.branch, revision)
	case 1:
		base, target, _ := strings.Cut(wb.branch, ":")
		p.gitBranch = orDefault(base, revision)
		if target == "" {
			return fail("git branch %q has an empty target", wb.branch)
		}
		tmpl, err := parseTemplate("branch", target, branchData{})
		if err != nil {
			return fail("git branch %q: %v", wb.branch, err)
		}
		ft.pushTemplate = tmpl
		ft.targetKey = targetKey(p.gitURL, p.gitBranch, wb.target)
	default:
		return fail("git branch %q has more than one ':' (want <branch> or <base>:<target>)", wb.branch)
	}

	// Target.
	appPath := path.Clean(orDefault(app.path, "."))
	inside := func(p string) (string, bool) {
		c := path.Clean(p)
		return c, c != ".." && !strings.HasPrefix(c, "../")
	}
	target := wb.target
	kind, arg, hasArg := strings.Cut(target, ":")
	switch {
	case target == "":
		file := ".argocd-source-" + app.name + ".yaml"
		ft.format, ft.file = formatSource, path.Join(appPath, file)
	case kind == "kustomization":
		dir := appPath
		if hasArg {
			if strings.HasPrefix(arg, "/") {
				dir = strings.TrimPrefix(arg, "/")
			} else {
				dir = path.Join(appPath, arg)
			}
		}
		d, ok := inside(orDefault(dir, "."))
		if !ok {
			return fail("writeBackTarget %q is not inside the repository", target)
		}
		ft.format, p.gitPath = formatKustomization, d
	case kind == "helmvalues":
		file := path.Join(appPath, "values.yaml")
		if hasArg {
			if strings.HasPrefix(arg, "/") {
				file = strings.TrimPrefix(arg, "/")
			} else {
				file = path.Join(appPath, arg)
			}
		}
		f, ok := inside(file)
		if !ok || f == "." {
			return fail("writeBackTarget %q is not a file inside the repository", target)
		}
		ft.format, ft.file = formatHelmValues, f
	default:
		f, ok := inside(strings.TrimPrefix(target, "/"))
		if !ok || f == "." {
			return fail("writeBackTarget %q is not a file inside the repository", target)
		}
		switch path.Base(f) {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			return fail("writeBackTarget %q names a kustomization: use kustomization:<directory>", target)
		}
		ft.format, ft.file = formatSource, f
	}
	tmpl, err := parseTemplate("message", RefMessageTemplate, commitData{})
	if err != nil {
		return writeBackPlan{}, err
	}
	ft.message = tmpl
	p.file = ft
	return p, nil
}

// live reports whether the Application runs the image (its registry and
// repository, or its kustomize name, is among status.summary.images), and
// the reference it runs. An Application that reports no images at all
// (never synced, or its status is stale) counts as running every image:
// argocd-image-updater would skip them all, which is its most reported
// surprise.
func live(ip imagePlan, summary []string) (current string, ok bool) {
	if len(summary) == 0 {
		return "", true
	}
	for _, s := range summary {
		repo := argocd.StripTagAndDigest(s)
		if repo == ip.spec.Image || (ip.spec.KustomizeImageName != "" && repo == ip.spec.KustomizeImageName) {
			return s, true
		}
	}
	return "", false
}
