package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Request is what a parser or an authenticator sees of an HTTP request.
type Request struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// Type names a payload format, as ?type= or X-Registry-Type gives it.
type Type string

// The payload formats. All but TypeDistribution are argocd-image-updater's.
const (
	TypeDistribution Type = "distribution"
	TypeDockerHub    Type = "docker.io"
	TypeGHCR         Type = "ghcr.io"
	TypeHarbor       Type = "harbor"
	TypeQuay         Type = "quay.io"
	TypeAliyunACR    Type = "aliyun-acr"
	TypeACR          Type = "acr"
	TypeCloudEvents  Type = "cloudevents"
)

// Types lists every known type.
var Types = []Type{TypeDistribution, TypeDockerHub, TypeGHCR, TypeHarbor, TypeQuay, TypeAliyunACR, TypeACR, TypeCloudEvents}

// Parse turns a request of type t into the push events it reports. A
// well-formed request about something else than a push (a delete, a ping,
// a blob upload) gives no events and no error. The error of a malformed
// request says what is wrong, never quoting the body.
func Parse(t Type, req Request) ([]Event, error) {
	switch t {
	case TypeDistribution:
		return parseDistribution(req)
	case TypeDockerHub:
		return parseDockerHub(req)
	case TypeGHCR:
		return parseGHCR(req)
	case TypeHarbor:
		return parseHarbor(req)
	case TypeQuay:
		return parseQuay(req)
	case TypeAliyunACR:
		return parseAliyunACR(req)
	case TypeACR:
		return parseACR(req)
	case TypeCloudEvents:
		return parseCloudEvents(req)
	}
	return nil, fmt.Errorf("unknown webhook type %q", t)
}

// decode reads JSON strictly enough to reject what is not one JSON value.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not the expected JSON: %w", err)
	}
	if dec.More() {
		return errors.New("body holds more than one JSON value")
	}
	return nil
}

func required(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s is missing", field)
	}
	return nil
}

