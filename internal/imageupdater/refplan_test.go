package imageupdater

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
)

const ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

func TestMatchingRefsBySpecificity(t *testing.T) {
	refs := []aiuv1.ApplicationRef{
		{NamePattern: "*"},
		{NamePattern: "backend-*"},
		{NamePattern: "backend-*", LabelSelectors: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}},
		{NamePattern: "backend-prod"},
		{NamePattern: "back?nd-[ps]*"},
	}
	compiled, err := compileRefs(refs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   []int // ref indexes, most specific first
	}{
		{name: "backend-prod", labels: map[string]string{"env": "prod"}, want: []int{3, 2, 1, 4, 0}},
		{name: "backend-staging", labels: map[string]string{"env": "staging"}, want: []int{1, 4, 0}},
		{name: "frontend", want: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, r := range matchingRefs(compiled, tt.name, tt.labels) {
				got = append(got, r.index)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matching refs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRefScore(t *testing.T) {
	tests := []struct {
		ref  aiuv1.ApplicationRef
		want int
	}{
		{aiuv1.ApplicationRef{NamePattern: "backend-prod"}, 1_000_000 + 12},
		{aiuv1.ApplicationRef{NamePattern: "backend-*"}, 8},
		{aiuv1.ApplicationRef{NamePattern: "b[ae]ck?nd*"}, 5}, // "bcknd"
		{aiuv1.ApplicationRef{NamePattern: "*", LabelSelectors: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"a": "1", "b": "2"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "c", Operator: metav1.LabelSelectorOpExists}},
		}}, 10_300},
	}
	for _, tt := range tests {
		if got := refScore(tt.ref); got != tt.want {
			t.Errorf("refScore(%+v) = %d, want %d", tt.ref, got, tt.want)
		}
	}
}

func TestCompileRefsInvalid(t *testing.T) {
	for _, refs := range [][]aiuv1.ApplicationRef{
		{{NamePattern: "backend-[a"}},
		{{NamePattern: "ok"}, {NamePattern: "x", LabelSelectors: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}}},
		{{NamePattern: ""}},
	} {
		if _, err := compileRefs(refs); err == nil || !strings.Contains(err.Error(), "spec.applicationRefs[") {
			t.Errorf("compileRefs(%+v) = %v, want an error naming the ref", refs, err)
		}
	}
}

func TestMergeSettings(t *testing.T) {
	spec := &aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("semver"), IgnoreTags: []string{"a", "b"}, PullSecret: ptr.To("pullsecret:ns/s")}
	ref := &aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("digest"), IgnoreTags: []string{}}
	image := &aiuv1.CommonUpdateSettings{ForceUpdate: ptr.To(false), Platforms: []string{"linux/arm64"}}
	got := mergeSettings(spec, ref, image)
	if deref(got.UpdateStrategy) != "digest" || got.IgnoreTags == nil || len(got.IgnoreTags) != 0 ||
		deref(got.PullSecret) != "pullsecret:ns/s" || got.ForceUpdate == nil || *got.ForceUpdate || !slices.Equal(got.Platforms, []string{"linux/arm64"}) {
		t.Errorf("merged = %+v", got)
	}
	wb := mergeWriteBack("f", &aiuv1.WriteBackConfig{Method: "git", GitConfig: &aiuv1.GitConfig{Repository: "r", Branch: "main"}},
		&aiuv1.WriteBackConfig{GitConfig: &aiuv1.GitConfig{Branch: "dev", WriteBackTarget: "kustomization"}})
	if wb.method != "git" || wb.repository != "r" || wb.branch != "dev" || wb.target != "kustomization" {
		t.Errorf("merged write-back = %+v", wb)
	}
	if !mergeVerification(nil, &aiuv1.ImagesVerification{}) || mergeVerification(&aiuv1.ImagesVerification{}, &aiuv1.ImagesVerification{Enabled: ptr.To(false)}) || mergeVerification(nil, nil) {
		t.Error("mergeVerification")
	}
}

