package webhook

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParse(t *testing.T) {
	ghcrHeader := http.Header{"X-Github-Event": {"package"}}
	tests := []struct {
		name    string
		typ     Type
		body    string
		header  http.Header
		query   url.Values
		want    []Event
		wantErr string
	}{
		{
			name: "distribution: the manifest push by tag; blob push and pull ignored", typ: TypeDistribution, body: testdata(t, "distribution.json"),
			want: []Event{{Registry: "registry.example.com:5000", Repository: "team/backend", Tag: "latest", Digest: "sha256:8f14e45fceea167a5a36dedd4bea2543c1a0e1b2c3d4e5f60718293a4b5c6d7e"}},
		},
		{name: "distribution: no events key", typ: TypeDistribution, body: `{"event":[]}`, wantErr: "events is missing"},
		{name: "distribution: empty envelope", typ: TypeDistribution, body: `{"events":[]}`},
		{name: "distribution: push without host", typ: TypeDistribution, body: `{"events":[{"action":"push","target":{"repository":"a","tag":"t"}}]}`, wantErr: "events[0].request.host is missing"},
		{name: "distribution: not JSON", typ: TypeDistribution, body: `events: []`, wantErr: "not the expected JSON"},
		{name: "distribution: two values", typ: TypeDistribution, body: `{"events":[]} {}`, wantErr: "more than one JSON value"},
		{
			name: "docker hub", typ: TypeDockerHub, body: testdata(t, "dockerhub.json"),
			want: []Event{{Registry: "docker.io", Repository: "acme/backend", Tag: "latest"}},
		},
		{
			name: "docker hub: namespace and name only", typ: TypeDockerHub, body: `{"push_data":{"tag":"v1"},"repository":{"namespace":"acme","name":"api"}}`,
			want: []Event{{Registry: "docker.io", Repository: "acme/api", Tag: "v1"}},
		},
		{name: "docker hub: no push_data", typ: TypeDockerHub, body: `{"repository":{"repo_name":"acme/api"}}`, wantErr: "push_data is missing"},
		{name: "docker hub: no tag", typ: TypeDockerHub, body: `{"push_data":{},"repository":{"repo_name":"acme/api"}}`, wantErr: "push_data.tag is missing"},
		{
			name: "ghcr: owner and name lower-cased", typ: TypeGHCR, body: testdata(t, "ghcr.json"), header: ghcrHeader,
			want: []Event{{Registry: "ghcr.io", Repository: "acme-corp/backend", Tag: "latest", Digest: "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		},
		{
			name: "ghcr: registry_package event", typ: TypeGHCR, header: http.Header{"X-Github-Event": {"registry_package"}},
			body: `{"action":"published","registry_package":{"name":"api","package_type":"container","owner":{"login":"acme"},"package_version":{"container_metadata":{"tag":{"name":"v2","digest":""}},"version":"sha256:ab"}}}`,
			want: []Event{{Registry: "ghcr.io", Repository: "acme/api", Tag: "v2", Digest: "sha256:ab"}},
		},
		{name: "ghcr: ping", typ: TypeGHCR, header: http.Header{"X-Github-Event": {"ping"}}, body: `{"zen":"Keep it logically awesome."}`},
		{name: "ghcr: another event", typ: TypeGHCR, header: http.Header{"X-Github-Event": {"push"}}, body: `{}`},
		{name: "ghcr: no event header", typ: TypeGHCR, body: testdata(t, "ghcr.json"), wantErr: "X-GitHub-Event is missing"},
		{name: "ghcr: npm package", typ: TypeGHCR, header: ghcrHeader, body: `{"action":"published","package":{"name":"lib","package_type":"npm","owner":{"login":"acme"}}}`},
		{name: "ghcr: updated, not published", typ: TypeGHCR, header: ghcrHeader, body: strings.Replace(testdata(t, "ghcr.json"), `"published"`, `"updated"`, 1)},
		{name: "ghcr: untagged version", typ: TypeGHCR, header: ghcrHeader, body: `{"action":"published","package":{"name":"api","package_type":"CONTAINER","owner":{"login":"acme"},"package_version":{"version":"sha256:ab"}}}`},
		{name: "ghcr: no package", typ: TypeGHCR, header: ghcrHeader, body: `{"action":"published"}`, wantErr: "package is missing"},
		{
			name: "harbor", typ: TypeHarbor, body: testdata(t, "harbor.json"),
			want: []Event{{Registry: "harbor.example.com", Repository: "platform/backend", Tag: "latest", Digest: "sha256:9b74c9897bac770ffc029102a200c5de0a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		},
		{name: "harbor: a pull", typ: TypeHarbor, body: `{"type":"PULL_ARTIFACT","event_data":{}}`},
		{name: "harbor: no type", typ: TypeHarbor, body: `{"event_data":{}}`, wantErr: "type is missing"},
		{name: "harbor: no resource url", typ: TypeHarbor, body: `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"x"}],"repository":{"repo_full_name":"a/b"}}}`, wantErr: "event_data.resources[0].resource_url is missing"},
		{
			name: "quay: every updated tag", typ: TypeQuay, body: testdata(t, "quay.json"),
			want: []Event{{Registry: "quay.io", Repository: "acme/backend", Tag: "latest"}, {Registry: "quay.io", Repository: "acme/backend", Tag: "1.4.2"}},
		},
		{name: "quay: no docker_url", typ: TypeQuay, body: `{"repository":"acme/backend","updated_tags":["x"]}`, wantErr: "docker_url is missing"},
		{
			name: "aliyun acr: registry from the region", typ: TypeAliyunACR, body: testdata(t, "aliyun-acr.json"),
			want: []Event{{Registry: "registry.cn-hangzhou.aliyuncs.com", Repository: "acme/backend", Tag: "latest", Digest: "sha256:1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"}},
		},
		{
			name: "aliyun acr: registry from ?registry_url=", typ: TypeAliyunACR, body: testdata(t, "aliyun-acr.json"),
			query: url.Values{"registry_url": {"https://acme-registry.cn-hangzhou.cr.aliyuncs.com"}},
			want:  []Event{{Registry: "acme-registry.cn-hangzhou.cr.aliyuncs.com", Repository: "acme/backend", Tag: "latest", Digest: "sha256:1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"}},
		},
		{
			name: "acr", typ: TypeACR, body: testdata(t, "acr.json"),
			want: []Event{{Registry: "acme.azurecr.io", Repository: "platform/backend", Tag: "latest", Digest: "sha256:2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f"}},
		},
		{name: "acr: a delete", typ: TypeACR, body: `{"action":"delete","target":{"repository":"a","tag":"b"},"request":{"host":"acme.azurecr.io"}}`},
		{name: "acr: no action", typ: TypeACR, body: `{"target":{}}`, wantErr: "action is missing"},
		{
			name: "cloudevents: ECR push", typ: TypeCloudEvents, body: testdata(t, "cloudevents-ecr.json"),
			want: []Event{{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Repository: "backend", Tag: "latest", Digest: "sha256:3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a"}},
		},
		{
			name: "cloudevents: binary mode with EventBridge's detail names, China region", typ: TypeCloudEvents,
			header: http.Header{"Ce-Specversion": {"1.0"}, "Ce-Type": {"com.amazon.ecr.image.action"}, "Ce-Source": {"arn:aws-cn:ecr:cn-north-1:210987654321:repository/api"}},
			body:   `{"result":"SUCCESS","repository-name":"team/api","image-digest":"sha256:cd","action-type":"PUSH","image-tag":"v3"}`,
			want:   []Event{{Registry: "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn", Repository: "team/api", Tag: "v3", Digest: "sha256:cd"}},
		},
		{name: "cloudevents: a failed push", typ: TypeCloudEvents, body: strings.Replace(testdata(t, "cloudevents-ecr.json"), `"SUCCESS"`, `"FAILURE"`, 1)},
		{name: "cloudevents: a delete", typ: TypeCloudEvents, body: strings.Replace(testdata(t, "cloudevents-ecr.json"), `"PUSH"`, `"DELETE"`, 1)},
		{name: "cloudevents: another source's type", typ: TypeCloudEvents, body: `{"specversion":"1.0","type":"dev.knative.ping","source":"/x","data":{}}`},
		{name: "cloudevents: no specversion", typ: TypeCloudEvents, body: `{"type":"com.amazon.ecr.image.push","source":"urn:aws:ecr:eu-west-1:123456789012:repository/backend"}`, wantErr: "specversion is missing"},
		{name: "cloudevents: source not ECR", typ: TypeCloudEvents, body: strings.Replace(testdata(t, "cloudevents-ecr.json"), "urn:aws:ecr:eu-west-1:123456789012", "urn:gcp:gar:x", 1), wantErr: "source is not an ECR ARN or URN"},
		{name: "cloudevents: no data", typ: TypeCloudEvents, body: `{"specversion":"1.0","type":"com.amazon.ecr.image.push","source":"urn:aws:ecr:eu-west-1:123456789012:repository/backend"}`, wantErr: "data is missing"},
		{name: "unknown type", typ: "gcr", body: `{}`, wantErr: `unknown webhook type "gcr"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Header: tt.header, Query: tt.query, Body: []byte(tt.body)}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			got, err := Parse(tt.typ, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepositoryKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"nginx", "docker.io/library/nginx"},
		{"docker.io/acme/backend", "registry-1.docker.io/acme/backend"},
		{"index.docker.io/acme/backend", "acme/backend"},
		{"GHCR.io/acme/backend", "ghcr.io/acme/backend"},
		{"ghcr.io:443/acme/backend", "ghcr.io/acme/backend"},
		{"127.0.0.1:5000/backend", "127.0.0.1:5000/backend"},
		{"localhost/backend", "localhost/backend"},
	}
	for _, tt := range tests {
		t.Run(tt.a, func(t *testing.T) {
			ka, err := RepositoryKey(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			kb, err := RepositoryKey(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if ka != kb {
				t.Errorf("%q -> %q, %q -> %q; want equal", tt.a, ka, tt.b, kb)
			}
		})
	}
	if _, err := RepositoryKey("ghcr.io/Acme/Backend"); err == nil {
		t.Error("an upper-case repository path is not a repository")
	}
}

func TestMatches(t *testing.T) {
	ev := Event{Registry: "127.0.0.1:5000", Repository: "team/backend", Tag: "latest"}
	tests := []struct {
		name        string
		ev          Event
		image, tag  string
		wantMatches bool
	}{
		{"tracked tag", ev, "127.0.0.1:5000/team/backend", "latest", true},
		{"another tag", ev, "127.0.0.1:5000/team/backend", "stable", false},
		{"any tag", ev, "127.0.0.1:5000/team/backend", "", true},
		{"event without tag", Event{Registry: "127.0.0.1:5000", Repository: "team/backend"}, "127.0.0.1:5000/team/backend", "stable", true},
		{"another repository", ev, "127.0.0.1:5000/team/frontend", "latest", false},
		{"same repository, another registry", ev, "127.0.0.1:5001/team/backend", "latest", false},
		{"docker hub short name", Event{Registry: "docker.io", Repository: "library/nginx", Tag: "latest"}, "nginx", "latest", true},
		{"docker hub: not the same without library/", Event{Registry: "docker.io", Repository: "acme/nginx", Tag: "latest"}, "nginx", "latest", false},
		{"event not a repository", Event{Registry: "x", Repository: "UPPER", Tag: "latest"}, "x/UPPER", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.ev, tt.image, tt.tag); got != tt.wantMatches {
				t.Errorf("Matches = %v, want %v", got, tt.wantMatches)
			}
		})
	}
}
