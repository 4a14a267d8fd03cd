package imageupdater

import (
	"errors"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/redact"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

const reg = "registry.example.com:5000"

func TestIndexAppRepositories(t *testing.T) {
	cr := &aiuv1.ImageUpdater{Spec: aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{
		{NamePattern: "a", Images: []aiuv1.ImageConfig{
			{Alias: "backend", ImageName: reg + "/team/backend:latest"},
			{Alias: "hub", ImageName: "nginx:1.x"},
			{Alias: "bad", ImageName: "UPPER/case"},
		}},
		{NamePattern: "b*", UseAnnotations: ptr.To(true), Images: []aiuv1.ImageConfig{{Alias: "ignored", ImageName: reg + "/ignored"}}},
	}}}
	want := []string{reg + "/team/backend", "index.docker.io/library/nginx", annotationsIndexValue}
	if got := indexAppRepositories(cr); !slices.Equal(got, want) {
		t.Errorf("indexAppRepositories = %v, want %v", got, want)
	}
	if got := indexAppRepositories(&imagesv1.ImageUpdater{}); got != nil {
		t.Errorf("indexAppRepositories of another kind = %v, want none", got)
	}
}

func TestTriggersApps(t *testing.T) {
	digest := ptr.To("digest")
	spec := &aiuv1.ImageUpdater{Spec: aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{
		NamePattern: "backend-*",
		Images: []aiuv1.ImageConfig{
			{Alias: "latest", ImageName: reg + "/team/backend:latest", CommonUpdateSettings: &aiuv1.CommonUpdateSettings{UpdateStrategy: digest}},
			{Alias: "semver", ImageName: reg + "/team/api:1.x"},
		},
	}}}}
	annotated := &aiuv1.ImageUpdater{Spec: aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{
		{NamePattern: "front-*", UseAnnotations: ptr.To(true)},
		// An Application matching both gets the more specific ref's images.
		{NamePattern: "front-special", Images: []aiuv1.ImageConfig{{Alias: "special", ImageName: reg + "/team/special"}}},
	}}}
	apps := []appMeta{
		{name: "front-prod", annotations: map[string]string{
			AnnotationPrefix + "image-list":             "web=" + reg + "/team/web:latest, " + reg + "/team/worker",
			AnnotationPrefix + "web.update-strategy":    "digest",
			AnnotationPrefix + "worker.update-strategy": "digest", // no alias: app-wide settings only
		}},
		{name: "front-special", annotations: map[string]string{AnnotationPrefix + "image-list": reg + "/team/shadowed"}},
		{name: "other", annotations: map[string]string{AnnotationPrefix + "image-list": reg + "/team/unselected"}},
		{name: "front-empty"},
	}
	push := func(repo, tag string) webhook.Event { return webhook.Event{Registry: reg, Repository: repo, Tag: tag} }
	tests := []struct {
		name string
		cr   *aiuv1.ImageUpdater
		ev   webhook.Event
		want bool
	}{
		{"spec image, tracked tag", spec, push("team/backend", "latest"), true},
		{"spec image, another tag of a digest image", spec, push("team/backend", "v2"), false},
		{"spec image, any tag of a semver image", spec, push("team/api", "1.4.0"), true},
		{"spec image, an event without a tag", spec, push("team/backend", ""), true},
		{"spec image, another repository", spec, push("team/web", "latest"), false},
		{"annotation image, tracked tag", annotated, push("team/web", "latest"), true},
		{"annotation image, another tag", annotated, push("team/web", "v1"), false},
		{"annotation image without alias (semver, any tag)", annotated, push("team/worker", "v1"), true},
		{"the more specific ref wins", annotated, push("team/special", "1.0.0"), true},
		{"an annotation shadowed by a more specific ref", annotated, push("team/shadowed", "1.0.0"), false},
		{"an Application no ref selects", annotated, push("team/unselected", "1.0.0"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listed := 0
			got, err := triggersApps(tt.cr, tt.ev, func() ([]appMeta, error) { listed++; return apps, nil })
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("triggersApps = %v, want %v", got, tt.want)
			}
			if tt.cr == spec && listed > 0 {
				t.Errorf("Applications listed for an ImageUpdater without useAnnotations")
			}
		})
	}
	t.Run("the Applications cannot be listed", func(t *testing.T) {
		boom := errors.New("forbidden")
		if _, err := triggersApps(annotated, push("team/web", "latest"), func() ([]appMeta, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	})
}

func TestFullCheck(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	checked := func(ago time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-ago)); return &t }
	pushed := map[string]bool{reg + "/team/web": true}
	tests := []struct {
		name   string
		status aiuv1.ImageUpdaterStatus
		pushed map[string]bool
		want   bool
	}{
		{"no push: the interval's check", aiuv1.ImageUpdaterStatus{ObservedGeneration: 1, LastCheckedAt: checked(time.Minute)}, nil, true},
		{"a push inside the interval", aiuv1.ImageUpdaterStatus{ObservedGeneration: 1, LastCheckedAt: checked(time.Minute)}, pushed, false},
		{"a push when the interval has passed", aiuv1.ImageUpdaterStatus{ObservedGeneration: 1, LastCheckedAt: checked(2 * time.Minute)}, pushed, true},
		{"a push before the first check", aiuv1.ImageUpdaterStatus{}, pushed, true},
		{"a push with a changed spec", aiuv1.ImageUpdaterStatus{ObservedGeneration: 0, LastCheckedAt: checked(time.Second)}, pushed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fullCheck(tt.status, 1, now, 2*time.Minute, tt.pushed); got != tt.want {
				t.Errorf("fullCheck = %v, want %v", got, tt.want)
			}
		})
	}
	web := imagePlan{spec: imagesv1.ImageSpec{Image: reg + "/team/web"}}
	api := imagePlan{spec: imagesv1.ImageSpec{Image: reg + "/team/api"}}
	if !pushedImage(web, pushed) || pushedImage(api, pushed) || pushedImage(web, nil) {
		t.Errorf("pushedImage: want only %s pushed", web.spec.Image)
	}
}

