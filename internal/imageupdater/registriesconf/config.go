// Package registriesconf reads argocd-image-updater's registries.conf (the
// key registries.conf of the ConfigMap argocd-image-updater-config,
// mounted as a file) and gives the image updater the registry credentials
// it names, as an authn.Keychain: pullsecret:, secret:, env: and ext:
// forms, cached for credsexpire.
package registriesconf

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Tag sort modes.
const (
	TagSortNone        = "none"
	TagSortLatestFirst = "latest-first"
	TagSortLatestLast  = "latest-last"
)

// file is the YAML as written.
type file struct {
	Registries []entry `json:"registries"`
}

type entry struct {
	Name        string `json:"name"`
	APIURL      string `json:"api_url"`
	Prefix      string `json:"prefix"`
	Ping        any    `json:"ping"` // accepted, ignored (as the reference does)
	Credentials string `json:"credentials"`
	CredsExpire string `json:"credsexpire"`
	TagSortMode string `json:"tagsortmode"`
	DefaultNS   string `json:"defaultns"`
	Default     bool   `json:"default"`
	Insecure    bool   `json:"insecure"`
	CAFile      string `json:"ca_file"`
	CAData      string `json:"ca_data"`
	Limit       int    `json:"limit"`
}

// Config is a validated registries.conf.
type Config struct {
	Registries []Registry
}

// Registry is one validated entry.
type Registry struct {
	Name string
	// APIURL is the base of the v2 API, without a trailing slash.
	APIURL string
	// Prefix is the registry/repository prefix of the images the entry is
	// for, canonical (lower-case host, Docker Hub as docker.io); empty for
	// the entry that catches the registries no other entry names.
	Prefix string
	// Credentials is nil for anonymous access.
	Credentials *CredentialRef
	// CredsExpire is how long fetched credentials are used; 0 is forever.
	CredsExpire time.Duration
	TagSortMode string
	DefaultNS   string
	Default     bool
	Insecure    bool
	CAFile      string
	CAData      string
	// Limit is requests per second; 0 is unlimited.
	Limit int
}

// Load reads path. A missing file is an empty Config (the built-in
// registries only), as the reference treats it.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registries.conf: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates registries.conf. Unknown keys are errors; all
// problems are reported together, each naming its field.
func Parse(data []byte) (*Config, error) {
	var f file
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("registries.conf is not valid: %w", err)
	}
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	c := &Config{}
	noPrefix, defaults := -1, -1
	prefixes := map[string]int{}
	for i, e := range f.Registries {
		field := fmt.Sprintf("registries[%d]", i)
		r := Registry{
			Name: e.Name, Prefix: canonical(e.Prefix), TagSortMode: e.TagSortMode, DefaultNS: e.DefaultNS,
			Default: e.Default, Insecure: e.Insecure, CAFile: e.CAFile, CAData: e.CAData, Limit: e.Limit,
		}
		if e.Name == "" {
			fail(field+".name", "required")
		}
		switch u, err := url.Parse(e.APIURL); {
		case e.APIURL == "":
			fail(field+".api_url", "required")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			fail(field+".api_url", "%q is not an http(s):// URL", e.APIURL)
		default:
			r.APIURL = strings.TrimRight(e.APIURL, "/")
		}
		if r.Prefix == "" {
			if noPrefix >= 0 {
				fail(field+".prefix", "required: registries[%d] already has no prefix, and only one entry may catch the unnamed registries", noPrefix)
			}
			noPrefix = i
		} else if j, ok := prefixes[r.Prefix]; ok {
			fail(field+".prefix", "%q is also the prefix of registries[%d]", e.Prefix, j)
		} else {
			prefixes[r.Prefix] = i
		}
		if e.Default {
			if defaults >= 0 {
				fail(field+".default", "registries[%d] is the default already; only one may be", defaults)
			}
			defaults = i
		}
		if e.Credentials != "" {
			ref, err := ParseCredentialRef(e.Credentials)
			if err != nil {
				fail(field+".credentials", "%v", err)
			} else {
				r.Credentials = &ref
			}
		}
		if e.CredsExpire != "" {
			d, err := time.ParseDuration(e.CredsExpire)
			if err != nil || d < 0 {
				fail(field+".credsexpire", "%q is not a positive Go duration (e.g. 11h)", e.CredsExpire)
			}
			r.CredsExpire = d
		}
		switch e.TagSortMode {
		case "":
			r.TagSortMode = TagSortNone
		case TagSortNone, TagSortLatestFirst, TagSortLatestLast:
		default:
			fail(field+".tagsortmode", "%q is not one of none, latest-first, latest-last", e.TagSortMode)
		}
		if e.Limit < 0 {
			fail(field+".limit", "%d is negative", e.Limit)
		}
		if e.CAData != "" && !hasCertificate([]byte(e.CAData)) {
			fail(field+".ca_data", "holds no PEM certificate")
		}
		c.Registries = append(c.Registries, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// For returns the entry of image (registry/repository): the one whose
// prefix is the image or its longest prefix ending at a path boundary,
// else the entry without prefix, else nil.
func (c *Config) For(image string) *Registry {
	if c == nil {
		return nil
	}
	image = canonical(image)
	var best, catchAll *Registry
	for i := range c.Registries {
		r := &c.Registries[i]
		switch {
		case r.Prefix == "":
			catchAll = r
		case image == r.Prefix || strings.HasPrefix(image, strings.TrimSuffix(r.Prefix, "/")+"/"):
			if best == nil || len(r.Prefix) > len(best.Prefix) {
				best = r
			}
		}
	}
	if best != nil {
		return best
	}
	return catchAll
}

// canonical lower-cases the host of registry[/path] and names Docker Hub
// docker.io.
func canonical(s string) string {
	host, path, hasPath := strings.Cut(s, "/")
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		host = "docker.io"
	}
	if hasPath {
		return host + "/" + path
	}
	return host
}

func hasCertificate(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err == nil {
				return true
			}
		}
	}
}