func TestAnnotationImages(t *testing.T) {
	a := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[AnnotationPrefix+kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		ann     map[string]string
		wantErr string
		check   func(t *testing.T, imgs []refImage)
	}{
		{name: "no image-list", ann: a("update-strategy", "digest"), wantErr: "image-list is missing"},
		{name: "empty image-list", ann: a("image-list", " "), wantErr: "image-list is missing"},
		{name: "bad app-wide force-update", ann: a("image-list", "nginx", "force-update", "yes please"), wantErr: `"yes please" is not true or false`},
		{
			name: "the seed's annotations",
			ann: a("image-list", "backend="+ecr+"/backend:latest", "backend.update-strategy", "digest",
				"backend.kustomize.image-name", "backend", "write-back-method", "git"),
			check: func(t *testing.T, imgs []refImage) {
				if len(imgs) != 1 || imgs[0].alias != "backend" || imgs[0].imageName != ecr+"/backend:latest" ||
					deref(imgs[0].settings.UpdateStrategy) != "digest" || imgs[0].kustomizeName != "backend" || imgs[0].err != nil {
					t.Errorf("images = %+v", imgs)
				}
			},
		},
		{
			name: "per-image keys beat app-wide ones; entries without alias get app-wide only",
			ann: a("image-list", "web=nginx:1.x, redis", "update-strategy", "digest", "allow-tags", "any", "ignore-tags", "*-rc, dev",
				"web.update-strategy", "semver", "web.ignore-tags", "", "web.platforms", "linux/amd64,linux/arm64", "web.force-update", "true",
				"web.helm.image-name", "web.image.repo", "web.helm.image-tag", "web.image.tag", "web.pull-secret", "pullsecret:ns/web"),
			check: func(t *testing.T, imgs []refImage) {
				web, redis := imgs[0], imgs[1]
				if deref(web.settings.UpdateStrategy) != "semver" || len(web.settings.IgnoreTags) != 0 || !slices.Equal(web.settings.Platforms, []string{"linux/amd64", "linux/arm64"}) ||
					!deref(web.settings.ForceUpdate) || web.helm == nil || web.helm.Name != "web.image.repo" || web.helm.Tag != "web.image.tag" ||
					deref(web.settings.AllowTags) != "any" || deref(web.settings.PullSecret) != "pullsecret:ns/web" {
					t.Errorf("web = %+v (%+v)", web, web.settings)
				}
				if redis.alias != "redis" || deref(redis.settings.UpdateStrategy) != "digest" || !slices.Equal(redis.settings.IgnoreTags, []string{"*-rc", "dev"}) {
					t.Errorf("redis = %+v", redis)
				}
			},
		},
		{
			name: "a bad per-image value fails that image only",
			ann:  a("image-list", "a=nginx, b=redis", "a.force-update", "maybe", "b.kustomize.image-name", "redis", "b.helm.image-tag", "t"),
			check: func(t *testing.T, imgs []refImage) {
				if imgs[0].err == nil || !strings.Contains(imgs[0].err.Error(), "a.force-update") {
					t.Errorf("a: err = %v", imgs[0].err)
				}
				if imgs[1].err == nil || !strings.Contains(imgs[1].err.Error(), "kustomize or to Helm") {
					t.Errorf("b: err = %v", imgs[1].err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, err := annotationImages(tt.ann, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, imgs)
		})
	}
}

func TestCompileRefImage(t *testing.T) {
	img := func(name string, s aiuv1.CommonUpdateSettings) refImage {
		return refImage{alias: "backend", imageName: name, settings: s, field: "images[0]"}
	}
	tests := []struct {
		name    string
		ri      refImage
		wantErr string
		check   func(t *testing.T, ip imagePlan)
	}{
		{
			name: "digest tracks the tag after the colon",
			ri:   img(ecr+"/backend:latest", aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("Digest")}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.spec.Image != ecr+"/backend" || ip.query.Strategy != imagesv1.StrategyDigest || ip.query.Tag != "latest" || !ip.bareKustomizeEntry || ip.kustomizeName != ecr+"/backend" {
					t.Errorf("plan = %+v", ip)
				}
			},
		},
		{
			name: "a registry port is not a tag; default strategy semver with the constraint",
			ri:   img("reg.example.com:5000/team/web:~1.26", aiuv1.CommonUpdateSettings{}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.spec.Image != "reg.example.com:5000/team/web" || ip.query.Strategy != imagesv1.StrategySemver || ip.spec.Constraint != "~1.26" {
					t.Errorf("plan = %+v", ip.spec)
				}
			},
		},
		{
			name: "aliases of strategies",
			ri:   img("nginx", aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("latest")}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.query.Strategy != imagesv1.StrategyNewestBuild {
					t.Errorf("strategy = %s", ip.query.Strategy)
				}
			},
		},
		{
			name: "kustomize name keeps the alias entry",
			ri:   refImage{alias: "b", imageName: "nginx:1.x", kustomizeName: "web", field: "f"},
			check: func(t *testing.T, ip imagePlan) {
				if ip.bareKustomizeEntry || ip.kustomizeName != "web" {
					t.Errorf("plan = %+v", ip)
				}
			},
		},
		{
			name: "pull secret of the namespace",
			ri:   img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("pullsecret:argocd/regcred")}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.spec.PullSecret != "regcred" {
					t.Errorf("pull secret = %q", ip.spec.PullSecret)
				}
			},
		},
		{name: "digest without a tag", ri: img(ecr+"/backend", aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("digest")}), wantErr: "cannot use update strategy 'digest'"},
		{name: "unknown strategy", ri: img("nginx", aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("newest")}), wantErr: `updateStrategy "newest"`},
		{name: "bad semver constraint", ri: img("nginx:>>1", aiuv1.CommonUpdateSettings{}), wantErr: "constraint"},
		{name: "bad allowTags regexp", ri: img("nginx", aiuv1.CommonUpdateSettings{AllowTags: ptr.To("regexp:(")}), wantErr: "allowTags"},
		{name: "bad platform", ri: img("nginx", aiuv1.CommonUpdateSettings{Platforms: []string{"linux"}}), wantErr: "platforms"},
		{name: "digest in the image name", ri: img("nginx@sha256:abc", aiuv1.CommonUpdateSettings{}), wantErr: "must not hold a digest"},
		{name: "pull secret of another namespace", ri: img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("pullsecret:other/regcred")}), wantErr: "namespace argocd"},
		{
			name: "secret field of the namespace",
			ri:   img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("secret:argocd/creds#login")}),
			check: func(t *testing.T, ip imagePlan) {
				want := registriesconf.CredentialRef{Kind: registriesconf.SecretField, Namespace: "argocd", Name: "creds", Field: "login"}
				if ip.spec.PullSecret != "" || ip.credential == nil || *ip.credential != want {
					t.Errorf("pull secret = %q, credential = %+v", ip.spec.PullSecret, ip.credential)
				}
			},
		},
		{
			name: "ext credentials",
			ri:   img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("ext:/app/ecr-login.sh")}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.credential == nil || ip.credential.Kind != registriesconf.Ext || ip.credential.Path != "/app/ecr-login.sh" {
					t.Errorf("credential = %+v", ip.credential)
				}
			},
		},
		{
			name: "env credentials",
			ri:   img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("env:REGISTRY_CREDS")}),
			check: func(t *testing.T, ip imagePlan) {
				if ip.credential == nil || ip.credential.Kind != registriesconf.Env || ip.credential.Var != "REGISTRY_CREDS" {
					t.Errorf("credential = %+v", ip.credential)
				}
			},
		},
		{name: "secret field of another namespace", ri: img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("secret:other/creds#login")}), wantErr: "namespace argocd"},
		{name: "secret without a field", ri: img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("secret:argocd/creds")}), wantErr: "#<field>"},
		{name: "relative ext script", ri: img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("ext:login.sh")}), wantErr: "absolute"},
		{name: "unknown form", ri: img("nginx", aiuv1.CommonUpdateSettings{PullSecret: ptr.To("vault:kv/creds")}), wantErr: `unknown form "vault"`},
		{name: "verification", ri: refImage{alias: "a", imageName: "nginx", verify: true, field: "f"}, wantErr: "imagesVerification"},
		{name: "plugin target", ri: refImage{alias: "a", imageName: "nginx", plugin: true, field: "f"}, wantErr: "plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, err := compileRefImage(tt.ri, "argocd")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ip)
		})
	}
}

