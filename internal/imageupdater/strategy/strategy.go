// Package strategy chooses an image tag from a registry's tag list: the
// allow/ignore filters and the semver, alphabetical and newest-build
// orderings of argocd-image-updater. Everything here is pure; fetching tags
// and build dates is the registry package's job.
package strategy

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// regexpPrefix marks a filter entry as a regular expression, as in
// argocd-image-updater's allow-tags and ignore-tags annotations.
const regexpPrefix = "regexp:"

// Filter keeps the tags allowed by AllowTags and not matched by IgnoreTags.
type Filter struct {
	allow  *regexp.Regexp // nil allows every tag
	ignore []func(string) bool
}

// NewFilter parses allowTags ("", "any" or "regexp:<expr>") and ignoreTags
// (globs or "regexp:<expr>").
func NewFilter(allowTags string, ignoreTags []string) (*Filter, error) {
	f := &Filter{}
	switch {
	case allowTags == "" || allowTags == "any":
	case strings.HasPrefix(allowTags, regexpPrefix):
		re, err := regexp.Compile(strings.TrimPrefix(allowTags, regexpPrefix))
		if err != nil {
			return nil, fmt.Errorf("allowTags %q: %w", allowTags, err)
		}
		f.allow = re
	default:
		return nil, fmt.Errorf("allowTags %q: want \"any\" or \"regexp:<expression>\"", allowTags)
	}
	for _, pattern := range ignoreTags {
		if expr, ok := strings.CutPrefix(pattern, regexpPrefix); ok {
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("ignoreTags %q: %w", pattern, err)
			}
			f.ignore = append(f.ignore, re.MatchString)
			continue
		}
		// path.Match only fails on a malformed pattern; check it once here
		// so Match can ignore the error.
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("ignoreTags %q: %w", pattern, err)
		}
		f.ignore = append(f.ignore, func(tag string) bool {
			ok, _ := path.Match(pattern, tag)
			return ok
		})
	}
	return f, nil
}

// Match reports whether tag passes the filter.
func (f *Filter) Match(tag string) bool {
	if f.allow != nil && !f.allow.MatchString(tag) {
		return false
	}
	for _, ignored := range f.ignore {
		if ignored(tag) {
			return false
		}
	}
	return true
}

// Apply returns the tags that pass the filter, in their original order.
func (f *Filter) Apply(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if f.Match(t) {
			out = append(out, t)
		}
	}
	return out
}

// ParseConstraint parses a semver constraint; empty means any release.
func ParseConstraint(constraint string) (*semver.Constraints, error) {
	if strings.TrimSpace(constraint) == "" {
		constraint = "*"
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("semver constraint %q: %w", constraint, err)
	}
	return c, nil
}

// Semver returns the tags that parse as semantic versions and satisfy c,
// highest first. Tags that are equal as versions (v1.2.3 and 1.2.3) are
// ordered by their text so the choice is stable.
func Semver(tags []string, c *semver.Constraints) []string {
	type version struct {
		tag string
		v   *semver.Version
	}
	var vs []version
	for _, t := range tags {
		v, err := semver.NewVersion(t)
		if err != nil {
			continue // not a version: latest, sha-abc123, ...
		}
		if c.Check(v) {
			vs = append(vs, version{t, v})
		}
	}
	slices.SortStableFunc(vs, func(a, b version) int {
		if c := b.v.Compare(a.v); c != 0 {
			return c
		}
		return strings.Compare(b.tag, a.tag)
	})
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.tag
	}
	return out
}

// Alphabetical returns the tags sorted last-first (a copy).
func Alphabetical(tags []string) []string {
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(b, a) })
	return out
}

// Build is a tag with the creation date of its image.
type Build struct {
	Tag     string
	Created time.Time
}

// NewestBuild returns the tags newest build first; equal dates are ordered
// last-first by tag so the choice is stable.
func NewestBuild(builds []Build) []string {
	bs := slices.Clone(builds)
	slices.SortFunc(bs, func(a, b Build) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.Tag, a.Tag)
	})
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Tag
	}
	return out
}
