// Package registry starts a real OCI registry for tests: the CNCF
// distribution registry (v3, built once from the Go module that
// hack/registry pins; see Binary) as a child process on a free loopback
// port, serving TLS with a certificate from a generated CA and requiring
// htpasswd basic auth. Helpers push images to it with go-containerregistry.
//
// DOCKER_REGISTRY names another registry binary to run instead (one that
// takes `serve config.yml`, such as Debian's docker-registry).
package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/switchyard-dev/switchyard/test/sidemodule"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// Registry is a running registry.
type Registry struct {
	// Host is host:port, to prefix repositories with.
	Host string
	// Username and Password are the credentials the registry accepts.
	Username, Password string
	// CAPEM is the CA certificate that signed the registry's certificate.
	CAPEM []byte

	dir    string
	bin    string
	extra  string
	notify *Notify
	cmd    *exec.Cmd
	done   chan struct{}
	logs   *syncbuf.Buffer
}

// Options configure a registry beyond what every test registry has.
type Options struct {
	// Config is YAML appended to the registry's configuration file, for
	// sections the base configuration leaves out, such as
	// `notifications:` with its endpoints. The base configuration sets
	// version, log, storage, http and auth.
	Config string
	// Notify, when set, points the registry's notifications (its
	// notifications.endpoints) at a URL.
	Notify *Notify
}

// Module is the side module the registry is built from.
var Module = sidemodule.Module{
	Dir:      filepath.Join("hack", "registry"),
	Packages: []string{"./cmd/registry"},
	Outputs:  []string{"registry"},
	What:     "the CNCF distribution registry (about a minute the first time)",
}

// Binary returns the registry executable: $DOCKER_REGISTRY when set, else
// the distribution registry built from hack/registry (once, into a cache
// directory; build output goes to log).
func Binary(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv("DOCKER_REGISTRY"); p != "" {
		return p, nil
	}
	dir, err := sidemodule.Build(ctx, log, Module)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "registry"), nil
}

// Notify is one notification endpoint: the registry posts its event
// envelope (application/vnd.docker.distribution.events.v1+json) there
// after pushes and pulls, with Headers.
type Notify struct {
	URL     string
	Headers map[string]string
}

// Start runs a registry for the test and stops it at cleanup. When the
// registry cannot be built (no Go module proxy on the first build) the test
// is skipped, or fails under SWITCHYARD_REQUIRE_TOOLS.
func Start(t testing.TB) *Registry {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Registry {
	t.Helper()
	var log bytes.Buffer
	bin, err := Binary(t.Context(), &log)
	if err != nil {
		tools.Missing(t, "no registry to run: %v\n%s", err, log.String())
	}
	r, err := start(t.TempDir(), bin, opts)
	if err != nil {
		t.Fatalf("start the registry: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registry log:\n%s", strings.TrimSpace(r.logs.String()))
		}
		r.Stop()
	})
	return r
}

func start(dir, bin string, opts Options) (*Registry, error) {
	ca, err := NewCA("switchyard test registry CA")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.ServerCert()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Username: "ci-" + randomHex(4),
		Password: "pw-" + randomHex(12),
		CAPEM:    ca.PEM,
		dir:      dir,
		bin:      bin,
		extra:    opts.Config,
		notify:   opts.Notify,
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"tls.crt":  certPEM,
		"tls.key":  keyPEM,
		"htpasswd": []byte(r.Username + ":" + string(hash) + "\n"),
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return nil, err
	}

	// The free port is found by binding and closing, so another process can
	// take it before the registry binds; try a few ports.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r.Host = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = r.launch(); lastErr == nil {
			return r, nil
		}
	}
	return nil, lastErr
}

func (r *Registry) launch() error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %q
  secret: %q
  tls:
    certificate: %q
    key: %q
auth:
  htpasswd:
    realm: switchyard-test
    path: %q