func TestCompileRefWriteBack(t *testing.T) {
	app := appInfo{name: "backend-prod", namespace: "argocd", sourceType: argocd.SourceKustomize,
		repoURL: "https://git.example.com/deploy.git", path: "apps/backend/overlays/prod", revision: "main"}
	tests := []struct {
		name    string
		wb      refWriteBack
		app     appInfo
		wantErr string
		check   func(t *testing.T, p writeBackPlan)
	}{
		{
			name: "default: argocd",
			check: func(t *testing.T, p writeBackPlan) {
				if p.method != imagesv1.WriteBackArgoCD || p.application.Name != "backend-prod" || p.application.Namespace != "argocd" || p.sourceType != argocd.SourceKustomize {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "git: override file in the source path, source repo and revision",
			wb:   refWriteBack{method: "git:secret:git-creds"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.method != imagesv1.WriteBackGit || p.gitURL != app.repoURL || p.gitBranch != "main" || p.gitSecret != "git-creds" ||
					p.file.format != formatSource || p.file.file != "apps/backend/overlays/prod/.argocd-source-backend-prod.yaml" ||
					p.authorName != "argocd-image-updater" || p.authorEmail != "noreply@argoproj.io" || p.file.pushTemplate != nil {
					t.Errorf("plan = %+v, file %+v", p, p.file)
				}
			},
		},
		{
			name: "the documented example: kustomization from the repo root",
			wb:   refWriteBack{method: "git:secret:argocd/git-creds", repository: "https://git.example.com/platform/deploy.git", branch: "main", target: "kustomization:/apps/backend/overlays/prod"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.gitURL != "https://git.example.com/platform/deploy.git" || p.file.format != formatKustomization || p.gitPath != "apps/backend/overlays/prod" || p.gitSecret != "git-creds" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "kustomization relative to the source path",
			wb:   refWriteBack{method: "git:secret:c", target: "kustomization:../base"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.gitPath != "apps/backend/overlays/base" {
					t.Errorf("path = %q", p.gitPath)
				}
			},
		},
		{
			name: "any other target is an override file from the root",
			wb:   refWriteBack{method: "git:secret:c", target: "overrides/backend.yaml"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.file.format != formatSource || p.file.file != "overrides/backend.yaml" {
					t.Errorf("file = %+v", p.file)
				}
			},
		},
		{
			name: "base:target branch template",
			wb:   refWriteBack{method: "git:secret:c", branch: "main:image-updater-{{.SHA256}}"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.gitBranch != "main" || p.file.pushTemplate == nil || len(p.file.targetKey) != 8 {
					t.Errorf("plan = %+v", p.file)
				}
			},
		},
		{
			name: ":target takes the app's revision as base; HEAD means the default branch",
			wb:   refWriteBack{method: "git:secret:c", branch: ":updates"},
			app:  appInfo{name: "a", namespace: "argocd", repoURL: "https://g/r.git", revision: "HEAD"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.gitBranch != "" || p.file.pushTemplate == nil {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{name: "repocreds", wb: refWriteBack{method: "git"}, wantErr: "repository credentials"},
		{name: "unknown method", wb: refWriteBack{method: "svn"}, wantErr: `method "svn"`},
		{name: "secret of another namespace", wb: refWriteBack{method: "git:secret:other/c"}, wantErr: "namespace argocd"},
		{name: "two colons", wb: refWriteBack{method: "git:secret:c", branch: "a:b:c"}, wantErr: "more than one ':'"},
		{name: "bad branch template", wb: refWriteBack{method: "git:secret:c", branch: "main:{{.Nope}}"}, wantErr: "git branch"},
		{name: "kustomization file as target", wb: refWriteBack{method: "git:secret:c", target: "apps/kustomization.yaml"}, wantErr: "names a kustomization"},
		{name: "target outside the repository", wb: refWriteBack{method: "git:secret:c", target: "kustomization:../../../../.."}, wantErr: "not inside"},
		{
			name: "helmvalues in the source path, or from the root",
			wb:   refWriteBack{method: "git:secret:c", target: "helmvalues:values-prod.yaml"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.file.format != formatHelmValues || p.file.file != "apps/backend/overlays/prod/values-prod.yaml" {
					t.Errorf("file = %+v", p.file)
				}
			},
		},
		{
			name: "helmvalues default file",
			wb:   refWriteBack{method: "git:secret:c", target: "helmvalues"},
			check: func(t *testing.T, p writeBackPlan) {
				if p.file.file != "apps/backend/overlays/prod/values.yaml" {
					t.Errorf("file = %+v", p.file)
				}
			},
		},
		{name: "helmvalues outside", wb: refWriteBack{method: "git:secret:c", target: "helmvalues:../../../../../v.yaml"}, wantErr: "not a file inside"},
		{name: "pull requests", wb: refWriteBack{method: "git:secret:c", pullRequest: true}, wantErr: "pullRequest"},
		{name: "no repository", wb: refWriteBack{method: "git:secret:c"}, app: appInfo{name: "a", namespace: "argocd"}, wantErr: "no git repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := app
			if tt.app.name != "" {
				a = tt.app
			}
			tt.wb.field = "writeBackConfig"
			p, err := compileRefWriteBack(tt.wb, a, "argocd")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestLive(t *testing.T) {
	ip := imagePlan{spec: imagesv1.ImageSpec{Image: ecr + "/backend"}}
	named := imagePlan{spec: imagesv1.ImageSpec{Image: ecr + "/backend", KustomizeImageName: "backend"}}
	tests := []struct {
		name    string
		ip      imagePlan
		summary []string
		want    string
		live    bool
	}{
		{name: "runs it", ip: ip, summary: []string{"redis:7", ecr + "/backend:latest@sha256:1"}, want: ecr + "/backend:latest@sha256:1", live: true},
		{name: "runs another", ip: ip, summary: []string{"redis:7"}},
		{name: "registry compared strictly", ip: ip, summary: []string{"backend:latest"}},
		{name: "by kustomize name", ip: named, summary: []string{"backend:latest"}, want: "backend:latest", live: true},
		{name: "reports no images", ip: ip, live: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := live(tt.ip, tt.summary)
			if got != tt.want || ok != tt.live {
				t.Errorf("live = %q %v, want %q %v", got, ok, tt.want, tt.live)
			}
		})
	}
}
