package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"

	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// TestServerTLS serves the handler over TLS from certificate files and
// posts a push to it.
func TestServerTLS(t *testing.T) {
	ca, err := testregistry.NewCA("webhook test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.ServerCert()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{image: "registry.example.com:5000/team/backend"}
	srv := &Server{
		Listener: l, CertFile: certFile, KeyFile: keyFile, Log: logr.Discard(),
		Handler: &Handler{Secrets: map[Type]string{TypeDistribution: "s"}, Dispatcher: Dispatcher{rec}, Log: logr.Discard()},
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := "https://" + l.Addr().String()
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		resp, err := client.Get(url + HealthPath)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("healthz over TLS: %v", err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+Path+"?type=distribution&secret=s", strings.NewReader(testdata(t, "distribution.json")))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(rec.events()) != 1 {
		t.Fatalf("status %d, events %v; want 200 and one event", resp.StatusCode, rec.events())
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		want    map[Type]string
	}{
		{name: "off by default", args: nil, want: map[Type]string{}},
		{name: "secret from a flag", args: []string{"--webhook-bind-address=:8082", "--docker-webhook-secret=d"}, want: map[Type]string{TypeDockerHub: "d"}},
		{name: "secret from the environment", args: []string{"--webhook-bind-address=:8082"}, env: map[string]string{"DISTRIBUTION_WEBHOOK_SECRET": "e"}, want: map[Type]string{TypeDistribution: "e"}},
		{name: "the flag beats the environment", args: []string{"--webhook-bind-address=:8082", "--ghcr-webhook-secret=f"}, env: map[string]string{"GHCR_WEBHOOK_SECRET": "e"}, want: map[Type]string{TypeGHCR: "f"}},
		{name: "enabled without any secret", args: []string{"--webhook-bind-address=:8082"}, wantErr: "no webhook type has a secret"},
		{name: "enabled without any secret, none required", args: []string{"--webhook-bind-address=:8082", "--webhook-require-secret=false"}, want: map[Type]string{}},
		{name: "cert without key", args: []string{"--webhook-tls-cert-file=/c"}, wantErr: "go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, typ := range Types {
				t.Setenv(SecretEnv(typ), tt.env[SecretEnv(typ)])
			}
			var o Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := o.secrets()
			if len(got) != len(tt.want) {
				t.Fatalf("secrets %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("secret of %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
