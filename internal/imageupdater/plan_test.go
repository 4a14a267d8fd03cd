package imageupdater

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
)

func validGit() *imagesv1.ImageUpdater {
	return &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images: []imagesv1.ImageSpec{{Name: "backend", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend", KustomizeImageName: "backend"}},
			WriteBack: imagesv1.WriteBackSpec{
				Method: imagesv1.WriteBackGit,
				Git:    &imagesv1.GitWriteBack{URL: "https://git.example.com/deploy.git", Path: "apps/backend/"},
			},
		},
	}
}

func TestCompileDefaults(t *testing.T) {
	p, err := compile(validGit(), planOptions{minInterval: DefaultMinInterval})
	if err != nil {
		t.Fatal(err)
	}
	ip := p.images[0]
	if p.interval != 2*time.Minute || ip.query.Strategy != imagesv1.StrategyDigest || ip.query.Tag != "latest" || ip.kustomizeName != "backend" {
		t.Errorf("plan = %+v, image %+v", p, ip)
	}
	wb := p.writeBack
	if wb.gitBranch != "main" || wb.gitPath != "apps/backend" || wb.authorName != DefaultAuthorName || wb.authorEmail != DefaultAuthorEmail {
		t.Errorf("write-back plan = %+v", wb)
	}
	msg, err := wb.commitMessage(messageData{Name: "backend", Image: "r/backend", Tag: "latest", Digest: "sha256:1", Ref: "r/backend:latest@sha256:1"})
	if err != nil || msg != "Update backend to r/backend:latest@sha256:1" {
		t.Errorf("default message = %q, %v", msg, err)
	}

	iu := validGit()
	iu.Spec.Images[0].KustomizeImageName = ""
	iu.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Rollout", Name: "backend"}}
	p, err = compile(iu, planOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.images[0].kustomizeName != iu.Spec.Images[0].Image || p.writeBack.target.GVK.GroupVersion().String() != "argoproj.io/v1alpha1" || p.writeBack.target.Key.Namespace != "shop" {
		t.Errorf("workload plan = %+v", p.writeBack.target)
	}
}

func TestCompileInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(iu *imagesv1.ImageUpdater)
		opts   planOptions
		want   string
	}{
		{name: "interval too short", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Interval = &metav1.Duration{Duration: time.Second} }, want: "spec.interval: 1s is shorter than the minimum 10s"},
		{name: "image with tag", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].Image = "reg.example.com/backend:latest" }, want: "spec.images[0].image"},
		{name: "image with digest", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].Image = "reg.example.com/backend@sha256:abc" }, want: "spec.images[0].image"},
		{name: "bad tag", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].Tag = "no spaces" }, want: "spec.images[0].tag"},
		{name: "unknown strategy", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].Strategy = "latest" }, want: "spec.images[0].strategy"},
		{name: "bad constraint", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.Images[0].Strategy, iu.Spec.Images[0].Constraint = imagesv1.StrategySemver, ">>1"
		}, want: "spec.images[0].constraint"},
		{name: "bad allowTags", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].AllowTags = "regexp:(" }, want: "spec.images[0]: allowTags"},
		{name: "bad platform", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.Images[0].Platforms = []string{"linux"} }, want: "spec.images[0].platforms"},
		{name: "duplicate names", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.Images = append(iu.Spec.Images, iu.Spec.Images[0])
		}, want: `spec.images[1].name: "backend" is used twice`},
		{name: "insecure with CA", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.Images[0].Insecure, iu.Spec.Images[0].CASecret = true, &imagesv1.KeyRef{Name: "ca"}
		}, want: "insecure and a CA are exclusive"},
		{name: "credentials in git URL", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.WriteBack.Git.URL = "https://bot:hunter2@git.example.com/deploy.git"
		}, want: "spec.writeBack.git.url: must not hold credentials"},
		{name: "path outside", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.WriteBack.Git.Path = "../../etc" }, want: "spec.writeBack.git.path"},
		{name: "template field", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.WriteBack.Git.MessageTemplate = "{{.AppName}}" }, want: "spec.writeBack.git.messageTemplate"},
		{name: "template syntax", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.WriteBack.Git.MessageTemplate = "{{.Name" }, want: "spec.writeBack.git.messageTemplate"},
		{name: "git without settings", mutate: func(iu *imagesv1.ImageUpdater) { iu.Spec.WriteBack.Git = nil }, want: "spec.writeBack.git.url: required"},
		{name: "argocd in another namespace", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackArgoCD, ArgoCD: &imagesv1.ArgoCDWriteBack{ApplicationName: "backend", Namespace: "argocd"}}
		}, want: `spec.writeBack.argocd.namespace: "argocd" is not the ImageUpdater's namespace`},
		{name: "workload container with two images", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.Images = append(iu.Spec.Images, imagesv1.ImageSpec{Name: "worker", Image: "reg.example.com/worker"})
			iu.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Deployment", Name: "web", Container: "web"}}
		}, want: "spec.writeBack.workload.container"},
		{name: "workload kind", mutate: func(iu *imagesv1.ImageUpdater) {
			iu.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "StatefulSet", Name: "web"}}
		}, want: "spec.writeBack.workload.kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iu := validGit()
			tt.mutate(iu)
			opts := tt.opts
			if opts.minInterval == 0 {
				opts.minInterval = DefaultMinInterval
			}
			_, err := compile(iu, opts)
			if err == nil {
				t.Fatal("compile succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the URL's password: %q", err)
			}
		})
	}

	// Cross-namespace Applications are fine when the controller allows it.
	iu := validGit()
	iu.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackArgoCD, ArgoCD: &imagesv1.ArgoCDWriteBack{ApplicationName: "backend", Namespace: "argocd"}}
	if _, err := compile(iu, planOptions{allowCrossNamespace: true}); err != nil {
		t.Errorf("cross-namespace allowed: %v", err)
	}
}