`, filepath.Join(r.dir, "storage"), r.Host, randomHex(16),
		filepath.Join(r.dir, "tls.crt"), filepath.Join(r.dir, "tls.key"), filepath.Join(r.dir, "htpasswd"))
	if n := r.notify; n != nil {
		cfg += fmt.Sprintf("notifications:\n  endpoints:\n  - name: test\n    url: %q\n    timeout: 2s\n    threshold: 3\n    backoff: 100ms\n", n.URL)
		if len(n.Headers) > 0 {
			cfg += "    headers:\n"
			for k, v := range n.Headers {
				cfg += fmt.Sprintf("      %q: [%q]\n", k, v)
			}
		}
	}
	if r.extra != "" {
		cfg += strings.TrimSpace(r.extra) + "\n"
	}
	cfgPath := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	r.logs = &syncbuf.Buffer{}
	r.cmd = exec.Command(r.bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	// distribution v3 exports traces over OTLP unless told not to.
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	// Die with the test binary even if it is killed before cleanup runs.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", r.bin, err)
	}
	r.done = make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()

	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true,
		func(ctx context.Context) (bool, error) {
			select {
			case <-r.done:
				return false, fmt.Errorf("the registry exited: %s", strings.TrimSpace(r.logs.String()))
			default:
			}
			resp, err := client.Get("https://" + r.Host + "/v2/")
			if err != nil {
				return false, nil // not listening yet
			}
			resp.Body.Close()
			// 401 is the answer of a registry with auth that is up.
			return resp.StatusCode == http.StatusUnauthorized, nil
		})
	if err != nil {
		r.Stop()
		return fmt.Errorf("wait for the registry on %s: %w", r.Host, err)
	}
	return nil
}

// Stop kills the registry; a stopped registry is an unreachable one.
func (r *Registry) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Restart starts a stopped registry again on the same port and storage.
func (r *Registry) Restart() error {
	r.Stop()
	return r.launch()
}

// Repo returns host/repo.
func (r *Registry) Repo(repo string) string { return r.Host + "/" + repo }

// CertPool trusts the registry's CA.
func (r *Registry) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CAPEM)
	return pool
}

// Transport trusts the registry's CA.
func (r *Registry) Transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.CertPool(), MinVersion: tls.VersionTLS12}
	return tr
}

// Auth returns the registry's credentials.
func (r *Registry) Auth() authn.Authenticator {
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

// DockerConfigJSON returns a .dockerconfigjson for the registry with the
// given credentials, as `kubectl create secret docker-registry` writes it.
func (r *Registry) DockerConfigJSON(username, password string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	data, err := json.Marshal(map[string]any{
		"auths": map[string]any{
			r.Host: map[string]string{"username": username, "password": password, "auth": auth},
		},
	})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return data
}

func (r *Registry) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithAuth(r.Auth()), remote.WithTransport(r.Transport()), remote.WithContext(ctx)}
}

// PushImage pushes img as repo:tag and returns its digest.
func (r *Registry) PushImage(t testing.TB, repoTag string, img v1.Image) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(r.Host+"/"+repoTag, name.StrictValidation)
	if err != nil {
		t.Fatalf("parse %s: %v", repoTag, err)
	}
	if err := remote.Write(ref, img, r.remoteOptions(t.Context())...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// PushRandom pushes a new random single-platform image as repo:tag and
// returns its digest.
func (r *Registry) PushRandom(t testing.TB, repoTag string) v1.Hash {
	t.Helper()
	return r.PushImage(t, repoTag, RandomImage(t, "linux/amd64", time.Now()))
}

// PushIndex pushes a new random multi-arch OCI index with one image per
// platform ("linux/amd64", "linux/arm64/v8") as repo:tag and returns the
// index digest.
func (r *Registry) PushIndex(t testing.TB, repoTag string, platforms ...string) v1.Hash {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatalf("platform %q: %v", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        RandomImage(t, p, time.Now()),
			Descriptor: v1.Descriptor{Platform: plat},
		})
	}
	ref, err := name.ParseReference(r.Host+"/"+repoTag, name.StrictValidation)
	if err != nil {
		t.Fatalf("parse %s: %v", repoTag, err)
	}
	if err := remote.WriteIndex(ref, idx, r.remoteOptions(t.Context())...); err != nil {
		t.Fatalf("push index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// RandomImage returns a small random image whose config names platform
// (os/arch[/variant]) and creation date.
func RandomImage(t testing.TB, platform string, created time.Time) v1.Image {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatalf("platform %q: %v", platform, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: created.UTC().Truncate(time.Second)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ClosedPort returns a loopback address nothing listens on, for tests of an
// unreachable registry or server.
func ClosedPort() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
