package registriesconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// reference is registries.conf as argocd-image-updater's users write it
// for ECR, a private registry and Docker Hub.
const reference = `registries:
- name: ECR
  api_url: https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/
  prefix: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
  ping: yes
  insecure: no
  credentials: ext:/app/scripts/ecr-login.sh
  credsexpire: 11h
- name: Private
  api_url: https://registry.example.com:5000
  prefix: registry.example.com:5000/team
  credentials: secret:argocd/registry-creds#creds
  tagsortmode: latest-first
  limit: 5
- name: Docker Hub
  api_url: https://registry-1.docker.io
  prefix: docker.io
  defaultns: library
  default: true
  credentials: pullsecret:argocd/dockerhub
- name: Elsewhere
  api_url: http://mirror.internal
  credentials: env:MIRROR_CREDS
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(reference))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Registries: []Registry{
		{Name: "ECR", APIURL: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", Prefix: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
			Credentials: &CredentialRef{Kind: Ext, Path: "/app/scripts/ecr-login.sh"}, CredsExpire: 11 * time.Hour, TagSortMode: TagSortNone},
		{Name: "Private", APIURL: "https://registry.example.com:5000", Prefix: "registry.example.com:5000/team",
			Credentials: &CredentialRef{Kind: SecretField, Namespace: "argocd", Name: "registry-creds", Field: "creds"}, TagSortMode: TagSortLatestFirst, Limit: 5},
		{Name: "Docker Hub", APIURL: "https://registry-1.docker.io", Prefix: "docker.io", DefaultNS: "library", Default: true,
			Credentials: &CredentialRef{Kind: PullSecret, Namespace: "argocd", Name: "dockerhub"}, TagSortMode: TagSortNone},
		{Name: "Elsewhere", APIURL: "http://mirror.internal", Credentials: &CredentialRef{Kind: Env, Var: "MIRROR_CREDS"}, TagSortMode: TagSortNone},
	}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	ca, err := testregistry.NewCA("registriesconf test")
	if err != nil {
		t.Fatal(err)
	}
	indent := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") }
	tests := []struct {
		name string
		conf string
		want []string // every one must appear
	}{
		{"unknown key", "registries:\n- name: a\n  api_url: https://a\n  credential: env:X\n", []string{`unknown field "credential"`}},
		{"unknown top key", "registry: []\n", []string{`unknown field "registry"`}},
		{"not YAML", "registries: [\n", []string{"registries.conf is not valid"}},
		{"name and api_url missing", "registries:\n- prefix: a.io\n", []string{"registries[0].name: required", "registries[0].api_url: required"}},
		{"api_url not http", "registries:\n- name: a\n  api_url: ftp://a\n", []string{`registries[0].api_url: "ftp://a" is not an http(s):// URL`}},
		{"api_url without host", "registries:\n- name: a\n  api_url: a.io\n", []string{`registries[0].api_url: "a.io" is not an http(s):// URL`}},
		{"two without prefix", "registries:\n- name: a\n  api_url: https://a\n- name: b\n  api_url: https://b\n", []string{"registries[1].prefix: required: registries[0] already has no prefix"}},
		{"same prefix twice", "registries:\n- name: a\n  api_url: https://a\n  prefix: Ghcr.io\n- name: b\n  api_url: https://b\n  prefix: ghcr.io\n", []string{`registries[1].prefix: "ghcr.io" is also the prefix of registries[0]`}},
		{"two defaults", "registries:\n- name: a\n  api_url: https://a\n  prefix: a\n  default: true\n- name: b\n  api_url: https://b\n  prefix: b\n  default: true\n", []string{"registries[1].default: registries[0] is the default already"}},
		{"credentials form", "registries:\n- name: a\n  api_url: https://a\n  credentials: vault:x\n", []string{`registries[0].credentials: unknown form "vault"`}},
		{"credentials secret without field", "registries:\n- name: a\n  api_url: https://a\n  credentials: secret:ns/name\n", []string{"registries[0].credentials: secret:ns/name: want secret:<namespace>/<name>#<field>"}},
		{"credsexpire", "registries:\n- name: a\n  api_url: https://a\n  credsexpire: 11 hours\n", []string{`registries[0].credsexpire: "11 hours" is not a positive Go duration`}},
		{"negative credsexpire", "registries:\n- name: a\n  api_url: https://a\n  credsexpire: -1h\n", []string{`registries[0].credsexpire: "-1h"`}},
		{"tagsortmode", "registries:\n- name: a\n  api_url: https://a\n  tagsortmode: newest\n", []string{`registries[0].tagsortmode: "newest" is not one of none, latest-first, latest-last`}},
		{"limit", "registries:\n- name: a\n  api_url: https://a\n  limit: -3\n", []string{"registries[0].limit: -3 is negative"}},
		{"ca_data", "registries:\n- name: a\n  api_url: https://a\n  ca_data: not a certificate\n", []string{"registries[0].ca_data: holds no PEM certificate"}},
		{"ca_data valid", "registries:\n- name: a\n  api_url: https://a\n  ca_data: |\n    " + indent(string(ca.PEM)) + "\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.conf))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestFor(t *testing.T) {
	c, err := Parse([]byte(reference + `- name: Team A
  api_url: https://registry.example.com:5000
  prefix: registry.example.com:5000/team/a
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ image, want string }{
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend", "ECR"},
		{"123456789012.DKR.ecr.eu-west-1.amazonaws.com/backend", "ECR"},
		{"registry.example.com:5000/team/backend", "Private"},
		{"registry.example.com:5000/team/a/backend", "Team A"},      // the longer prefix
		{"registry.example.com:5000/team/a", "Team A"},              // exact
		{"registry.example.com:5000/teamster/backend", "Elsewhere"}, // not at a path boundary
		{"index.docker.io/library/nginx", "Docker Hub"},
		{"docker.io/acme/backend", "Docker Hub"},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/backend", "Elsewhere"},
		{"ghcr.io/acme/backend", "Elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			r := c.For(tt.image)
			if r == nil || r.Name != tt.want {
				t.Errorf("For = %+v, want %s", r, tt.want)
			}
		})
	}
	withoutCatchAll, err := Parse([]byte("registries:\n- name: a\n  api_url: https://a.io\n  prefix: a.io\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := withoutCatchAll.For("b.io/x"); r != nil {
		t.Errorf("For(b.io/x) = %+v, want none", r)
	}
	if r := (*Config)(nil).For("a.io/x"); r != nil {
		t.Errorf("nil config gave %+v", r)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(filepath.Join(dir, "missing.conf"))
	if err != nil || len(c.Registries) != 0 {
		t.Fatalf("a missing file: %v, %v; want the built-ins (no entries)", c, err)
	}
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("registries:\n- name: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "api_url: required") {
		t.Fatalf("Load(bad) = %v, want an error naming the file and the field", err)
	}
}
