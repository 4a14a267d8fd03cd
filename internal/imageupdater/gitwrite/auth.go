package gitwrite

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	corev1 "k8s.io/api/core/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// Keys of a git credentials Secret. The SSH key names of both Argo CD
// (sshPrivateKey) and Flux (identity) are accepted.
const (
	KeyUsername      = "username"
	KeyPassword      = "password"
	KeyToken         = "token"
	KeySSHPrivateKey = "sshPrivateKey"
	KeyIdentity      = "identity"
	KeySSHPassphrase = "sshPassphrase"
	KeyKnownHosts    = "known_hosts"
	KeyCA            = "ca.crt"
)

// defaultHTTPSUser is sent with a token when the Secret names no user;
// GitHub, GitLab and Gitea accept any non-empty user with a token.
const defaultHTTPSUser = "git"

// Credentials are what a Secret gives for one repository URL.
type Credentials struct {
	Auth     transport.AuthMethod
	CABundle []byte
	// Secrets are the sensitive values, for redaction.
	Secrets []string
}

// IsSSH reports whether url is reached over SSH (ssh:// or scp-like
// user@host:path).
func IsSSH(url string) bool {
	if strings.HasPrefix(url, "ssh://") || strings.HasPrefix(url, "git+ssh://") {
		return true
	}
	if strings.Contains(url, "://") {
		return false
	}
	at := strings.Index(url, "@")
	colon := strings.Index(url, ":")
	return colon > 0 && (at < 0 || at < colon)
}

// CredentialsFromSecret reads the credentials for url from s (nil means
// none: a public repository, or one whose server allows anonymous push).
func CredentialsFromSecret(url string, s *corev1.Secret) (*Credentials, error) {
	c := &Credentials{}
	if s == nil {
		return c, nil
	}
	c.CABundle = s.Data[KeyCA]
	if IsSSH(url) {
		return sshCredentials(url, s, c)
	}
	user := string(s.Data[KeyUsername])
	pass := string(s.Data[KeyPassword])
	if tok := string(s.Data[KeyToken]); tok != "" {
		pass = tok
	}
	if pass == "" {
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, nil,
			"secret %s has no %q or %q for HTTPS repository %s", s.Name, KeyPassword, KeyToken, url)
	}
	if user == "" {
		user = defaultHTTPSUser
	}
	c.Auth = &githttp.BasicAuth{Username: user, Password: pass}
	c.Secrets = []string{pass, user + ":" + pass}
	return c, nil
}

func sshCredentials(url string, s *corev1.Secret, c *Credentials) (*Credentials, error) {
	key := s.Data[KeySSHPrivateKey]
	if len(key) == 0 {
		key = s.Data[KeyIdentity]
	}
	if len(key) == 0 {
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, nil,
			"secret %s has no %q or %q for SSH repository %s", s.Name, KeySSHPrivateKey, KeyIdentity, url)
	}
	knownHosts := s.Data[KeyKnownHosts]
	if len(knownHosts) == 0 {
		// Accepting any host key would hand the key and the repository to
		// whoever answers on the network; require the host's key instead.
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, nil,
			"secret %s has no %q: the SSH host key of %s must be known (ssh-keyscan output)", s.Name, KeyKnownHosts, url)
	}
	passphrase := string(s.Data[KeySSHPassphrase])
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, failure.New(imagesv1.ReasonInvalidSpec, nil, "git URL %q is not valid", url)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	pk, err := gitssh.NewPublicKeys(user, key, passphrase)
	if err != nil {
		// The parse error names no key material.
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, err, "secret %s: SSH private key cannot be read", s.Name)
	}

	// go-git reads known_hosts from files only; the file lives just long
	// enough to be parsed.
	f, err := os.CreateTemp("", "known_hosts-*")
	if err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(knownHosts)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write known_hosts: %w", werr)
	}
	db, err := gitssh.NewKnownHostsDb(f.Name())
	if err != nil {
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, err, "secret %s: %q cannot be parsed", s.Name, KeyKnownHosts)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	pk.HostKeyCallback = db.HostKeyCallback()
	// Offer only the algorithms known_hosts has keys for, so the server
	// does not pick one we cannot verify.
	pk.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, fmt.Sprint(port)))
	c.Auth = pk
	c.Secrets = []string{string(key), passphrase}
	return c, nil
}
