package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	const secret = "s3cr3t-value"
	body := []byte(`{"action":"published"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	otherMac := hmac.New(sha256.New, []byte("other"))
	otherMac.Write(body)

	q := func(s string) url.Values { return url.Values{"secret": {s}} }
	h := func(k, v string) http.Header { return http.Header{http.CanonicalHeaderKey(k): {v}} }
	tests := []struct {
		name   string
		typ    Type
		header http.Header
		query  url.Values
		body   []byte
		want   bool
	}{
		{"docker hub query", TypeDockerHub, nil, q(secret), nil, true},
		{"docker hub wrong query", TypeDockerHub, nil, q("nope"), nil, false},
		{"docker hub header is not its way", TypeDockerHub, h("Authorization", secret), nil, nil, false},
		{"quay query", TypeQuay, nil, q(secret), nil, true},
		{"aliyun query", TypeAliyunACR, nil, q(secret), nil, true},
		{"ghcr signature", TypeGHCR, h("X-Hub-Signature-256", sig), nil, body, true},
		{"ghcr signature of another body", TypeGHCR, h("X-Hub-Signature-256", sig), nil, []byte(`{}`), false},
		{"ghcr signature with another secret", TypeGHCR, h("X-Hub-Signature-256", "sha256="+hex.EncodeToString(otherMac.Sum(nil))), nil, body, false},
		{"ghcr signature not hex", TypeGHCR, h("X-Hub-Signature-256", "sha256=zz"), nil, body, false},
		{"ghcr sha1 signature", TypeGHCR, h("X-Hub-Signature", "sha1=00"), nil, body, false},
		{"ghcr secret in query is not its way", TypeGHCR, nil, q(secret), body, false},
		{"harbor authorization", TypeHarbor, h("Authorization", secret), nil, nil, true},
		{"harbor bearer", TypeHarbor, h("Authorization", "Bearer "+secret), nil, nil, true},
		{"harbor wrong", TypeHarbor, h("Authorization", "Bearer x"+secret), nil, nil, false},
		{"acr authorization", TypeACR, h("Authorization", secret), nil, nil, true},
		{"distribution bearer", TypeDistribution, h("Authorization", "Bearer "+secret), nil, nil, true},
		{"distribution query", TypeDistribution, nil, q(secret), nil, true},
		{"distribution prefix of the secret", TypeDistribution, h("Authorization", secret[:5]), nil, nil, false},
		{"distribution nothing", TypeDistribution, nil, nil, nil, false},
		{"cloudevents query", TypeCloudEvents, nil, q(secret), nil, true},
		{"cloudevents header", TypeCloudEvents, h("X-Webhook-Secret", secret), nil, nil, true},
		{"cloudevents wrong header", TypeCloudEvents, h("X-Webhook-Secret", "no"), nil, nil, false},
		{"unknown type", "gcr", nil, q(secret), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Header: tt.header, Query: tt.query, Body: tt.body}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if got := Authenticate(tt.typ, req, secret); got != tt.want {
				t.Errorf("Authenticate = %v, want %v", got, tt.want)
			}
		})
	}
	if Authenticate(TypeDockerHub, Request{Query: q("")}, "") {
		t.Error("an empty secret authenticated an empty query")
	}
}
