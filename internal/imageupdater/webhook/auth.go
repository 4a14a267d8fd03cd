package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Authenticate reports whether req carries secret the way type t sends it:
//
//   - docker.io, quay.io, aliyun-acr: ?secret=<secret>
//   - ghcr.io: X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>
//   - harbor, acr, distribution: Authorization: <secret> (or Bearer
//     <secret>); distribution also accepts ?secret=
//   - cloudevents: ?secret=<secret> or X-Webhook-Secret: <secret>
//
// Every comparison takes constant time. An empty secret authenticates
// nothing.
func Authenticate(t Type, req Request, secret string) bool {
	if secret == "" {
		return false
	}
	switch t {
	case TypeDockerHub, TypeQuay, TypeAliyunACR:
		return equal(req.Query.Get("secret"), secret)
	case TypeGHCR:
		sig, ok := strings.CutPrefix(req.Header.Get("X-Hub-Signature-256"), "sha256=")
		if !ok {
			return false
		}
		got, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(req.Body)
		return hmac.Equal(got, mac.Sum(nil))
	case TypeHarbor, TypeACR:
		return authorization(req, secret)
	case TypeDistribution:
		// Both checks run, so timing does not tell which one failed.
		a, q := authorization(req, secret), equal(req.Query.Get("secret"), secret)
		return a || q
	case TypeCloudEvents:
		q, h := equal(req.Query.Get("secret"), secret), equal(req.Header.Get("X-Webhook-Secret"), secret)
		return q || h
	}
	return false
}

// authorization compares the Authorization header, with or without the
// Bearer scheme, to secret.
func authorization(req Request, secret string) bool {
	h := req.Header.Get("Authorization")
	if v, ok := strings.CutPrefix(h, "Bearer "); ok {
		h = v
	}
	return equal(h, secret)
}

func equal(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
