// Package redact removes credentials from text before it reaches a log line,
// an event or the status. Errors from registries and git servers are shown
// to users, and some transports echo URLs or headers; rather than trust every
// library, the reconciler passes every message through a Redactor that knows
// the secret values it loaded.
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces a secret.
const Mask = "***"

// userinfo matches the credentials part of a URL (scheme://user:pass@host).
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// Redactor masks known secret values and URL credentials.
type Redactor struct {
	secrets []string // longest first, so a secret containing another is masked whole
}

// New returns a Redactor for the given secrets; empty strings are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secrets, with the encodings they commonly appear in.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r.secrets = append(r.secrets, s,
			base64.StdEncoding.EncodeToString([]byte(s)),
			url.QueryEscape(s),
			url.PathEscape(s))
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	r.secrets = slices.Compact(r.secrets)
}

// AddBasic registers a username/password pair, including the base64
// "user:pass" form of an HTTP Authorization header.
func (r *Redactor) AddBasic(username, password string) {
	if password == "" {
		return
	}
	r.Add(password, username+":"+password)
}

// String returns s with every known secret and any URL userinfo masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, secret := range r.secrets {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	return userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
}
