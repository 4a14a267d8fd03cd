// Package registry asks container registries, through go-containerregistry,
// which image version an ImageUpdater image should run: the digest behind a
// tag, or the best tag by a strategy. It also turns registry failures into
// condition reasons and builds the keychains and TLS transports to use.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/strategy"
)

const (
	// DefaultTag is the tag the digest strategy tracks when none is given.
	DefaultTag = "latest"
	// maxBuildCandidates bounds the images newest-build inspects per poll:
	// each costs a manifest and a config request the first time.
	maxBuildCandidates = 200
	// maxPlatformCandidates bounds how far down the ordered tags a search
	// for one with the requested platforms goes.
	maxPlatformCandidates = 20
	// buildJobs is how many configs newest-build fetches at once.
	buildJobs = 4
	// createdCacheSize bounds the digest -> creation date cache.
	createdCacheSize = 10000
)

// Query is what to look up for one image. Filter, Constraint and Platforms
// are parsed by the caller, which reports a bad spec before any network
// traffic.
type Query struct {
	// Image is registry/repository, without tag or digest.
	Image      string
	Strategy   imagesv1.UpdateStrategy
	Tag        string              // digest strategy; default latest
	Constraint *semver.Constraints // semver strategy; nil means any
	Filter     *strategy.Filter    // semver, newest-build, alphabetical; nil keeps all
	Platforms  []v1.Platform
	// Insecure allows plain HTTP (the Transport decides about TLS).
	Insecure  bool
	Keychain  authn.Keychain
	Transport http.RoundTripper
}

// Result is the chosen image version.
type Result struct {
	Tag string
	// Digest of the manifest, or of the manifest list / OCI index for a
	// multi-arch image, as the registry reports it.
	Digest string
}

// Client resolves queries. It caches image creation dates by digest, which
// never change. The zero value is ready to use.
type Client struct {
	// UserAgent is sent to registries.
	UserAgent string

	mu      sync.Mutex
	created map[v1.Hash]time.Time
}

// Resolve looks q up in the registry.
func (c *Client) Resolve(ctx context.Context, q Query) (Result, error) {
	var opts []name.Option
	if q.Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(q.Image, opts...)
	if err != nil {
		return Result{}, failure.New(imagesv1.ReasonInvalidSpec, err, "image %q is not a repository reference", q.Image)
	}
	kc := q.Keychain
	if kc == nil {
		kc = authn.NewMultiKeychain() // anonymous
	}
	ropts := []remote.Option{remote.WithAuthFromKeychain(kc)}
	if q.Transport != nil {
		ropts = append(ropts, remote.WithTransport(q.Transport))
	}
	if c.UserAgent != "" {
		ropts = append(ropts, remote.WithUserAgent(c.UserAgent))
	}
	// One Puller per query, so the token exchange is done once for all the
	// requests of this poll.
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return Result{}, fmt.Errorf("registry client for %s: %w", q.Image, err)
	}
	r := &resolution{client: c, q: q, repo: repo, puller: puller}

	switch q.Strategy {
	case imagesv1.StrategyDigest, "":
		tag := q.Tag
		if tag == "" {
			tag = DefaultTag
		}
		digest, err := r.digest(ctx, tag)
		if err != nil {
			return Result{}, err
		}
		return Result{Tag: tag, Digest: digest}, nil
	case imagesv1.StrategySemver, imagesv1.StrategyAlphabetical, imagesv1.StrategyNewestBuild:
		return r.bestTag(ctx)
	}
	return Result{}, failure.New(imagesv1.ReasonInvalidSpec, nil, "unknown strategy %q", q.Strategy)
}

// resolution is the state of one Resolve call.
type resolution struct {
	client *Client
	q      Query
	repo   name.Repository
	puller *remote.Puller
}

func (r *resolution) registry() string { return r.repo.RegistryStr() }

func (r *resolution) ref(tag string) string { return r.repo.Name() + ":" + tag }

// digest returns the digest of tag, checking the requested platforms.
func (r *resolution) digest(ctx context.Context, tag string) (string, error) {
	ref := r.repo.Tag(tag)
	if len(r.q.Platforms) == 0 {
		// HEAD is enough and, on Docker Hub, does not count against the
		// pull rate limit.
		d, err := r.puller.Head(ctx, ref)
		if err == nil {
			return d.Digest.String(), nil
		}
		if !headFallback(err) {
			return "", classify(err, r.registry(), r.ref(tag))
		}
	}
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return "", classify(err, r.registry(), r.ref(tag))
	}
	if err := r.checkPlatforms(desc, tag); err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// headFallback says whether a failed HEAD is worth a GET: not when the
// registry refused us or has no such tag, or is unreachable, since a GET
// gets the same answer; yes for the rest (a registry without the digest
// header, a proxy that mishandles HEAD).
func headFallback(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests:
			return false
		}
		return true
	}
	return failure.Reason(classify(err, "", ""), "") == imagesv1.ReasonRegistryError
}

// checkPlatforms fails unless desc provides every requested platform.
func (r *resolution) checkPlatforms(desc *remote.Descriptor, tag string) error {
	if len(r.q.Platforms) == 0 {
		return nil
	}
	var have []v1.Platform
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return classify(err, r.registry(), r.ref(tag))
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return classify(err, r.registry(), r.ref(tag))
		}
		for _, child := range m.Manifests {
			if child.Platform != nil {
				have = append(have, *child.Platform)
			}
		}
	default:
		img, err := desc.Image()
		if err != nil {
			return classify(err, r.registry(), r.ref(tag))
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return classify(err, r.registry(), r.ref(tag))
		}
		if p := cf.Platform(); p != nil {
			have = append(have, *p)
		}
	}
	var missing []string
	for _, want := range r.q.Platforms {
		found := false
		for _, p := range have {
			if p.Satisfies(want) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, want.String())
		}
	}
	if len(missing) > 0 {
		return failure.New(imagesv1.ReasonPlatformNotFound, nil, "%s does not provide platform %s", r.ref(tag), strings.Join(missing, ", "))
	}
	return nil
}

