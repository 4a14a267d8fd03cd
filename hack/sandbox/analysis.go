package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The analysis story: Prometheus (built from its Go module, package
// promserver) scrapes a tiny
// exporter the sandbox runs, whose one gauge, backend_error_ratio, is
// what a file holds; `sandbox metric bad|good` rewrites the file and waits
// until Prometheus has scraped the new value. The backend-analysis canary
// (analysis.yaml) asks Prometheus for it at its analysis step.

//go:embed analysis.yaml
var analysisManifests string

// Metric values the commands set: good passes the template's condition
// (< 0.05), bad fails it.
const (
	goodRatio = "0.01"
	badRatio  = "0.25"
	// analysisRollout is the Rollout with the analysis step (no image
	// updater: the walkthrough sets its image); analysisService is the
	// service label it passes as an arg.
	analysisRollout = "backend-analysis"
	analysisService = "backend-analysis"
)

var (
	prometheusAddr = envOr("SANDBOX_PROMETHEUS", "127.0.0.1:9095")
	exporterAddr   = envOr("SANDBOX_EXPORTER", "127.0.0.1:9096")
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// preflight fails in the first seconds, before anything is built or
// started, when a program the sandbox runs from PATH is missing. Everything
// else (Kubernetes, the registry, Prometheus) it builds from Go modules.
func preflight() error {
	var missing []string
	for _, tool := range []struct{ name, install string }{
		{"go", "install Go (go.dev/doc/install)"},
		{"kubectl", "install kubectl (kubernetes.io/docs/tasks/tools)"},
	} {
		if _, err := exec.LookPath(tool.name); err != nil {
			missing = append(missing, fmt.Sprintf("%s not found on PATH: %s", tool.name, tool.install))
		}
	}
	if len(missing) > 0 {
		return errors.New(strings.Join(missing, "; "))
	}
	return nil
}

func (s *sandbox) ratioFile() string { return s.path("exporter", "backend_error_ratio") }

// exporter serves backend_error_ratio from the ratio file until killed
// (`sandbox down`). It is this program, detached.
func (s *sandbox) exporter() error {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		v, err := os.ReadFile(s.ratioFile())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# HELP backend_error_ratio Share of the backend's requests that fail (make sandbox-bad-metric / sandbox-good-metric).")
		fmt.Fprintln(w, "# TYPE backend_error_ratio gauge")
		fmt.Fprintf(w, "backend_error_ratio{service=%q} %s\n", analysisService, strings.TrimSpace(string(v)))
	})
	return (&http.Server{Addr: exporterAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}).ListenAndServe()
}

// startAnalysis starts the exporter (a copy of this program, so that it
// outlives `go run`) and Prometheus scraping it every second, and waits
// until Prometheus answers with the good value.
func (s *sandbox) startAnalysis(ctx context.Context, st *state, promBin string) error {
	if err := os.MkdirAll(s.path("exporter"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.ratioFile(), []byte(goodRatio+"\n"), 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := s.path("exporter", "sandbox")
	if err := copyFile(self, bin); err != nil {
		return fmt.Errorf("copy the sandbox program for the exporter: %w", err)
	}
	env := []string{"SANDBOX_DIR=" + s.dir, "SANDBOX_EXPORTER=" + exporterAddr}
	pid, err := s.detachEnv("exporter", bin, env, "exporter")
	if err != nil {
		return err
	}
	st.PIDs["exporter"] = pid
	if err := s.save(st); err != nil {
		return err
	}

	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: backend
  static_configs:
  - targets: [%q]
`, exporterAddr)
	if err := os.MkdirAll(s.path("prometheus"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.path("prometheus", "prometheus.yml"), []byte(config), 0o644); err != nil {
		return err
	}
	pid, err = s.detach("prometheus", promBin,
		"--config.file="+s.path("prometheus", "prometheus.yml"),
		"--storage.tsdb.path="+s.path("prometheus", "data"),
		"--web.listen-address="+prometheusAddr)
	if err != nil {
		return err
	}
	st.PIDs["prometheus"] = pid
	if err := s.save(st); err != nil {
		return err
	}
	if _, err := awaitRatio(ctx, goodRatio, time.Minute); err != nil {
		return fmt.Errorf("%w (logs in %s and %s)", err, s.path("prometheus.log"), s.path("exporter.log"))
	}
	return nil
}

// setMetric writes the new ratio and waits until Prometheus returns it.
func (s *sandbox) setMetric(ctx context.Context, which string) error {
	value := map[string]string{"good": goodRatio, "bad": badRatio}[which]
	if value == "" {
		return fmt.Errorf("metric: want good or bad, not %q", which)
	}
	if _, err := os.Stat(s.ratioFile()); err != nil {
		return fmt.Errorf("no sandbox running (make sandbox): %w", err)
	}
	if err := os.WriteFile(s.ratioFile(), []byte(value+"\n"), 0o644); err != nil {
		return err
	}
	took, err := awaitRatio(ctx, value, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("backend_error_ratio{service=%q} is now %s\n", analysisService, value)
	fmt.Printf("Prometheus at http://%s scraped it after %s\n", prometheusAddr, took.Round(100*time.Millisecond))
	return nil
}

// awaitRatio polls Prometheus until the query the analysis runs returns
// value, and says how long that took.
func awaitRatio(ctx context.Context, value string, timeout time.Duration) (time.Duration, error) {
	began := time.Now()
	query := fmt.Sprintf("backend_error_ratio{service=%q}", analysisService)
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := queryPrometheus(ctx, prometheusAddr, query)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = got
		return got == value, nil
	})
	if err != nil {
		return 0, fmt.Errorf("prometheus on %s does not return %s = %s (last: %s): %w", prometheusAddr, query, value, last, err)
	}
	return time.Since(began), nil
}

// queryPrometheus returns the value of the first sample of an instant query
// to the Prometheus at addr.
func queryPrometheus(ctx context.Context, addr, query string) (string, error) {
	u := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	if len(body.Data.Result) == 0 || len(body.Data.Result[0].Value) != 2 {
		return "", errors.New("no sample yet")
	}
	v, _ := body.Data.Result[0].Value[1].(string)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return v, nil
}

// portFree reports whether addr can be listened on (nothing else holds it).
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