// TestRecordAppStatusOfAPushCheck: a push's check records the pushed
// image's new status and keeps the last one of the image it did not poll,
// error included, so the conditions still count it; status.lastCheckedAt
// stays the time of the last full check.
func TestRecordAppStatusOfAPushCheck(t *testing.T) {
	last := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	now := metav1.NewTime(last.Add(30 * time.Second))
	cr := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "shop", Generation: 1},
		Status:     aiuv1.ImageUpdaterStatus{ObservedGeneration: 1, LastCheckedAt: &last},
	}
	failing := aiuv1.ImageStatus{Alias: "worker", Image: reg + "/team/worker", Reason: "RegistryError", Message: "registry unreachable", LastCheckedAt: &last}
	for _, full := range []bool{false, true} {
		u := &unit{
			plan: &plan{images: []imagePlan{
				{spec: imagesv1.ImageSpec{Name: "backend", Image: reg + "/team/backend"}},
				{spec: imagesv1.ImageSpec{Name: "worker", Image: reg + "/team/worker"}},
			}},
			statuses: []imagesv1.ImageStatus{
				{Name: "backend", Tag: "latest", Digest: "sha256:new", LastCheckedAt: &now},
				// As planApp hands a kept status to the engine: reason cleared.
				{Name: "worker", LastCheckedAt: &now},
			},
			current: []string{"", ""},
		}
		c := &appCheck{cr: cr.DeepCopy(), now: now, full: full, redactor: redact.New(), apps: []appState{{
			name: "backend-prod", unit: u,
			images: []aiuv1.ImageStatus{
				{Alias: "backend", Image: reg + "/team/backend"},
				{Alias: "worker", Image: reg + "/team/worker"},
			},
			polled:   []int{0, 1},
			previous: []aiuv1.ImageStatus{{Alias: "backend", Image: reg + "/team/backend"}, failing},
			due:      []bool{true, full},
		}}}
		(&AppReconciler{Reconciler: &Reconciler{}}).recordAppStatus(c)
		st := c.cr.Status
		images := st.Applications[0].Images
		if images[0].Digest != "sha256:new" {
			t.Errorf("full=%v: backend = %+v, want the polled digest", full, images[0])
		}
		wantWorker := failing
		if full {
			wantWorker = aiuv1.ImageStatus{Alias: "worker", Image: reg + "/team/worker", LastCheckedAt: &now}
		}
		if !equalImageStatus(images[1], wantWorker) {
			t.Errorf("full=%v: worker = %+v, want %+v", full, images[1], wantWorker)
		}
		errCond := meta.FindStatusCondition(st.Conditions, aiuv1.ConditionError)
		wantReason, wantChecked := aiuv1.ReasonPartialErrors, last
		if full {
			wantReason, wantChecked = aiuv1.ReasonNoErrors, now
		}
		if errCond == nil || errCond.Reason != wantReason {
			t.Errorf("full=%v: Error condition = %+v, want reason %s", full, errCond, wantReason)
		}
		if !st.LastCheckedAt.Equal(&wantChecked) {
			t.Errorf("full=%v: lastCheckedAt = %v, want %v", full, st.LastCheckedAt, wantChecked)
		}
	}
}

func equalImageStatus(a, b aiuv1.ImageStatus) bool {
	return a.Alias == b.Alias && a.Image == b.Image && a.Reason == b.Reason && a.Message == b.Message &&
		a.Digest == b.Digest && a.LastCheckedAt.Equal(b.LastCheckedAt)
}
