package imageupdater

import (
	"slices"
	"testing"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

func TestTriggeredImages(t *testing.T) {
	iu := &imagesv1.ImageUpdater{Spec: imagesv1.ImageUpdaterSpec{Images: []imagesv1.ImageSpec{
		{Name: "latest", Image: "registry.example.com:5000/team/backend"},
		{Name: "stable", Image: "registry.example.com:5000/team/backend", Strategy: imagesv1.StrategyDigest, Tag: "stable"},
		{Name: "semver", Image: "registry.example.com:5000/team/backend", Strategy: imagesv1.StrategySemver},
		{Name: "frontend", Image: "registry.example.com:5000/team/frontend"},
		{Name: "hub", Image: "nginx"},
	}}}
	tests := []struct {
		name string
		ev   webhook.Event
		want []string
	}{
		{"latest pushed", webhook.Event{Registry: "registry.example.com:5000", Repository: "team/backend", Tag: "latest"}, []string{"latest", "semver"}},
		{"stable pushed", webhook.Event{Registry: "REGISTRY.example.com:5000", Repository: "team/backend", Tag: "stable"}, []string{"stable", "semver"}},
		{"a version pushed", webhook.Event{Registry: "registry.example.com:5000", Repository: "team/backend", Tag: "1.2.3"}, []string{"semver"}},
		{"no tag named", webhook.Event{Registry: "registry.example.com:5000", Repository: "team/backend"}, []string{"latest", "stable", "semver"}},
		{"docker hub", webhook.Event{Registry: "docker.io", Repository: "library/nginx", Tag: "latest"}, []string{"hub"}},
		{"untracked", webhook.Event{Registry: "registry.example.com:5000", Repository: "team/db", Tag: "latest"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := triggeredImages(iu, tt.ev); !slices.Equal(got, tt.want) {
				t.Errorf("triggeredImages = %v, want %v", got, tt.want)
			}
		})
	}
	keys := indexRepositories(iu)
	want := []string{
		"registry.example.com:5000/team/backend", "registry.example.com:5000/team/backend", "registry.example.com:5000/team/backend",
		"registry.example.com:5000/team/frontend", "index.docker.io/library/nginx",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("indexRepositories = %v, want %v", keys, want)
	}
}
