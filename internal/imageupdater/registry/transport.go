package registry

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrPlainHTTP is returned for a plain-HTTP registry request when the image
// is not marked insecure.
var ErrPlainHTTP = errors.New("plain HTTP to the registry refused (set insecure: true to allow it)")

// Transports builds HTTP transports per TLS setting and keeps them, so
// connections to a registry are reused across polls. The zero value is ready.
type Transports struct {
	mu sync.Mutex
	m  map[[sha256.Size + 1]byte]http.RoundTripper
}

// Get returns the transport trusting the system roots plus caPEM, or
// skipping verification (and allowing plain HTTP) when insecure.
func (t *Transports) Get(caPEM []byte, insecure bool) (http.RoundTripper, error) {
	var key [sha256.Size + 1]byte
	sum := sha256.Sum256(caPEM)
	copy(key[:], sum[:])
	if insecure {
		key[sha256.Size] = 1
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.m[key]; ok {
		return rt, nil
	}
	rt, err := newTransport(caPEM, insecure)
	if err != nil {
		return nil, err
	}
	if t.m == nil {
		t.m = map[[sha256.Size + 1]byte]http.RoundTripper{}
	}
	t.m[key] = rt
	return rt, nil
}

func newTransport(caPEM []byte, insecure bool) (http.RoundTripper, error) {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("remote.DefaultTransport is a %T, not an *http.Transport", remote.DefaultTransport)
	}
	tr := base.Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		cfg.InsecureSkipVerify = true //nolint:gosec // the user opted in with insecure: true
	}
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("the CA bundle holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	if insecure {
		return tr, nil
	}
	return httpsOnly{tr}, nil
}

// httpsOnly refuses plain-HTTP requests. go-containerregistry falls back to
// HTTP for registries on loopback or private addresses when HTTPS fails,
// which would send credentials in clear text and silently skip the TLS
// verification the user did not opt out of.
type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, ErrPlainHTTP
	}
	return h.next.RoundTrip(req)
}
