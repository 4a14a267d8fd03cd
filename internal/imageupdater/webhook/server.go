package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Server serves Handler on Path and a health check on HealthPath, over TLS
// when it has a certificate. It is a controller-runtime Runnable that runs
// on the leader only, where the controllers it triggers run.
type Server struct {
	// Addr to listen on, unless Listener is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// CertFile and KeyFile are the TLS certificate and key, reloaded when
	// they change on disk; without them the server speaks plain HTTP (for
	// TLS terminated in front of it).
	CertFile, KeyFile string
	Handler           http.Handler
	Log               logr.Logger
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (s *Server) NeedLeaderElection() bool { return true }

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.mux(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	l := s.Listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("webhook server: listen on %s: %w", s.Addr, err)
		}
	}
	if s.CertFile != "" {
		cw, err := certwatcher.New(s.CertFile, s.KeyFile)
		if err != nil {
			l.Close()
			return fmt.Errorf("webhook server: load TLS certificate: %w", err)
		}
		go func() {
			if err := cw.Start(ctx); err != nil {
				s.Log.Error(err, "Webhook certificate watcher stopped")
			}
		}()
		l = tls.NewListener(l, &tls.Config{GetCertificate: cw.GetCertificate, MinVersion: tls.VersionTLS12})
	}
	s.Log.Info("Serving registry webhooks", "address", l.Addr().String(), "path", Path, "tls", s.CertFile != "")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("webhook server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook server: shut down: %w", err)
	}
	return nil
}

// mux routes Path and HealthPath.
func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(Path, s.Handler)
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return mux
}

// Options are the command-line settings of the webhook endpoint.
type Options struct {
	BindAddress       string
	CertFile, KeyFile string
	RequireSecret     bool
	Debounce          time.Duration
	MaxDelay          time.Duration
	Secrets           map[Type]*string
}

// secretFlags names the secret flag of each type: argocd-image-updater's
// names, and distribution's by the same pattern.
var secretFlags = map[Type]string{
	TypeDistribution: "distribution-webhook-secret",
	TypeDockerHub:    "docker-webhook-secret",
	TypeGHCR:         "ghcr-webhook-secret",
	TypeHarbor:       "harbor-webhook-secret",
	TypeQuay:         "quay-webhook-secret",
	TypeAliyunACR:    "aliyun-acr-webhook-secret",
	TypeACR:          "acr-webhook-secret",
	TypeCloudEvents:  "cloudevents-webhook-secret",
}

// SecretEnv is the environment variable that sets the secret of type t
// when its flag is not given (DISTRIBUTION_WEBHOOK_SECRET, ...), so the
// secret can come from a Secret without showing in the process list.
func SecretEnv(t Type) string {
	return strings.ToUpper(strings.ReplaceAll(secretFlags[t], "-", "_"))
}

// BindFlags registers the flags on fs.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.BindAddress, "webhook-bind-address", "", "address of the registry webhook endpoint (POST "+Path+"?type=<type>), e.g. :8082; empty disables it")
	fs.StringVar(&o.CertFile, "webhook-tls-cert-file", "", "TLS certificate of the webhook endpoint (reloaded on change); without it the endpoint speaks plain HTTP")
	fs.StringVar(&o.KeyFile, "webhook-tls-key-file", "", "TLS key of the webhook endpoint")
	fs.BoolVar(&o.RequireSecret, "webhook-require-secret", true, "accept only webhook types that have a secret; false accepts the others unauthenticated")
	fs.DurationVar(&o.Debounce, "webhook-debounce", DefaultDebounce, "quiet time after an image updater's last push event before it runs, so a burst of pushes gives one update")
	fs.DurationVar(&o.MaxDelay, "webhook-max-delay", DefaultMaxDelay, "longest wait of a triggered image updater under a steady stream of push events")
	o.Secrets = map[Type]*string{}
	for _, t := range Types {
		// The environment is read in secrets, not taken as the flag's
		// default, which --help would print.
		o.Secrets[t] = fs.String(secretFlags[t], "", fmt.Sprintf("shared secret of %s webhooks (default $%s)", t, SecretEnv(t)))
	}
}

// Enabled reports whether the endpoint is to run.
func (o *Options) Enabled() bool { return o.BindAddress != "" && o.BindAddress != "0" }

// Validate checks the flags together.
func (o *Options) Validate() error {
	if (o.CertFile == "") != (o.KeyFile == "") {
		return errors.New("--webhook-tls-cert-file and --webhook-tls-key-file go together")
	}
	if o.Enabled() && o.RequireSecret && len(o.secrets()) == 0 {
		return errors.New("--webhook-bind-address is set but no webhook type has a secret (--<type>-webhook-secret), so every request would be refused")
	}
	return nil
}

func (o *Options) secrets() map[Type]string {
	m := map[Type]string{}
	for _, t := range Types {
		s := os.Getenv(SecretEnv(t))
		if p := o.Secrets[t]; p != nil && *p != "" {
			s = *p
		}
		if s != "" {
			m[t] = s
		}
	}
	return m
}

// Server builds the server dispatching to trackers.
func (o *Options) Server(log logr.Logger, trackers ...Tracker) *Server {
	return &Server{
		Addr: o.BindAddress, CertFile: o.CertFile, KeyFile: o.KeyFile, Log: log,
		Handler: &Handler{Secrets: o.secrets(), AllowUnauthenticated: !o.RequireSecret, Dispatcher: trackers, Log: log},
	}
}
