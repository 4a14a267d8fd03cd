package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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

// TestNotifications checks that Options.Config reaches the registry: an
// endpoint configured under notifications receives the push event.
func TestNotifications(t *testing.T) {
	events := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var env struct {
			Events []struct {
				Action string `json:"action"`
				Target struct {
					Repository string `json:"repository"`
					Tag        string `json:"tag"`
				} `json:"target"`
			} `json:"events"`
		}
		if err := json.NewDecoder(req.Body).Decode(&env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, e := range env.Events {
			if e.Target.Tag != "" {
				events <- e.Action + " " + e.Target.Repository + ":" + e.Target.Tag
			}
		}
	}))
	t.Cleanup(hook.Close)
	r := StartWith(t, Options{Config: fmt.Sprintf(`
notifications:
  endpoints:
  - name: test
    url: %s
    timeout: 2s
    threshold: 3
    backoff: 100ms
`, hook.URL)})

	r.PushRandom(t, "app:v1")
	select {
	case e := <-events:
		if e != "push app:v1" {
			t.Errorf("event %q, want push app:v1", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no push event reached the notifications endpoint")
	}
}
