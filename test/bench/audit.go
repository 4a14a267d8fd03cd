package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// auditEvent is the part of a kube-apiserver audit line (metadata level)
// the bench reads.
type auditEvent struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
		Namespace   string `json:"namespace"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp metav1.MicroTime `json:"requestReceivedTimestamp"`
	StageTimestamp           metav1.MicroTime `json:"stageTimestamp"`
}

func (e *auditEvent) resource() string {
	if e.ObjectRef == nil {
		return "(non-resource)"
	}
	r := e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		r += "/" + e.ObjectRef.Subresource
	}
	return r
}

func (e *auditEvent) name() string {
	if e.ObjectRef == nil {
		return ""
	}
	return e.ObjectRef.Name
}

func (e *auditEvent) code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

func (e *auditEvent) isEvent() bool {
	return e.ObjectRef != nil && e.ObjectRef.Resource == "events"
}

func (e *auditEvent) isWrite() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// identity says which requests are the controller's: by user name (its
// client certificate) or, failing that, by user-agent prefix.
type identity struct {
	User      string
	UserAgent string
}

func (id identity) matches(e *auditEvent) bool {
	if id.User != "" {
		return e.User.Username == id.User
	}
	return id.UserAgent != "" && strings.HasPrefix(e.UserAgent, id.UserAgent)
}

func (id identity) String() string {
	if id.User != "" {
		return "user " + id.User
	}
	return "user agent " + id.UserAgent + "*"
}

// auditLog is what the bench keeps of the audit log: the controller's
// completed requests and the bench's own promote writes (for latency).
type auditLog struct {
	controller []auditEvent
	bench      []auditEvent
}

// readAudit reads the completed requests of the controller and of the
// bench (by its user agent) from the audit log.
func readAudit(path string, ctrl identity, benchAgent string) (*auditLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	log := &auditLog{}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && bytes.Contains(line, []byte(`"ResponseComplete"`)) {
			var e auditEvent
			if jerr := json.Unmarshal(line, &e); jerr == nil && e.Stage == "ResponseComplete" {
				switch {
				case ctrl.matches(&e):
					log.controller = append(log.controller, e)
				case strings.HasPrefix(e.UserAgent, benchAgent) && e.isWrite():
					log.bench = append(log.bench, e)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	byReceived := func(s []auditEvent) {
		sort.SliceStable(s, func(i, j int) bool {
			return s[i].RequestReceivedTimestamp.Before(&s[j].RequestReceivedTimestamp)
		})
	}
	byReceived(log.controller)
	byReceived(log.bench)
	return log, nil
}

// syncAudit makes sure every request made so far is in the audit log (it is
// written in batches): it sends a marker request and waits for its line.
func (b *bench) syncAudit(ctx context.Context) error {
	marker := fmt.Sprintf("bench-audit-sync-%d", time.Now().UnixNano())
	_, err := b.kube.CoreV1().Namespaces().Get(ctx, marker, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("audit marker request: %w", err)
	}
	needle := []byte(`"name":"` + marker + `"`)
	f, err := os.Open(b.auditPath)
	if err != nil {
		return err
	}
	defer f.Close()
	// The log is only read forward from where the last read stopped; the
	// marker's line is at most a batch (one second) away.
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var tail []byte
	buf := make([]byte, 1<<20)
	for {
		for {
			n, err := f.Read(buf)
			if n > 0 {
				tail = append(tail, buf[:n]...)
				if bytes.Contains(tail, needle) {
					return nil
				}
				if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
					tail = append(tail[:0], tail[i+1:]...)
				}
			}
			if err == io.EOF || n == 0 {
				break
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("audit log %s: marker request not written within 30s", b.auditPath)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// window is a span of the run whose controller requests are counted
// together. Windows are contiguous: each phase's window runs until the
// next begins, so requests a controller makes after the bench saw the
// condition (events flushed late, a last status write) count where they
// belong.
type window struct {
	Name       string
	Start, End time.Time
}

// requestStats are the controller's requests in one window.
type requestStats struct {
	Total        int            `json:"total"`
	EventCreates int            `json:"eventCreates"`
	EventWrites  int            `json:"eventWrites"`
	Conflicts    int            `json:"conflicts"`
	Errors       int            `json:"errors"`
	ByVerb       map[string]int `json:"byVerbResource"`
}

func (s *requestStats) add(e *auditEvent) {
	if s.ByVerb == nil {
		s.ByVerb = map[string]int{}
	}
	s.Total++
	s.ByVerb[e.Verb+" "+e.resource()]++
	if e.isEvent() && e.isWrite() {
		s.EventWrites++
		if e.Verb == "create" {
			s.EventCreates++
		}
	}
	switch c := e.code(); {
	case c == 409:
		s.Conflicts++
	case c >= 400 && c != 404:
		s.Errors++
	}
}

// attribute counts the controller's requests per window, by the time the
// API server received them. Requests outside every window go to "other".
func attribute(events []auditEvent, windows []window) map[string]*requestStats {
	out := map[string]*requestStats{}
	for _, w := range windows {
		out[w.Name] = &requestStats{ByVerb: map[string]int{}}
	}
	out["other"] = &requestStats{ByVerb: map[string]int{}}
	for i := range events {
		e := &events[i]
		t := e.RequestReceivedTimestamp.Time
		name := "other"
		for _, w := range windows {
			if !t.Before(w.Start) && t.Before(w.End) {
				name = w.Name
				break
			}
		}
		out[name].add(e)
	}
	return out
}

// promoteToService pairs each promote write of the bench (a status patch of
// rollout) with the controller's first write to service after it, and
// returns the time between their completions, as the API server saw them.
func promoteToService(log *auditLog, rollout, service string, from, to time.Time) []time.Duration {
	var out []time.Duration
	j := 0
	for i := range log.bench {
		p := &log.bench[i]
		if p.Verb != "patch" || p.resource() != "rollouts/status" || p.name() != rollout {
			continue
		}
		t := p.StageTimestamp.Time
		if t.Before(from) || !t.Before(to) {
			continue
		}
		for ; j < len(log.controller); j++ {
			c := &log.controller[j]
			if !c.RequestReceivedTimestamp.Time.Before(p.RequestReceivedTimestamp.Time) && c.resource() == "services" &&
				c.name() == service && (c.Verb == "patch" || c.Verb == "update") && c.code() < 300 {
				out = append(out, c.StageTimestamp.Sub(t))
				j++
				break
			}
		}
	}
	return out
}

// fleetPromoteToService is promoteToService over the fleet, where the
// promote writes of many Rollouts interleave: each Rollout's promote is
// paired with the first write to its active Service after it.
func fleetPromoteToService(log *auditLog, active func(rollout string) string, from, to time.Time) []time.Duration {
	promoted := map[string]time.Time{}
	received := map[string]time.Time{}
	for i := range log.bench {
		p := &log.bench[i]
		if t := p.StageTimestamp.Time; p.Verb == "patch" && p.resource() == "rollouts/status" && !t.Before(from) && t.Before(to) {
			if _, seen := promoted[active(p.name())]; !seen {
				promoted[active(p.name())] = p.StageTimestamp.Time
				received[active(p.name())] = p.RequestReceivedTimestamp.Time
			}
		}
	}
	var out []time.Duration
	for i := range log.controller {
		c := &log.controller[i]
		if c.resource() != "services" || (c.Verb != "patch" && c.Verb != "update") || c.code() >= 300 {
			continue
		}
		t, ok := promoted[c.name()]
		if !ok || c.RequestReceivedTimestamp.Time.Before(received[c.name()]) {
			continue
		}
		out = append(out, c.StageTimestamp.Sub(t))
		delete(promoted, c.name())
	}
	return out
}
