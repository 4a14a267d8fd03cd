// Package dashboard implements `kubectl argo rollouts dashboard`: a web page
// on localhost showing the Rollouts of a namespace (or of all namespaces)
// as they change, with buttons that run the plugin's own promote, abort,
// retry, restart and set image commands. It runs on the user's machine and
// talks to the API server with the user's kubeconfig; nothing runs in the
// cluster, and the page loads nothing from the internet.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// DefaultPort and DefaultRootPath are the reference's: the page is
// http://localhost:3100/rollouts/.
const (
	DefaultPort     = 3100
	DefaultRootPath = "rollouts"
)

// Options of dashboard.
type Options struct {
	*cli.Factory
	// Port is the local port to listen on; 0 picks a free one.
	Port int
	// AllNamespaces shows the Rollouts of every namespace.
	AllNamespaces bool
	// RootPath is the path the page is served under, as in the reference.
	RootPath string

	ns string
}

// NewCmd returns the dashboard command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Start UI dashboard",
		Long: `Serve a web page on http://localhost:3100/rollouts/ showing the Rollouts of the namespace
(-n, else the kubeconfig context's), or of every namespace with -A: each
with its strategy, step, set and actual weight, revisions, ReplicaSets and
pods, images, phase and message, updated live as they change.

Its buttons (promote, promote full, abort, retry, restart, set image) ask
for confirmation and then run the same code as the commands of the same
name, with your kubeconfig: what you may not do from the command line, you
may not do from the page either.

The page is served on 127.0.0.1 only and accepts actions only from itself
(a per-process token embedded in the page, and an Origin check). Nothing is
installed in the cluster and nothing is loaded from the internet.`,
		Example: `  # Show the Rollouts of the current namespace on http://localhost:3100/rollouts/
  kubectl argo rollouts dashboard

  # Show the Rollouts of every namespace, on another port, at http://localhost:8080/
  kubectl argo rollouts dashboard -A --port 8080 --root-path ""`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().IntVarP(&o.Port, "port", "p", DefaultPort, "Port to listen on (127.0.0.1 only)")
	cmd.Flags().StringVar(&o.RootPath, "root-path", DefaultRootPath, "Path the dashboard is served under (\"\" for /)")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Show the Rollouts of all namespaces")
	return cmd
}

// Complete resolves the namespace.
func (o *Options) Complete(*cobra.Command, []string) error {
	if o.AllNamespaces {
		o.ns = metav1.NamespaceAll
		return nil
	}
	var err error
	o.ns, err = o.Namespace()
	return err
}

// Validate checks the port.
func (o *Options) Validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return cli.Usagef("invalid --port %d: want 1-65535 (or 0 for any free port)", o.Port)
	}
	return nil
}

// Run serves the dashboard until the command's context ends (Ctrl-C).
func (o *Options) Run(cmd *cobra.Command) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	s, err := NewServer(o.Factory, o.ns, o.RootPath)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", o.Port, err)
	}
	s.Start(ctx)
	defer s.Stop()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	port := l.Addr().(*net.TCPAddr).Port
	what := "namespace " + o.ns
	if o.ns == "" {
		what = "all namespaces"
	}
	path := "/"
	if p := strings.Trim(o.RootPath, "/"); p != "" {
		path = "/" + p + "/"
	}
	fmt.Fprintf(o.Out, "Dashboard of %s: http://localhost:%d%s (Ctrl-C to stop)\n", what, port, path)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve dashboard: %w", err)
	case <-ctx.Done():
	}
	// Open event streams end with ctx (their requests' base context).
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop dashboard: %w", err)
	}
	return nil
}
