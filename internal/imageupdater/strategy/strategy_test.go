package strategy

import (
	"slices"
	"testing"
	"time"
)

func TestFilter(t *testing.T) {
	tags := []string{"latest", "v1.0.0", "v1.1.0-rc.1", "v1.1.0", "v2.0.0", "main-abc123", "main-def456", "dev"}
	tests := []struct {
		name   string
		allow  string
		ignore []string
		want   []string
	}{
		{name: "no filter keeps all", want: tags},
		{name: "any keeps all", allow: "any", want: tags},
		{name: "allow regexp", allow: `regexp:^v1\.`, want: []string{"v1.0.0", "v1.1.0-rc.1", "v1.1.0"}},
		{name: "ignore glob", ignore: []string{"main-*", "latest"}, want: []string{"v1.0.0", "v1.1.0-rc.1", "v1.1.0", "v2.0.0", "dev"}},
		{name: "ignore regexp", ignore: []string{`regexp:-rc\.\d+$`}, want: []string{"latest", "v1.0.0", "v1.1.0", "v2.0.0", "main-abc123", "main-def456", "dev"}},
		{name: "allow and ignore", allow: `regexp:^main-`, ignore: []string{"*def*"}, want: []string{"main-abc123"}},
		{name: "ignore question mark", ignore: []string{"de?"}, want: []string{"latest", "v1.0.0", "v1.1.0-rc.1", "v1.1.0", "v2.0.0", "main-abc123", "main-def456"}},
		{name: "nothing left", allow: `regexp:^release-`, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter(tt.allow, tt.ignore)
			if err != nil {
				t.Fatalf("NewFilter: %v", err)
			}
			if got := f.Apply(tags); !slices.Equal(got, tt.want) {
				t.Errorf("Apply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFilterInvalid(t *testing.T) {
	tests := []struct {
		name   string
		allow  string
		ignore []string
	}{
		{name: "allow without prefix", allow: "v1.*"},
		{name: "allow bad regexp", allow: "regexp:("},
		{name: "ignore bad regexp", ignore: []string{"regexp:[a-"}},
		{name: "ignore bad glob", ignore: []string{"[a-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFilter(tt.allow, tt.ignore); err == nil {
				t.Fatal("NewFilter succeeded, want an error")
			}
		})
	}
}

func TestSemver(t *testing.T) {
	tags := []string{"latest", "1.0.0", "v1.2.3", "1.2.3", "1.10.0", "1.9.9", "2.0.0-beta.1", "2.0.0", "sha-1234", "0.9"}
	tests := []struct {
		constraint string
		want       []string
	}{
		{constraint: "", want: []string{"2.0.0", "1.10.0", "1.9.9", "v1.2.3", "1.2.3", "1.0.0", "0.9"}},
		{constraint: "^1.2", want: []string{"1.10.0", "1.9.9", "v1.2.3", "1.2.3"}},
		{constraint: "~1.2", want: []string{"v1.2.3", "1.2.3"}},
		{constraint: ">=1.0, <2", want: []string{"1.10.0", "1.9.9", "v1.2.3", "1.2.3", "1.0.0"}},
		{constraint: ">=2.0.0-0", want: []string{"2.0.0", "2.0.0-beta.1"}},
		{constraint: "^3", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.constraint, func(t *testing.T) {
			c, err := ParseConstraint(tt.constraint)
			if err != nil {
				t.Fatalf("ParseConstraint: %v", err)
			}
			if got := Semver(tags, c); !slices.Equal(got, tt.want) {
				t.Errorf("Semver = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseConstraint("not a constraint"); err == nil {
		t.Error("ParseConstraint accepted garbage")
	}
}

func TestAlphabetical(t *testing.T) {
	tags := []string{"2024-01-02", "2024-01-10", "2023-12-31", "2024-01-01"}
	want := []string{"2024-01-10", "2024-01-02", "2024-01-01", "2023-12-31"}
	if got := Alphabetical(tags); !slices.Equal(got, want) {
		t.Errorf("Alphabetical = %q, want %q", got, want)
	}
	if tags[0] != "2024-01-02" {
		t.Error("Alphabetical sorted its input in place")
	}
}

func TestNewestBuild(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	builds := []Build{
		{Tag: "a", Created: base},
		{Tag: "b", Created: base.Add(time.Hour)},
		{Tag: "c", Created: base.Add(-time.Hour)},
		{Tag: "d", Created: base.Add(time.Hour)},
	}
	want := []string{"d", "b", "a", "c"}
	if got := NewestBuild(builds); !slices.Equal(got, want) {
		t.Errorf("NewestBuild = %q, want %q", got, want)
	}
}
