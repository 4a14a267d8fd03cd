package metrics

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestNamedAfter(t *testing.T) {
	tests := []struct {
		name     string
		rollouts []string
		object   string
		want     bool
	}{
		{"the Rollout itself", []string{"app"}, "app", true},
		{"its ReplicaSet", []string{"app"}, "app-6f775bc68c", true},
		{"its AnalysisRun", []string{"app"}, "app-6f775bc68c-3-1", true},
		{"another name", []string{"app", "web"}, "web-6f775bc68c", false},
		{"a name it only starts", []string{"app"}, "apple-6f775bc68c", false},
		{"another Rollout it prefixes", []string{"app", "app-v2"}, "app-v2", false},
		{"that Rollout's ReplicaSet", []string{"app", "app-v2"}, "app-v2-6f775bc68c", false},
		{"its own ReplicaSet next to app-v2", []string{"app", "app-v2"}, "app-v3abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isRollout := func(n string) bool { return slices.Contains(tt.rollouts, n) }
			if got := namedAfter("app", tt.object, isRollout); got != tt.want {
				t.Errorf("namedAfter(app, %v)(%s) = %v, want %v", tt.rollouts, tt.object, got, tt.want)
			}
		})
	}
}

// TestRequestSeriesOfDeletedObjects: the series of an object the
// controller deleted are still exported for the retention, then removed;
// other objects' series stay.
func TestRequestSeriesOfDeletedObjects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	c := NewRequestCounter()
	c.now = func() time.Time { return now }
	client := &http.Client{Transport: c.WrapTransport(http.DefaultTransport)}
	do := func(method, path string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	seriesOf := func(name string) int {
		c.counter.mu.Lock()
		defer c.counter.mu.Unlock()
		return len(c.counter.objects[objectRef{"ns", name}])
	}

	do(http.MethodPatch, "/apis/apps/v1/namespaces/ns/replicasets/app-old")
	do(http.MethodDelete, "/apis/apps/v1/namespaces/ns/replicasets/app-old")
	do(http.MethodPatch, "/apis/apps/v1/namespaces/ns/replicasets/app-new")
	if got := seriesOf("app-old"); got != 2 {
		t.Fatalf("right after the delete: %d series of app-old, want 2 (patch and delete)", got)
	}
	now = now.Add(deletedRetention - time.Second)
	do(http.MethodDelete, "/apis/apps/v1/namespaces/ns/replicasets/app-older")
	if got := seriesOf("app-old"); got != 2 {
		t.Fatalf("within the retention: %d series of app-old, want 2", got)
	}
	now = now.Add(2 * time.Second)
	do(http.MethodPatch, "/apis/apps/v1/namespaces/ns/replicasets/app-new")
	do(http.MethodDelete, "/apis/apps/v1/namespaces/ns/replicasets/app-newest")
	if got := seriesOf("app-old"); got != 0 {
		t.Errorf("after the retention: %d series of app-old, want 0", got)
	}
	if got := seriesOf("app-older"); got != 1 {
		t.Errorf("deleted within the retention: %d series of app-older, want 1", got)
	}
	if got := seriesOf("app-new"); got != 1 {
		t.Errorf("never deleted: %d series of app-new, want 1", got)
	}
}
