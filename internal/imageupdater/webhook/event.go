// Package webhook receives registry push notifications and triggers, at
// once, the image updaters tracking the pushed image, so a push does not
// wait for the next poll. Polling stays the safety net for lost events.
//
// The endpoint is /webhook?type=<type> (or the X-Registry-Type header) with
// the types of argocd-image-updater (docker.io, ghcr.io, harbor, quay.io,
// aliyun-acr, acr, cloudevents) plus distribution, the notification
// envelope of the CNCF distribution registry. The parsers are pure
// functions of the request; the Handler authenticates, parses and hands the
// events to a Dispatcher; a Queue coalesces bursts of events per object
// before the controller is told.
package webhook

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Event is one pushed image version.
type Event struct {
	// Registry is the registry host[:port] as the event names it.
	Registry string
	// Repository is the repository path inside the registry.
	Repository string
	// Tag is the tag pushed; empty when the event names none.
	Tag string
	// Digest is the manifest digest pushed, when the event names it.
	Digest string
}

// String is registry/repository[:tag][@digest], for logs.
func (e Event) String() string {
	s := e.Registry + "/" + e.Repository
	if e.Tag != "" {
		s += ":" + e.Tag
	}
	if e.Digest != "" {
		s += "@" + e.Digest
	}
	return s
}

// Key is the event's repository in the canonical form of RepositoryKey.
func (e Event) Key() (string, error) {
	return RepositoryKey(e.Registry + "/" + e.Repository)
}

// RepositoryKey returns the canonical name of an image repository
// (registry/repository, no tag or digest), so an event and an image spec
// naming the same repository differently compare equal: the registry host
// is lower-cased, Docker Hub's names (docker.io, registry-1.docker.io,
// index.docker.io, none) become index.docker.io, one-segment Docker Hub
// repositories get library/, and an explicit :443 is dropped.
func RepositoryKey(image string) (string, error) {
	host, path, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(host, ".:") || host == "localhost") {
		host = strings.ToLower(strings.TrimSuffix(host, ":443"))
		if host == "registry-1.docker.io" {
			host = name.DefaultRegistry
		}
		image = host + "/" + path
	}
	repo, err := name.NewRepository(image)
	if err != nil {
		return "", fmt.Errorf("%q is not an image repository: %w", image, err)
	}
	return repo.Name(), nil
}

// Matches reports whether ev is a push to the repository image (registry/
// repository) of the tag the image tracks. trackedTag is the tag of the
// digest strategy; empty means any tag may be the new best one (semver,
// newest-build, alphabetical). An event naming no tag matches every tag.
func Matches(ev Event, image, trackedTag string) bool {
	evKey, err := ev.Key()
	if err != nil {
		return false
	}
	key, err := RepositoryKey(image)
	if err != nil || key != evKey {
		return false
	}
	return trackedTag == "" || ev.Tag == "" || ev.Tag == trackedTag
}