// bestTag lists the tags, orders the candidates by the strategy and returns
// the first that provides the requested platforms.
func (r *resolution) bestTag(ctx context.Context) (Result, error) {
	tags, err := r.puller.List(ctx, r.repo)
	if err != nil {
		return Result{}, classify(err, r.registry(), r.repo.Name())
	}
	candidates := tags
	if r.q.Filter != nil {
		candidates = r.q.Filter.Apply(tags)
	}

	var ordered []string
	switch r.q.Strategy {
	case imagesv1.StrategySemver:
		c := r.q.Constraint
		if c == nil {
			if c, err = strategy.ParseConstraint(""); err != nil {
				return Result{}, err
			}
		}
		ordered = strategy.Semver(candidates, c)
	case imagesv1.StrategyAlphabetical:
		ordered = strategy.Alphabetical(candidates)
	case imagesv1.StrategyNewestBuild:
		if len(candidates) > maxBuildCandidates {
			return Result{}, failure.New(imagesv1.ReasonNoMatchingTag, nil,
				"%d tags of %s pass the filters; newest-build inspects at most %d, narrow allowTags or ignoreTags",
				len(candidates), r.repo.Name(), maxBuildCandidates)
		}
		builds, err := r.builds(ctx, candidates)
		if err != nil {
			return Result{}, err
		}
		ordered = strategy.NewestBuild(builds)
	}
	if len(ordered) == 0 {
		return Result{}, failure.New(imagesv1.ReasonNoMatchingTag, nil,
			"none of the %d tags of %s matches the %s strategy's constraint and tag filters", len(tags), r.repo.Name(), r.q.Strategy)
	}

	var lastErr error
	for i, tag := range ordered {
		if i == maxPlatformCandidates {
			break
		}
		digest, err := r.digest(ctx, tag)
		if err == nil {
			return Result{Tag: tag, Digest: digest}, nil
		}
		if failure.Reason(err, "") != imagesv1.ReasonPlatformNotFound {
			return Result{}, err
		}
		lastErr = err
	}
	return Result{}, failure.New(imagesv1.ReasonPlatformNotFound, lastErr,
		"none of the best %d candidate tags of %s provides every platform of %s", min(len(ordered), maxPlatformCandidates), r.repo.Name(), platformList(r.q.Platforms))
}

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// builds fetches the creation date of each tag's image, a few at a time.
func (r *resolution) builds(ctx context.Context, tags []string) ([]strategy.Build, error) {
	out := make([]strategy.Build, len(tags))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(buildJobs)
	for i, tag := range tags {
		g.Go(func() error {
			created, err := r.created(ctx, tag)
			if err != nil {
				return err
			}
			out[i] = strategy.Build{Tag: tag, Created: created}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// created returns the creation date in the config of tag's image; for a
// multi-arch image, of the first requested platform's (or the first real
// platform's) image.
func (r *resolution) created(ctx context.Context, tag string) (time.Time, error) {
	ref := r.repo.Tag(tag)
	head, err := r.puller.Head(ctx, ref)
	if err != nil && !headFallback(err) {
		return time.Time{}, classify(err, r.registry(), r.ref(tag))
	}
	if err == nil {
		if t, ok := r.client.cachedCreated(head.Digest); ok {
			return t, nil
		}
	}

	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return time.Time{}, classify(err, r.registry(), r.ref(tag))
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return time.Time{}, classify(err, r.registry(), r.ref(tag))
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return time.Time{}, classify(err, r.registry(), r.ref(tag))
		}
		child, ok := pickChild(m.Manifests, r.q.Platforms)
		if !ok {
			return time.Time{}, nil // nothing to date: sorts last
		}
		if img, err = idx.Image(child.Digest); err != nil {
			return time.Time{}, classify(err, r.registry(), r.ref(tag))
		}
	} else if img, err = desc.Image(); err != nil {
		return time.Time{}, classify(err, r.registry(), r.ref(tag))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return time.Time{}, classify(err, r.registry(), r.ref(tag))
	}
	r.client.storeCreated(desc.Digest, cf.Created.Time)
	return cf.Created.Time, nil
}

// pickChild chooses the index entry whose config dates the image.
// Attestation manifests (platform unknown/unknown) are never chosen.
func pickChild(children []v1.Descriptor, platforms []v1.Platform) (v1.Descriptor, bool) {
	var first *v1.Descriptor
	for i, c := range children {
		if c.Platform == nil || c.Platform.OS == "unknown" {
			continue
		}
		if len(platforms) == 0 || c.Platform.Satisfies(platforms[0]) {
			return c, true
		}
		if first == nil {
			first = &children[i]
		}
	}
	if first != nil {
		return *first, true
	}
	return v1.Descriptor{}, false
}

func (c *Client) cachedCreated(h v1.Hash) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.created[h]
	return t, ok
}

func (c *Client) storeCreated(h v1.Hash, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.created == nil || len(c.created) >= createdCacheSize {
		// Crude but bounded: start over rather than track recency.
		c.created = map[v1.Hash]time.Time{}
	}
	c.created[h] = t
}
