package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// TokenHeader carries the page's token on every POST.
const TokenHeader = "X-Switchyard-Token"

// refresh is how often an open event stream rebuilds the snapshot when
// nothing was announced: it picks up an error that is over (a list that
// succeeds again without changing any object) and keeps the connection
// alive through proxies. It reads the caches only, not the API.
const refresh = time.Second

// minGap is the least time between two snapshots of one event stream.
const minGap = 100 * time.Millisecond

//go:embed web
var web embed.FS

var page = template.Must(template.ParseFS(web, "web/index.html"))

// Server is the dashboard's HTTP handler: the page, its assets, the
// snapshot as JSON and as a stream of Server-Sent Events, and the actions.
type Server struct {
	factory *cli.Factory
	state   *state
	// token is the per-process secret the page sends with every action, so
	// another site the browser visits cannot post one.
	token string
	mux   *http.ServeMux
}

// NewServer returns a server showing the Rollouts of namespace ns ("" for
// all namespaces) through f's clients, under the path /rootPath/ ("" for
// /; / then redirects to it). Start must be called to watch them.
func NewServer(f *cli.Factory, ns, rootPath string) (*Server, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	kube, err := f.Kube()
	if err != nil {
		return nil, err
	}
	st, err := newState(ns, dyn, kube)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("create dashboard token: %w", err)
	}
	s := &Server{factory: f, state: st, token: hex.EncodeToString(secret), mux: http.NewServeMux()}
	assets, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	// The page refers to its assets and the API by relative URLs, so it
	// works under any root path.
	root := "/"
	if p := strings.Trim(rootPath, "/"); p != "" {
		root = "/" + p + "/"
		s.mux.Handle("GET /{$}", http.RedirectHandler(root, http.StatusFound))
		s.mux.Handle("GET /"+p, http.RedirectHandler(root, http.StatusFound))
	}
	s.mux.HandleFunc("GET "+root+"{$}", s.index)
	s.mux.Handle("GET "+root+"assets/", http.StripPrefix(root+"assets/", http.FileServerFS(assets)))
	s.mux.HandleFunc("GET "+root+"api/rollouts", s.rollouts)
	s.mux.HandleFunc("GET "+root+"api/events", s.events)
	s.mux.HandleFunc("POST "+root+"api/namespaces/{namespace}/rollouts/{name}/{action}", s.action)
	return s, nil
}

// Start watches the Rollouts, ReplicaSets and pods until ctx ends; Stop
// waits for the watches to end.
func (s *Server) Start(ctx context.Context) { s.state.start(ctx) }

// Stop waits for the watches started by Start, after its ctx ended.
func (s *Server) Stop() { s.state.stop() }

// Token is the token the page sends in TokenHeader.
func (s *Server) Token() string { return s.token }

// ServeHTTP answers only requests addressed to a loopback name, so a page
// of another site cannot reach the dashboard by pointing its own DNS name
// at 127.0.0.1 (DNS rebinding).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopbackHost(r.Host) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("host %q refused: the dashboard answers only on localhost", r.Host))
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	ns := s.state.namespace
	if err := page.Execute(&b, map[string]string{"Token": s.token, "Namespace": ns}); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func (s *Server) rollouts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.state.snapshot())
}

// events streams the snapshot as Server-Sent Events ("state" events), one
// whenever what the page shows changed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	ticker := time.NewTicker(refresh)
	defer ticker.Stop()
	var (
		last     []byte
		lastSent time.Time
	)
	for {
		// Take the change channel before reading, so a change during the
		// read is not missed.
		changed := s.state.changes()
		data, err := json.Marshal(s.state.snapshot())
		if err != nil {
			klog.ErrorS(err, "Encode dashboard snapshot")
			return
		}
		if !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
			last, lastSent = data, time.Now()
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-ticker.C:
		}
		// One snapshot for a burst of changes (a ReplicaSet scaling moves
		// many pods at once).
		if wait := minGap - time.Since(lastSent); wait > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// ActionResponse is the answer to an action: what the command printed, or
// why it failed.
type ActionResponse struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// maxBody bounds an action's body: a container name and an image.
const maxBody = 64 << 10

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	if err := s.checkSameOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	ns, name, action := r.PathValue("namespace"), r.PathValue("name"), r.PathValue("action")
	if s.state.namespace != "" && ns != s.state.namespace {
		writeError(w, http.StatusForbidden, fmt.Sprintf("namespace %q is not shown by this dashboard (it shows %q)", ns, s.state.namespace))
		return
	}
	var req ActionRequest
	if action == ActionSetImage {
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("read set-image request: %v", err))
			return
		}
	}
	msg, err := runAction(r.Context(), s.factory, ns, name, action, req)
	if err != nil {
		klog.V(1).InfoS("Dashboard action failed", "action", action, "namespace", ns, "rollout", name, "err", err.Error())
		writeError(w, httpStatus(err), fmt.Sprintf("%s: %s", describe(action, ns, name), cli.Message(err)))
		return
	}
	writeJSON(w, http.StatusOK, ActionResponse{Message: msg})
}

// checkSameOrigin lets an action through only from the dashboard's own
// page: it must carry the token embedded in the page, and a browser's
// Origin, when sent, must be the dashboard's own.
func (s *Server) checkSameOrigin(r *http.Request) error {
	if got := r.Header.Get(TokenHeader); subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		return fmt.Errorf("missing or wrong %s header: reload the dashboard page", TokenHeader)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Scheme != "http" || u.Host != r.Host {
			return fmt.Errorf("origin %q refused: actions are accepted from the dashboard's own page only", origin)
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return fmt.Errorf("cross-site request refused")
	}
	return nil
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ActionResponse{Error: msg})
}
