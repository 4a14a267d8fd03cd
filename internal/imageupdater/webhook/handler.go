package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/go-logr/logr"
)

const (
	// Path is where registries post.
	Path = "/webhook"
	// HealthPath answers 200 while the server runs.
	HealthPath = "/healthz"
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 1 << 20
	// TypeHeader names the type when the URL does not.
	TypeHeader = "X-Registry-Type"
)

// Handler serves Path: it authenticates a registry's request, parses it
// and dispatches its events. Answers: 200 with {"events":n,"triggered":m}
// (also for an image nobody tracks), 400 for an unknown or disabled type
// or a malformed body, 401 for a wrong secret, 405 for a method other than
// POST, 413 for a body over MaxBodyBytes, 500 when the dispatch failed (so
// the registry retries).
type Handler struct {
	// Secrets holds the shared secret per type.
	Secrets map[Type]string
	// AllowUnauthenticated accepts types without a secret, unchecked.
	// Off, a type without a secret is disabled.
	AllowUnauthenticated bool
	Dispatcher           Dispatcher
	Log                  logr.Logger
}

// Response is the body of a 200.
type Response struct {
	Events    int `json:"events"`
	Triggered int `json:"triggered"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := Type(r.URL.Query().Get("type"))
	if t == "" {
		t = Type(r.Header.Get(TypeHeader))
	}
	label := string(t)
	if !slices.Contains(Types, t) {
		label = "unknown"
	}
	requestsTotal.WithLabelValues(label).Inc()
	log := h.Log.WithValues("type", label, "remote", r.RemoteAddr)
	reject := func(code int, reason, msg string) {
		rejectedTotal.WithLabelValues(label, reason).Inc()
		log.Info("Webhook request rejected", "reason", reason, "message", msg)
		http.Error(w, msg, code)
	}

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reject(http.StatusMethodNotAllowed, rejectMethod, "only POST is accepted")
		return
	}
	if label == "unknown" {
		reject(http.StatusBadRequest, rejectUnknownType, fmt.Sprintf("unknown webhook type %q: set ?type= (or %s) to one of %v", t, TypeHeader, Types))
		return
	}
	secret := h.Secrets[t]
	if secret == "" && !h.AllowUnauthenticated {
		reject(http.StatusBadRequest, rejectDisabled, fmt.Sprintf("webhook type %q is not enabled: no secret is configured for it", t))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reject(http.StatusRequestEntityTooLarge, rejectTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
			return
		}
		reject(http.StatusBadRequest, rejectMalformed, "read body: "+err.Error())
		return
	}
	req := Request{Header: r.Header, Query: r.URL.Query(), Body: body}
	if secret != "" && !Authenticate(t, req, secret) {
		reject(http.StatusUnauthorized, rejectUnauthorized, "wrong or missing webhook secret")
		return
	}
	events, err := Parse(t, req)
	if err != nil {
		reject(http.StatusBadRequest, rejectMalformed, fmt.Sprintf("malformed %s payload: %v", t, err))
		return
	}
	eventsTotal.WithLabelValues(label).Add(float64(len(events)))
	n, err := h.Dispatcher.Dispatch(r.Context(), events)
	triggersTotal.WithLabelValues(label).Add(float64(n))
	if err != nil {
		log.Error(err, "Webhook dispatch failed", "events", len(events))
		rejectedTotal.WithLabelValues(label, rejectInternal).Inc()
		http.Error(w, "dispatch failed; retry later", http.StatusInternalServerError)
		return
	}
	for _, ev := range events {
		log.V(1).Info("Webhook event", "image", ev.String())
	}
	log.Info("Webhook request accepted", "events", len(events), "triggered", n)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{Events: len(events), Triggered: n})
}
