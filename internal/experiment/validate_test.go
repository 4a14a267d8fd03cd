package experiment

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*v1alpha1.Experiment)
		want string
	}{
		{name: "valid", want: ""},
		{name: "no templates", want: "spec.templates: at least one template is required", edit: func(ex *v1alpha1.Experiment) { ex.Spec.Templates = nil }},
		{name: "missing selector", want: "Rollout has missing field '.Spec.Templates[1].Selector'", edit: func(ex *v1alpha1.Experiment) { ex.Spec.Templates[1].Selector = nil }},
		{name: "empty selector", want: "This experiment is selecting all pods at index 0. A non-empty selector is required.", edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[0].Selector = &metav1.LabelSelector{}
		}},
		{name: "minReadySeconds past the deadline", want: "MinReadySeconds cannot be longer than ProgressDeadlineSeconds. Check template index 1", edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.ProgressDeadlineSeconds = ptr.To[int32](30)
			ex.Spec.Templates[1].MinReadySeconds = 31
		}},
		{name: "empty template name", want: "Experiment exp has empty template name at index 1", edit: func(ex *v1alpha1.Experiment) { ex.Spec.Templates[1].Name = "" }},
		{name: "repeated template name", want: "Experiment exp has repeated template name 'baseline' in templates", edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[1].Name = "baseline"
		}},
		{name: "selector not matching the labels", want: `spec.templates[1].selector: "role=canary" does not match the template's labels role=other`, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[1].Template.Labels = map[string]string{"role": "other"}
		}},
		{name: "no containers", want: "spec.templates[0].template.spec.containers: at least one container is required", edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[0].Template.Spec.Containers = nil
		}},
		{name: "bad duration", want: `spec.duration: "5 minutes" is not a duration (such as 30s, 5m, 1h)`, edit: func(ex *v1alpha1.Experiment) { ex.Spec.Duration = "5 minutes" }},
		{name: "negative replicas", want: "spec.templates[0].replicas: must not be negative, not -1", edit: func(ex *v1alpha1.Experiment) { ex.Spec.Templates[0].Replicas = ptr.To[int32](-1) }},
		{name: "upper-case template name", want: `spec.templates[0].name: the ReplicaSet name "exp-Baseline" is not valid`, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[0].Name = "Baseline"
		}},
		{name: "two templates on one Service", want: `spec.templates[1].service.name: "svc" is used by another template`, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Templates[0].Service = &v1alpha1.TemplateService{Name: "svc"}
			ex.Spec.Templates[1].Service = &v1alpha1.TemplateService{Name: "svc"}
		}},
		{name: "analysis without a name", want: "spec.analyses[0].name: required", edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{TemplateName: "t"}}
		}},
		{name: "two analyses with one name", want: `spec.analyses[1].name: "a" is used by another analysis`, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}, {Name: "a", TemplateName: "u"}}
		}},
		{name: "podTemplateHashValue arg", want: "spec.analyses[0].args[0].valueFrom.podTemplateHashValue: only a Rollout can supply it", edit: func(ex *v1alpha1.Experiment) {
			stable := v1alpha1.Stable
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t", Args: []v1alpha1.Argument{{Name: "h", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: &stable}}}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate(newExperiment(tt.edit))
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewReplicaSetAndService(t *testing.T) {
	ex := newExperiment(nil)
	ex.UID = "uid-1"
	tmpl := &ex.Spec.Templates[1]
	tmpl.MinReadySeconds = 5
	tmpl.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {ContainerPort: 9090, Protocol: corev1.ProtocolUDP}}
	tmpl.Service = &v1alpha1.TemplateService{}

	rs := NewReplicaSet(ex, tmpl, nil)
	h := hash.PodTemplateHash(&tmpl.Template, nil)
	if rs.Name != "exp-canary" || rs.Namespace != "ns" {
		t.Errorf("name %s/%s", rs.Namespace, rs.Name)
	}
	if *rs.Spec.Replicas != 0 || rs.Spec.MinReadySeconds != 5 {
		t.Errorf("replicas %d minReadySeconds %d", *rs.Spec.Replicas, rs.Spec.MinReadySeconds)
	}
	for what, l := range map[string]map[string]string{"labels": rs.Labels, "pod labels": rs.Spec.Template.Labels, "selector": rs.Spec.Selector.MatchLabels} {
		if l[v1alpha1.DefaultRolloutUniqueLabelKey] != h || l["role"] != "canary" {
			t.Errorf("%s %v, want role=canary and the hash %s", what, l, h)
		}
	}
	if _, ok := tmpl.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
		t.Error("the Experiment's template was changed")
	}
	if name, ok := Belongs(ex, rs); !ok || name != "canary" {
		t.Errorf("Belongs = %q %v", name, ok)
	}
	other := ex.DeepCopy()
	other.UID = "uid-2"
	if _, ok := Belongs(other, rs); ok {
		t.Error("a ReplicaSet of another Experiment of the same name belongs")
	}
	// A template that already carries a hash label hashes as without it.
	withHash := tmpl.DeepCopy()
	withHash.Template.Labels = map[string]string{"role": "canary", v1alpha1.DefaultRolloutUniqueLabelKey: "stale"}
	if got := PodTemplateHash(withHash, nil); got != h {
		t.Errorf("hash with a stale hash label %s, want %s", got, h)
	}
	if PodTemplateHash(tmpl, ptr.To[int32](1)) == h {
		t.Error("collisionCount does not change the hash")
	}

	svc := NewService(ex, tmpl, rs)
	if svc.Name != "exp-canary" || svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] != h || svc.Spec.Selector["role"] != "canary" {
		t.Errorf("service %s selector %v", svc.Name, svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 || svc.Spec.Ports[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("ports %+v", svc.Spec.Ports)
	}
	tmpl.Service.Name = "preview"
	if got := NewService(ex, tmpl, rs).Name; got != "preview" {
		t.Errorf("named service %s", got)
	}
	noPorts := tmpl.DeepCopy()
	noPorts.Template.Spec.Containers[0].Ports = nil
	if NewService(ex, noPorts, rs) != nil {
		t.Error("a Service without ports")
	}
}

func TestResolveArgs(t *testing.T) {
	ex := newExperiment(func(ex *v1alpha1.Experiment) {
		ex.Labels = map[string]string{"team": "web"}
		ex.Spec.Duration = "10m"
		ex.Status.AvailableAt = mt(t0)
	})
	rss := map[string]*appsv1.ReplicaSet{"baseline": {ObjectMeta: metav1.ObjectMeta{Name: "exp-baseline", Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: "abc"}}}}
	args := []v1alpha1.Argument{
		{Name: "hash", Value: ptr.To("{{templates.baseline.podTemplateHash}}")},
		{Name: "rs", Value: ptr.To("rs={{ templates.baseline.replicaset.name }}")},
		{Name: "window", Value: ptr.To("{{experiment.availableAt}}..{{experiment.finishedAt}}")},
		{Name: "unknown", Value: ptr.To("{{templates.canary.podTemplateHash}}/{{args.x}}")},
		{Name: "team", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['team']"}}},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
	}
	got, err := ResolveArgs(ex, args, rss)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hash": "abc", "rs": "rs=exp-baseline",
		"window":  t0.Format(time.RFC3339) + ".." + t0.Add(10*time.Minute).Format(time.RFC3339),
		"unknown": "{{templates.canary.podTemplateHash}}/{{args.x}}", "team": "web",
	}
	for _, a := range got {
		if a.Name == "token" {
			if a.ValueFrom == nil || a.ValueFrom.SecretKeyRef.Name != "s" || a.Value != nil {
				t.Errorf("secret arg %+v", a)
			}
			continue
		}
		if a.Value == nil || *a.Value != want[a.Name] {
			t.Errorf("arg %s = %v, want %q", a.Name, a.Value, want[a.Name])
		}
	}
	if _, err := ResolveArgs(ex, []v1alpha1.Argument{{Name: "x", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "spec.nope"}}}}, nil); err == nil {
		t.Error("an unreadable fieldRef resolved")
	}
}
