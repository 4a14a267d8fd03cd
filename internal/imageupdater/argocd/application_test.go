package argocd

import (
	"slices"
	"testing"
)

const d = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

func TestMergeImages(t *testing.T) {
	backend := Image{KustomizeName: "backend", Ref: "reg.example.com:5000/backend:latest@" + d}
	tests := []struct {
		name        string
		current     []string
		images      []Image
		want        []string
		wantChanged []bool
	}{
		{
			name:        "empty list",
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{true},
		},
		{
			name:        "replaces an aliased entry in place",
			current:     []string{"frontend=web:v2", "backend=reg.example.com:5000/backend:latest@sha256:old", "redis:7"},
			images:      []Image{backend},
			want:        []string{"frontend=web:v2", "backend=reg.example.com:5000/backend:latest@" + d, "redis:7"},
			wantChanged: []bool{true},
		},
		{
			name:        "replaces a bare entry for the same image",
			current:     []string{"backend:v1"},
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{true},
		},
		{
			name:        "unchanged",
			current:     []string{"backend=reg.example.com:5000/backend:latest@" + d},
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{false},
		},
		{
			name:        "two images, one already set",
			current:     []string{"backend=reg.example.com:5000/backend:latest@" + d},
			images:      []Image{backend, {KustomizeName: "reg.example.com:5000/worker", Ref: "reg.example.com:5000/worker:1.2.3"}},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d, "reg.example.com:5000/worker=reg.example.com:5000/worker:1.2.3"},
			wantChanged: []bool{false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := MergeImages(tt.current, tt.images)
			if !slices.Equal(got, tt.want) || !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("MergeImages = %q %v, want %q %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestStripTagAndDigest(t *testing.T) {
	tests := map[string]string{
		"backend":                             "backend",
		"backend:latest":                      "backend",
		"reg:5000/backend":                    "reg:5000/backend",
		"reg:5000/backend:v1":                 "reg:5000/backend",
		"reg:5000/backend:v1@sha256:abc":      "reg:5000/backend",
		"reg:5000/backend@sha256:abc":         "reg:5000/backend",
		"docker.io/library/nginx:1.27-alpine": "docker.io/library/nginx",
	}
	for in, want := range tests {
		if got := StripTagAndDigest(in); got != want {
			t.Errorf("StripTagAndDigest(%q) = %q, want %q", in, got, want)
		}
	}
}
