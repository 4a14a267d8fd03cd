package prometheus

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
	"github.com/switchyard-dev/switchyard/test/promserver"
)

// These tests query a real Prometheus server (Debian's `prometheus`
// package) that scrapes an exporter served by the test, whose values the
// test sets.

const (
	user     = "rollouts"
	password = "s3cret-pw"
)

// exporter serves Prometheus text exposition with values the test sets.
type exporter struct {
	mu    sync.Mutex
	ratio map[string]string
}

func (e *exporter) set(instance, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ratio[instance] = value
}

func (e *exporter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# TYPE switchyard_test_ratio gauge")
	for _, i := range []string{"a", "b"} {
		fmt.Fprintf(w, "switchyard_test_ratio{pod=%q} %s\n", i, e.ratio[i])
	}
	fmt.Fprintln(w, "# TYPE switchyard_test_nan gauge")
	fmt.Fprintln(w, "switchyard_test_nan NaN")
	fmt.Fprintln(w, "# TYPE switchyard_test_inf gauge")
	fmt.Fprintln(w, "switchyard_test_inf +Inf")
}

// startPrometheus runs prometheus on a free loopback port, scraping exp
// every second, behind basic auth. It returns the address.
func startPrometheus(t *testing.T, exp http.Handler) string {
	t.Helper()
	bin := promserver.Require(t)
	target := httptest.NewServer(exp)
	t.Cleanup(target.Close)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	config := write("prometheus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: test
  static_configs:
  - targets: [%q]
`, strings.TrimPrefix(target.URL, "http://")))
	webConfig := write("web.yml", fmt.Sprintf("basic_auth_users:\n  %s: %s\n", user, hash))
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--web.config.file="+webConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	// Ready once the exporter's series is queryable.
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		res, err := query(ctx, addr, "count(switchyard_test_ratio)", nil)
		return err == nil && fmt.Sprint(res.Value) == "[2]", nil
	})
	if err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("prometheus did not start scraping: %v\n%s", err, log)
	}
	return addr
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func authenticated() v1alpha1.Authentication {
	return v1alpha1.Authentication{BasicAuth: v1alpha1.BasicAuth{Username: user, Password: password}}
}

func query(ctx context.Context, address, q string, edit func(*v1alpha1.PrometheusMetric)) (provider.Result, error) {
	m := &v1alpha1.PrometheusMetric{Address: address, Query: q, Authentication: authenticated()}
	if edit != nil {
		edit(m)
	}
	return New("").Measure(ctx, provider.Request{Metric: &v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Prometheus: m}}, Now: time.Now()})
}

func TestPrometheus(t *testing.T) {
	exp := &exporter{ratio: map[string]string{"a": "0.97", "b": "0.5"}}
	addr := startPrometheus(t, exp)
	ctx := context.Background()

	t.Run("vector", func(t *testing.T) {
		res, err := query(ctx, addr, `sort_desc(switchyard_test_ratio)`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Value) != "[0.97 0.5]" || res.Text != "[0.97,0.5]" {
			t.Errorf("value %v text %q", res.Value, res.Text)
		}
		if res.MetricMetadata[ResolvedQueryKey] != `sort_desc(switchyard_test_ratio)` {
			t.Errorf("metadata %v", res.MetricMetadata)
		}
		phase, err := analysis.EvaluateConditions(res.Value, "result[0] >= 0.95", "")
		if phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("condition: %s %v", phase, err)
		}
	})
	t.Run("scalar", func(t *testing.T) {
		res, err := query(ctx, addr, `scalar(sum(switchyard_test_ratio))`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Value != 1.47 || res.Text != "1.47" {
			t.Errorf("value %v text %q", res.Value, res.Text)
		}
	})
	t.Run("the test's values reach the condition", func(t *testing.T) {
		exp.set("a", "0.2")
		t.Cleanup(func() { exp.set("a", "0.97") })
		var res provider.Result
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var err error
			res, err = query(ctx, addr, `switchyard_test_ratio{pod="a"}`, nil)
			return err == nil && res.Text == "[0.2]", nil
		})
		if err != nil {
			t.Fatalf("new value not scraped: %v (last %q)", err, res.Text)
		}
		phase, _ := analysis.EvaluateConditions(res.Value, "result[0] >= 0.95", "")
		if phase != v1alpha1.AnalysisPhaseFailed {
			t.Errorf("phase %s", phase)
		}
	})
	t.Run("NaN and Inf", func(t *testing.T) {
		res, err := query(ctx, addr, `switchyard_test_nan`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := res.Value.([]float64); len(v) != 1 || !math.IsNaN(v[0]) || res.Text != "[NaN]" {
			t.Errorf("value %v text %q", res.Value, res.Text)
		}
		// NaN fails a comparison; isNaN sees it.
		if phase, _ := analysis.EvaluateConditions(res.Value, "result[0] >= 0.95", ""); phase != v1alpha1.AnalysisPhaseFailed {
			t.Errorf("NaN >= 0.95: %s", phase)
		}
		if phase, _ := analysis.EvaluateConditions(res.Value, "", "isNaN(result[0])"); phase != v1alpha1.AnalysisPhaseFailed {
			t.Errorf("isNaN: %s", phase)
		}
		res, err = query(ctx, addr, `scalar(switchyard_test_inf)`, nil)
		if err != nil || res.Text != "+Inf" || !math.IsInf(res.Value.(float64), 1) {
			t.Errorf("inf: %v %q %v", res.Value, res.Text, err)
		}
	})
	t.Run("empty result", func(t *testing.T) {
		res, err := query(ctx, addr, `switchyard_test_missing`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Value) != "[]" || res.Text != "[]" {
			t.Errorf("value %v text %q", res.Value, res.Text)
		}
		_, err = analysis.EvaluateConditions(res.Value, "result[0] >= 0.95", "")
		if err == nil || !strings.Contains(err.Error(), "no data returned from the metric provider") {
			t.Errorf("indexing no data: %v", err)
		}
		if phase, _ := analysis.EvaluateConditions(res.Value, "len(result) == 0 || result[0] >= 0.95", ""); phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("guarded: %s", phase)
		}
	})
	t.Run("range query", func(t *testing.T) {
		res, err := query(ctx, addr, `switchyard_test_ratio{pod="b"}`, func(m *v1alpha1.PrometheusMetric) {
			m.RangeQuery = &v1alpha1.PrometheusRangeQueryArgs{Start: `now() - duration("3s")`, End: "now()", Step: "1s"}
		})
		if err != nil {
			t.Fatal(err)
		}
		v := res.Value.([]float64)
		if len(v) < 2 || v[0] != 0.5 {
			t.Errorf("samples %v", v)
		}
		if phase, _ := analysis.EvaluateConditions(res.Value, "all(result, {# == 0.5})", ""); phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("phase %s", phase)
		}
	})
	t.Run("authentication", func(t *testing.T) {
		_, err := query(ctx, addr, "up", func(m *v1alpha1.PrometheusMetric) { m.Authentication = v1alpha1.Authentication{} })
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("without credentials: %v", err)
		}
		_, err = query(ctx, addr, "up", func(m *v1alpha1.PrometheusMetric) { m.Authentication.BasicAuth.Password = "wrong" })
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("wrong password: %v", err)
		}
		// The same credentials as a custom header.
		res, err := query(ctx, addr, "up", func(m *v1alpha1.PrometheusMetric) {
			m.Authentication = v1alpha1.Authentication{}
			m.Headers = []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: basic(user, password)}}
		})
		if err != nil || res.Text != "[1]" {
			t.Errorf("header auth: %q %v", res.Text, err)
		}
		_, err = query(ctx, addr, "up", func(m *v1alpha1.PrometheusMetric) {
			m.Authentication.BasicAuth = v1alpha1.BasicAuth{Username: user}
		})
		if err == nil || err.Error() != "basicAuth needs both username and password" {
			t.Errorf("half basic auth: %v", err)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		_, err := query(ctx, addr, "sum(", nil)
		if err == nil || !strings.Contains(err.Error(), "bad_data") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("string result", func(t *testing.T) {
		// client_golang refuses to decode a string result; either way the
		// measurement is an Error naming the type.
		_, err := query(ctx, addr, `"text"`, nil)
		if err == nil || !strings.Contains(err.Error(), "string") {
			t.Errorf("error %v", err)
		}
		if _, err := shape(&model.String{Value: "text"}); err == nil || err.Error() != "Prometheus metric type not supported" {
			t.Errorf("shape: %v", err)
		}
	})
	t.Run("address", func(t *testing.T) {
		for addr, want := range map[string]string{
			"":            "prometheus address is not configured",
			"not a url":   "prometheus address is not is url format",
			"localhost:9": "prometheus address is not is url format",
		} {
			if _, err := query(ctx, addr, "up", nil); err == nil || err.Error() != want {
				t.Errorf("%q: %v, want %q", addr, err, want)
			}
		}
		// The default address stands in for a missing one.
		p := New(addr)
		m := &v1alpha1.PrometheusMetric{Query: "up", Authentication: authenticated()}
		res, err := p.Measure(ctx, provider.Request{Metric: &v1alpha1.Metric{Provider: v1alpha1.MetricProvider{Prometheus: m}}, Now: time.Now()})
		if err != nil || res.Text != "[1]" {
			t.Errorf("default address: %q %v", res.Text, err)
		}
	})
	t.Run("negative timeout", func(t *testing.T) {
		_, err := query(ctx, addr, "up", func(m *v1alpha1.PrometheusMetric) { m.Timeout = ptr.To[int64](-1) })
		if err == nil || !strings.Contains(err.Error(), "timeout should not be negative") {
			t.Errorf("error %v", err)
		}
	})
}

// TestPrometheusTimeout uses a server that never answers: the timeout is
// the client's own deadline, so no Prometheus is needed to see it hold.
func TestPrometheusTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		// Reading the form lets the server notice the client leaving.
		_, _ = io.ReadAll(r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	_, err := query(context.Background(), hang.URL, "up", func(m *v1alpha1.PrometheusMetric) { m.Timeout = ptr.To[int64](1) })
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("error %v", err)
	}
}

func basic(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", io.NopCloser(strings.NewReader("")))
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}
