package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// recorder is a Tracker that tracks one repository and records what it
// was asked.
type recorder struct {
	image string
	fail  error
	mu    sync.Mutex
	got   []Event
}

func (r *recorder) Trigger(_ context.Context, ev Event) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
	if Matches(ev, r.image, "") {
		return 1, nil
	}
	return 0, nil
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...)
}

func TestHandler(t *testing.T) {
	const secret = "hook-secret-0123"
	distribution := testdata(t, "distribution.json")
	ghcr := testdata(t, "ghcr.json")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ghcr))
	ghcrSig := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name          string
		method        string
		target        string
		header        map[string]string
		body          string
		trackedImage  string
		allowNoSecret bool
		fail          error
		wantCode      int
		wantBody      string
		wantEvents    int
		wantReason    string // label of the rejection counter
	}{
		{name: "distribution push of a tracked image", method: "POST", target: "/webhook?type=distribution", header: map[string]string{"Authorization": "Bearer " + secret},
			body: distribution, trackedImage: "registry.example.com:5000/team/backend", wantCode: 200, wantBody: `{"events":1,"triggered":1}`, wantEvents: 1},
		{name: "type in the header", method: "POST", target: "/webhook", header: map[string]string{"X-Registry-Type": "distribution", "Authorization": secret},
			body: distribution, trackedImage: "registry.example.com:5000/team/backend", wantCode: 200, wantBody: `{"events":1,"triggered":1}`, wantEvents: 1},
		{name: "an image nobody tracks", method: "POST", target: "/webhook?type=distribution&secret=" + secret,
			body: distribution, trackedImage: "registry.example.com:5000/team/frontend", wantCode: 200, wantBody: `{"events":1,"triggered":0}`, wantEvents: 1},
		{name: "ghcr signed", method: "POST", target: "/webhook?type=ghcr.io", header: map[string]string{"X-Hub-Signature-256": ghcrSig, "X-GitHub-Event": "package"},
			body: ghcr, trackedImage: "ghcr.io/acme-corp/backend", wantCode: 200, wantBody: `{"events":1,"triggered":1}`, wantEvents: 1},
		{name: "bad secret", method: "POST", target: "/webhook?type=distribution", header: map[string]string{"Authorization": "Bearer wrong"},
			body: distribution, wantCode: 401, wantReason: rejectUnauthorized},
		{name: "no secret", method: "POST", target: "/webhook?type=distribution",
			body: distribution, wantCode: 401, wantReason: rejectUnauthorized},
		{name: "ghcr signature of another body", method: "POST", target: "/webhook?type=ghcr.io", header: map[string]string{"X-Hub-Signature-256": ghcrSig, "X-GitHub-Event": "package"},
			body: strings.Replace(ghcr, "latest", "evil", 1), wantCode: 401, wantReason: rejectUnauthorized},
		{name: "malformed payload", method: "POST", target: "/webhook?type=distribution", header: map[string]string{"Authorization": secret},
			body: `{"events": [`, wantCode: 400, wantBody: "malformed distribution payload", wantReason: rejectMalformed},
		{name: "unknown type", method: "POST", target: "/webhook?type=gcr", body: `{}`, wantCode: 400, wantBody: `unknown webhook type "gcr"`, wantReason: rejectUnknownType},
		{name: "no type", method: "POST", target: "/webhook", body: `{}`, wantCode: 400, wantReason: rejectUnknownType},
		{name: "a type without secret is disabled", method: "POST", target: "/webhook?type=quay.io", body: testdata(t, "quay.json"),
			wantCode: 400, wantBody: "not enabled", wantReason: rejectDisabled},
		{name: "a type without secret, unauthenticated allowed", method: "POST", target: "/webhook?type=quay.io", body: testdata(t, "quay.json"),
			allowNoSecret: true, trackedImage: "quay.io/acme/backend", wantCode: 200, wantBody: `{"events":2,"triggered":2}`, wantEvents: 2},
		{name: "GET", method: "GET", target: "/webhook?type=distribution", wantCode: 405, wantReason: rejectMethod},
		{name: "body too large", method: "POST", target: "/webhook?type=distribution", header: map[string]string{"Authorization": secret},
			body: `{"events":[` + strings.Repeat(" ", MaxBodyBytes) + `]}`, wantCode: 413, wantReason: rejectTooLarge},
		{name: "dispatch fails", method: "POST", target: "/webhook?type=distribution", header: map[string]string{"Authorization": secret},
			body: distribution, fail: errors.New("cache not synced"), wantCode: 500, wantReason: rejectInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{image: tt.trackedImage, fail: tt.fail}
			h := &Handler{
				Secrets:              map[Type]string{TypeDistribution: secret, TypeGHCR: secret},
				AllowUnauthenticated: tt.allowNoSecret,
				Dispatcher:           Dispatcher{rec},
				Log:                  logr.Discard(),
			}
			srv := httptest.NewServer((&Server{Handler: h}).mux())
			defer srv.Close()

			typ := tt.header["X-Registry-Type"]
			if i := strings.Index(tt.target, "type="); i >= 0 {
				typ, _, _ = strings.Cut(tt.target[i+len("type="):], "&")
			}
			if typ == "" || typ == "gcr" {
				typ = "unknown"
			}
			rejectedBefore := testutil.ToFloat64(rejectedTotal.WithLabelValues(typ, tt.wantReason))
			eventsBefore := testutil.ToFloat64(eventsTotal.WithLabelValues(typ))

			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q, want it to contain %q", body, tt.wantBody)
			}
			if tt.wantCode == 200 {
				var r Response
				if err := json.Unmarshal(body, &r); err != nil {
					t.Errorf("200 body is not a Response: %v", err)
				}
				if got := testutil.ToFloat64(eventsTotal.WithLabelValues(typ)) - eventsBefore; got != float64(tt.wantEvents) {
					t.Errorf("events counted %v, want %d", got, tt.wantEvents)
				}
			} else if len(rec.events()) != 0 {
				t.Errorf("a rejected request dispatched %v", rec.events())
			}
			if tt.wantReason != "" {
				if got := testutil.ToFloat64(rejectedTotal.WithLabelValues(typ, tt.wantReason)) - rejectedBefore; got != 1 {
					t.Errorf("rejections with reason %s counted %v, want 1", tt.wantReason, got)
				}
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer((&Server{Handler: &Handler{}}).mux())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}
