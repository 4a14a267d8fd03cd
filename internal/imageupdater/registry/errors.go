package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// classify turns a go-containerregistry error about ref (registry/repo:tag)
// on registry into a failure.Error with a reason and a message for users.
func classify(err error, registry, ref string) error {
	if err == nil {
		return nil
	}
	// Already classified where it was understood (a keychain's refusal).
	var fe *failure.Error
	if errors.As(err, &fe) {
		return fe
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return classifyHTTP(te, err, registry, ref)
	}

	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		netErr           net.Error
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verification):
		return failure.New(imagesv1.ReasonRegistryUnreachable, err,
			"TLS certificate of registry %s is not trusted (%s); add its CA with caSecret or caConfigMap, or set insecure: true",
			registry, certProblem(err))
	case errors.As(err, &recordHeader):
		return failure.New(imagesv1.ReasonRegistryUnreachable, err,
			"registry %s does not speak TLS; set insecure: true to use plain HTTP", registry)
	case errors.Is(err, context.DeadlineExceeded):
		return failure.New(imagesv1.ReasonRegistryUnreachable, err, "timed out talking to registry %s", registry)
	case errors.As(err, &netErr):
		// netErr, not err: go-containerregistry joins the HTTPS and the
		// plain-HTTP attempt, and the first is the one that matters.
		return failure.New(imagesv1.ReasonRegistryUnreachable, err, "cannot reach registry %s: %s", registry, failure.RootCause(netErr))
	case errors.Is(err, ErrPlainHTTP):
		return failure.New(imagesv1.ReasonRegistryUnreachable, err, "registry %s: %s", registry, ErrPlainHTTP.Error())
	}
	return failure.New(imagesv1.ReasonRegistryError, err, "registry %s failed for %s: %s", registry, ref, failure.RootCause(err))
}

func classifyHTTP(te *transport.Error, err error, registry, ref string) error {
	hasCode := func(code transport.ErrorCode) bool {
		for _, d := range te.Errors {
			if d.Code == code {
				return true
			}
		}
		return false
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized || hasCode(transport.UnauthorizedErrorCode):
		return failure.New(imagesv1.ReasonAuthFailed, err,
			"registry %s refused the credentials for %s (401 Unauthorized)", registry, ref)
	case te.StatusCode == http.StatusForbidden || hasCode(transport.DeniedErrorCode):
		return failure.New(imagesv1.ReasonAuthFailed, err,
			"registry %s denied access to %s (403 Forbidden)", registry, ref)
	case hasCode(transport.NameUnknownErrorCode):
		return failure.New(imagesv1.ReasonTagNotFound, err, "repository of %s not found in registry %s", ref, registry)
	case te.StatusCode == http.StatusNotFound || hasCode(transport.ManifestUnknownErrorCode):
		return failure.New(imagesv1.ReasonTagNotFound, err, "%s not found in registry %s", ref, registry)
	case te.StatusCode == http.StatusTooManyRequests || hasCode(transport.TooManyRequestsErrorCode):
		return failure.New(imagesv1.ReasonRegistryError, err, "registry %s is rate limiting requests for %s (429)", registry, ref)
	}
	return failure.New(imagesv1.ReasonRegistryError, err, "registry %s answered %d %s for %s",
		registry, te.StatusCode, http.StatusText(te.StatusCode), ref)
}

// certProblem names what is wrong with a certificate in a few words.
func certProblem(err error) string {
	var hostname x509.HostnameError
	if errors.As(err, &hostname) {
		return hostname.Error()
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		return invalid.Error()
	}
	return "signed by an unknown authority"
}
