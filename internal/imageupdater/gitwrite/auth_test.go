package gitwrite

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

func TestIsSSH(t *testing.T) {
	tests := map[string]bool{
		"https://github.com/org/repo.git":    false,
		"http://127.0.0.1:8080/repo.git":     false,
		"ssh://git@github.com/org/repo.git":  true,
		"git@github.com:org/repo.git":        true,
		"github.com:org/repo.git":            true,
		"file:///tmp/repo.git":               false,
		"/tmp/repo.git":                      false,
		"ssh://git@host:2222/org/repo.git":   true,
		"git+ssh://git@host/org/repo.git":    true,
		"https://user@github.com/org/repo":   false,
		"https://host/path/with:colon/r.git": false,
	}
	for url, want := range tests {
		if got := IsSSH(url); got != want {
			t.Errorf("IsSSH(%q) = %v, want %v", url, got, want)
		}
	}
}

func TestCredentialsFromSecret(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(block)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := []byte("github.com " + string(ssh.MarshalAuthorizedKey(signer.PublicKey())))

	secret := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	tests := []struct {
		name       string
		url        string
		data       map[string]string
		wantUser   string
		wantSSH    bool
		wantReason string
	}{
		{name: "basic", url: "https://h/r.git", data: map[string]string{"username": "bot", "password": "pw"}, wantUser: "bot"},
		{name: "token without user", url: "https://h/r.git", data: map[string]string{"token": "ghp_x"}, wantUser: "git"},
		{name: "token wins over password", url: "https://h/r.git", data: map[string]string{"username": "u", "password": "p", "token": "t"}, wantUser: "u"},
		{name: "https without password", url: "https://h/r.git", data: map[string]string{"username": "u"}, wantReason: imagesv1.ReasonCredentialsNotFound},
		{name: "ssh key", url: "git@github.com:org/r.git", data: map[string]string{"sshPrivateKey": string(keyPEM), "known_hosts": string(knownHosts)}, wantSSH: true},
		{name: "flux identity", url: "ssh://git@github.com/org/r.git", data: map[string]string{"identity": string(keyPEM), "known_hosts": string(knownHosts)}, wantSSH: true},
		{name: "ssh without known_hosts", url: "git@github.com:org/r.git", data: map[string]string{"sshPrivateKey": string(keyPEM)}, wantReason: imagesv1.ReasonCredentialsNotFound},
		{name: "ssh without key", url: "git@github.com:org/r.git", data: map[string]string{"known_hosts": string(knownHosts)}, wantReason: imagesv1.ReasonCredentialsNotFound},
		{name: "ssh garbage key", url: "git@github.com:org/r.git", data: map[string]string{"sshPrivateKey": "garbage", "known_hosts": string(knownHosts)}, wantReason: imagesv1.ReasonCredentialsNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CredentialsFromSecret(tt.url, secret(tt.data))
			if tt.wantReason != "" {
				if r := failure.Reason(err, ""); r != tt.wantReason {
					t.Fatalf("err = %v (reason %q), want %s", err, r, tt.wantReason)
				}
				if err != nil && (strings.Contains(err.Error(), string(keyPEM)) || strings.Contains(err.Error(), "garbage")) {
					t.Errorf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch a := c.Auth.(type) {
			case *githttp.BasicAuth:
				if tt.wantSSH || a.Username != tt.wantUser {
					t.Errorf("auth = basic %q, want user %q ssh=%v", a.Username, tt.wantUser, tt.wantSSH)
				}
			case *gitssh.PublicKeys:
				if !tt.wantSSH || a.User != "git" || a.HostKeyCallback == nil {
					t.Errorf("auth = ssh user %q, callback set %v", a.User, a.HostKeyCallback != nil)
				}
			default:
				t.Errorf("auth = %T", c.Auth)
			}
			if len(c.Secrets) == 0 {
				t.Error("no secrets registered for redaction")
			}
		})
	}
	if c, err := CredentialsFromSecret("https://h/r.git", nil); err != nil || c.Auth != nil {
		t.Errorf("nil secret = %+v, %v; want anonymous", c, err)
	}
}