// distributionEvent is what we read of a distribution (or ACR) event.
type distributionEvent struct {
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

func (e distributionEvent) event(i int) (Event, bool, error) {
	if e.Action != "push" || e.Target.Tag == "" {
		// Pulls, deletes, blob uploads and manifests pushed by digest
		// (an index's children) move no tag.
		return Event{}, false, nil
	}
	prefix := fmt.Sprintf("events[%d].", i)
	if i < 0 {
		prefix = ""
	}
	if err := errors.Join(required(prefix+"request.host", e.Request.Host), required(prefix+"target.repository", e.Target.Repository)); err != nil {
		return Event{}, false, err
	}
	return Event{Registry: e.Request.Host, Repository: e.Target.Repository, Tag: e.Target.Tag, Digest: e.Target.Digest}, true, nil
}

// parseDistribution reads the CNCF distribution registry's notification
// envelope: {"events": [{action, target{repository, tag, digest},
// request{host}}, ...]}.
func parseDistribution(req Request) ([]Event, error) {
	var env struct {
		Events *[]distributionEvent `json:"events"`
	}
	if err := decode(req.Body, &env); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, errors.New("events is missing")
	}
	var out []Event
	for i, e := range *env.Events {
		ev, ok, err := e.event(i)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// parseACR reads an Azure Container Registry webhook: one distribution
// event, not an envelope.
func parseACR(req Request) ([]Event, error) {
	var e distributionEvent
	if err := decode(req.Body, &e); err != nil {
		return nil, err
	}
	if e.Action == "" {
		return nil, errors.New("action is missing")
	}
	ev, ok, err := e.event(-1)
	if err != nil || !ok {
		return nil, err
	}
	return []Event{ev}, nil
}

// parseDockerHub reads a Docker Hub repository webhook.
func parseDockerHub(req Request) ([]Event, error) {
	var p struct {
		PushData *struct {
			Tag string `json:"tag"`
		} `json:"push_data"`
		Repository struct {
			RepoName  string `json:"repo_name"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"repository"`
	}
	if err := decode(req.Body, &p); err != nil {
		return nil, err
	}
	if p.PushData == nil {
		return nil, errors.New("push_data is missing")
	}
	repo := p.Repository.RepoName
	if repo == "" && p.Repository.Namespace != "" && p.Repository.Name != "" {
		repo = p.Repository.Namespace + "/" + p.Repository.Name
	}
	if err := errors.Join(required("repository.repo_name", repo), required("push_data.tag", p.PushData.Tag)); err != nil {
		return nil, err
	}
	return []Event{{Registry: "docker.io", Repository: repo, Tag: p.PushData.Tag}}, nil
}

// ghcrPackage is the package of a GitHub package (or registry_package)
// event.
type ghcrPackage struct {
	Name        string `json:"name"`
	PackageType string `json:"package_type"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion struct {
		Version           string `json:"version"`
		ContainerMetadata struct {
			Tag struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

// parseGHCR reads a GitHub package event (X-GitHub-Event: package, or the
// older registry_package) about a published container image.
func parseGHCR(req Request) ([]Event, error) {
	kind := req.Header.Get("X-GitHub-Event")
	switch kind {
	case "package", "registry_package":
	case "ping":
		return nil, nil
	case "":
		return nil, errors.New("header X-GitHub-Event is missing")
	default:
		return nil, nil // another GitHub event: nothing pushed
	}
	var p struct {
		Action          string       `json:"action"`
		Package         *ghcrPackage `json:"package"`
		RegistryPackage *ghcrPackage `json:"registry_package"`
	}
	if err := decode(req.Body, &p); err != nil {
		return nil, err
	}
	pkg, field := p.Package, "package"
	if pkg == nil {
		pkg, field = p.RegistryPackage, "registry_package"
	}
	if pkg == nil {
		return nil, errors.New("package is missing")
	}
	if p.Action != "published" || !strings.EqualFold(pkg.PackageType, "container") {
		return nil, nil
	}
	tag := pkg.PackageVersion.ContainerMetadata.Tag.Name
	digest := pkg.PackageVersion.ContainerMetadata.Tag.Digest
	if digest == "" && strings.HasPrefix(pkg.PackageVersion.Version, "sha256:") {
		digest = pkg.PackageVersion.Version
	}
	if err := errors.Join(required(field+".owner.login", pkg.Owner.Login), required(field+".name", pkg.Name)); err != nil {
		return nil, err
	}
	if tag == "" {
		return nil, nil // an untagged version (a platform image of an index)
	}
	return []Event{{
		Registry:   "ghcr.io",
		Repository: strings.ToLower(pkg.Owner.Login + "/" + pkg.Name),
		Tag:        tag,
		Digest:     digest,
	}}, nil
}

// parseHarbor reads a Harbor webhook (JSON payload format).
func parseHarbor(req Request) ([]Event, error) {
	var p struct {
		Type      string `json:"type"`
		EventData *struct {
			Resources []struct {
				Digest      string `json:"digest"`
				Tag         string `json:"tag"`
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
			Repository struct {
				RepoFullName string `json:"repo_full_name"`
				Namespace    string `json:"namespace"`
				Name         string `json:"name"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	if err := decode(req.Body, &p); err != nil {
		return nil, err
	}
	if p.Type == "" {
		return nil, errors.New("type is missing")
	}
	if p.Type != "PUSH_ARTIFACT" {
		return nil, nil
	}
	if p.EventData == nil {
		return nil, errors.New("event_data is missing")
	}
	repo := p.EventData.Repository.RepoFullName
	if repo == "" && p.EventData.Repository.Namespace != "" {
		repo = p.EventData.Repository.Namespace + "/" + p.EventData.Repository.Name
	}
	if err := required("event_data.repository.repo_full_name", repo); err != nil {
		return nil, err
	}
	var out []Event
	for i, r := range p.EventData.Resources {
		host, _, _ := strings.Cut(r.ResourceURL, "/")
		if err := required(fmt.Sprintf("event_data.resources[%d].resource_url", i), host); err != nil {
			return nil, err
		}
		if r.Tag == "" {
			continue
		}
		out = append(out, Event{Registry: host, Repository: repo, Tag: r.Tag, Digest: r.Digest})
	}
	return out, nil
}

// parseQuay reads a Quay repository push notification; every updated tag
// is an event.
func parseQuay(req Request) ([]Event, error) {
	var p struct {
		Repository  string   `json:"repository"`
		DockerURL   string   `json:"docker_url"`
		UpdatedTags []string `json:"updated_tags"`
	}
	if err := decode(req.Body, &p); err != nil {
		return nil, err
	}
	host, _, _ := strings.Cut(p.DockerURL, "/")
	if err := errors.Join(required("repository", p.Repository), required("docker_url", host)); err != nil {
		return nil, err
	}
	var out []Event
	for _, t := range p.UpdatedTags {
		if t != "" {
			out = append(out, Event{Registry: host, Repository: p.Repository, Tag: t})
		}
	}
	return out, nil
}

// parseAliyunACR reads an Alibaba Cloud Container Registry webhook. The
// registry is ?registry_url= when given (instances of the enterprise
// edition have their own host), else registry.<region>.aliyuncs.com.
func parseAliyunACR(req Request) ([]Event, error) {
	var p struct {
		PushData *struct {
			Digest string `json:"digest"`
			Tag    string `json:"tag"`
		} `json:"push_data"`
		Repository struct {
			RepoFullName string `json:"repo_full_name"`
			Namespace    string `json:"namespace"`
			Name         string `json:"name"`
			Region       string `json:"region"`
		} `json:"repository"`
	}
	if err := decode(req.Body, &p); err != nil {
		return nil, err
	}
	if p.PushData == nil {
		return nil, errors.New("push_data is missing")
	}
	repo := p.Repository.RepoFullName
	if repo == "" && p.Repository.Namespace != "" {
		repo = p.Repository.Namespace + "/" + p.Repository.Name
	}
	host := req.Query.Get("registry_url")
	if host != "" {
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			host = u.Host
		}
	} else if p.Repository.Region != "" {
		host = "registry." + p.Repository.Region + ".aliyuncs.com"
	}
	if err := errors.Join(required("repository.repo_full_name", repo), required("push_data.tag", p.PushData.Tag),
		required("repository.region (or ?registry_url=)", host)); err != nil {
		return nil, err
	}
	return []Event{{Registry: host, Repository: repo, Tag: p.PushData.Tag, Digest: p.PushData.Digest}}, nil
}

// ecrSource matches the source of an ECR CloudEvent: an ARN or URN naming
// region, account and (optionally) the repository.
var ecrSource = regexp.MustCompile(`^(?:arn|urn):aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{12})(?::|$)`)

// parseCloudEvents reads a CloudEvent (structured JSON, or binary mode
// with ce-* headers) of type com.amazon.ecr.*, as an EventBridge rule
// with an input transformer delivers ECR push events.
func parseCloudEvents(req Request) ([]Event, error) {
	var ce struct {
		SpecVersion string          `json:"specversion"`
		Type        string          `json:"type"`
		Source      string          `json:"source"`
		Data        json.RawMessage `json:"data"`
	}
	if v := req.Header.Get("Ce-Specversion"); v != "" {
		ce.SpecVersion, ce.Type, ce.Source, ce.Data = v, req.Header.Get("Ce-Type"), req.Header.Get("Ce-Source"), req.Body
	} else if err := decode(req.Body, &ce); err != nil {
		return nil, err
	}
	if err := errors.Join(required("specversion", ce.SpecVersion), required("type", ce.Type), required("source", ce.Source)); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ce.Type, "com.amazon.ecr.") {
		return nil, nil
	}
	var d struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
		ImageTag       string `json:"imageTag"`
		ImageDigest    string `json:"imageDigest"`
		ActionType     string `json:"actionType"`
		Result         string `json:"result"`
		// EventBridge's own detail names, for a rule passing detail as is.
		RepositoryNameEB string `json:"repository-name"`
		ImageTagEB       string `json:"image-tag"`
		ImageDigestEB    string `json:"image-digest"`
		ActionTypeEB     string `json:"action-type"`
	}
	if len(ce.Data) == 0 {
		return nil, errors.New("data is missing")
	}
	if err := decode(ce.Data, &d); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	repo, tag, digest, action := first(d.RepositoryName, d.RepositoryNameEB), first(d.ImageTag, d.ImageTagEB),
		first(d.ImageDigest, d.ImageDigestEB), first(d.ActionType, d.ActionTypeEB)
	if (action != "" && !strings.EqualFold(action, "PUSH")) || (d.Result != "" && !strings.EqualFold(d.Result, "SUCCESS")) {
		return nil, nil
	}
	m := ecrSource.FindStringSubmatch(ce.Source)
	if m == nil {
		return nil, errors.New("source is not an ECR ARN or URN (arn:aws:ecr:<region>:<account>:...)")
	}
	account := first(d.RegistryID, m[2])
	if err := required("data.repositoryName", repo); err != nil {
		return nil, err
	}
	if tag == "" {
		return nil, nil
	}
	host := account + ".dkr.ecr." + m[1] + ".amazonaws.com"
	if strings.HasPrefix(m[1], "cn-") {
		host += ".cn"
	}
	return []Event{{Registry: host, Repository: repo, Tag: tag, Digest: digest}}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
