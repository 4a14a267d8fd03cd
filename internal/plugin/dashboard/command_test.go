package dashboard_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/switchyard-dev/switchyard/internal/plugin"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

// TestCommandServesOnLoopback runs `kubectl argo rollouts dashboard` as
// main does: it prints its URL, serves the page on 127.0.0.1 only, and
// stops cleanly (exit 0) on Ctrl-C.
func TestCommandServesOnLoopback(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	fac := cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- plugin.Run(ctx, fac, []string{"--kubeconfig", env.Kubeconfig, "-n", f.ns, "dashboard", "--port", "0"})
	}()
	urlRE := regexp.MustCompile(`^Dashboard of namespace ` + regexp.QuoteMeta(f.ns) + `: http://localhost:(\d+)/rollouts/ \(Ctrl-C to stop\)\n$`)
	f.g.Eventually(out.String, 30*time.Second).Should(MatchRegexp(urlRE.String()))
	port := urlRE.FindStringSubmatch(out.String())[1]

	// The reference's root path: / and /rollouts lead to /rollouts/,
	// where the page, its assets and its API are.
	for _, path := range []string{"/", "/rollouts", "/rollouts/"} {
		resp, err := httpClient.Get("http://127.0.0.1:" + port + path)
		f.g.Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f.g.Expect(resp.StatusCode).To(Equal(http.StatusOK), path)
		f.g.Expect(resp.Request.URL.Path).To(Equal("/rollouts/"), path)
		f.g.Expect(string(body)).To(ContainSubstring(`<meta name="switchyard-namespace" content="`+f.ns+`">`), path)
	}
	for _, path := range []string{"/rollouts/assets/app.js", "/rollouts/assets/app.css", "/rollouts/api/rollouts"} {
		resp, err := httpClient.Get("http://127.0.0.1:" + port + path)
		f.g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		f.g.Expect(resp.StatusCode).To(Equal(http.StatusOK), path)
	}

	// Only the loopback interface listens: another address of this
	// machine, if it has one, refuses the connection.
	if ip := otherAddress(); ip != "" {
		_, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 2*time.Second)
		f.g.Expect(err).To(HaveOccurred(), "listening on %s", ip)
	}

	cancel()
	select {
	case code := <-done:
		f.g.Expect(code).To(Equal(0), errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the dashboard did not stop on Ctrl-C")
	}

	// A port out of range is a usage error.
	fac = cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	code := plugin.Run(context.Background(), fac, []string{"--kubeconfig", env.Kubeconfig, "-n", f.ns, "dashboard", "--port", "70000"})
	f.g.Expect(code).To(Equal(1))
	f.g.Expect(errOut.String()).To(ContainSubstring("Error: invalid --port 70000: want 1-65535 (or 0 for any free port)\n"))
}

// otherAddress is a non-loopback IPv4 address of this machine, or "".
func otherAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
