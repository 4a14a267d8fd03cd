package registry

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistry(t *testing.T) {
	r := Start(t)
	client := &http.Client{Transport: r.Transport()}
	get := func(user, pass string) int {
		req, err := http.NewRequest(http.MethodGet, "https://"+r.Host+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous /v2/ = %d, want 401", code)
	}
	if code := get(r.Username, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password /v2/ = %d, want 401", code)
	}
	if code := get(r.Username, r.Password); code != http.StatusOK {
		t.Errorf("/v2/ with credentials = %d, want 200", code)
	}

	d := r.PushIndex(t, "multi:latest", "linux/amd64", "linux/arm64")
	ref, err := name.ParseReference(r.Repo("multi:latest"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithAuth(r.Auth()), remote.WithTransport(r.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != d || !desc.MediaType.IsIndex() {
		t.Errorf("HEAD = %s %s, want index %s", desc.MediaType, desc.Digest, d)
	}

	// Stopped, the registry refuses connections; restarted, it has kept
	// its content.
	r.Stop()
	if _, err := client.Get("https://" + r.Host + "/v2/"); err == nil {
		t.Error("stopped registry still answers")
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(ref, remote.WithAuth(r.Auth()), remote.WithTransport(r.Transport())); err != nil {
		t.Errorf("after restart: %v", err)
	}
}
