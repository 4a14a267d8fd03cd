package main

import (
	"context"
	"strings"
	"time"

	"github.com/switchyard-dev/switchyard/test/auditlog"
)

// auditEvent is an audit line the bench reads.
type auditEvent = auditlog.Event

// identity says which requests are the controller's.
type identity = auditlog.Identity

// auditLog is what the bench keeps of the audit log: the controller's
// completed requests and the bench's own promote writes (for latency).
type auditLog struct {
	controller []auditEvent
	bench      []auditEvent
}

// readAudit reads the completed requests of the controller and of the
// bench (by its user agent) from the audit log.
func readAudit(path string, ctrl identity, benchAgent string) (*auditLog, error) {
	log := &auditLog{}
	events, err := auditlog.Read(path, func(e *auditEvent) bool {
		return ctrl.Matches(e) || (strings.HasPrefix(e.UserAgent, benchAgent) && e.IsWrite())
	})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if ctrl.Matches(&e) {
			log.controller = append(log.controller, e)
		} else {
			log.bench = append(log.bench, e)
		}
	}
	return log, nil
}

// syncAudit makes sure every request made so far is in the audit log.
func (b *bench) syncAudit(ctx context.Context) error {
	return auditlog.Sync(ctx, b.kube, b.auditPath)
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
	s.ByVerb[e.Verb+" "+e.Resource()]++
	if e.IsEvent() && e.IsWrite() {
		s.EventWrites++
		if e.Verb == "create" {
			s.EventCreates++
		}
	}
	switch c := e.Code(); {
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

// switchTimes is one promote's way to its Service switch, as the API server
// saw it: from the promote write's completion to the Service write's, and
// the Service write alone (received to completed).
type switchTimes struct {
	total, write time.Duration
}

// promoteToService pairs each promote write of the bench (a status patch of
// rollout by its own client) with the first write to service after it
// among writes (the controller's, or the floor reactor's).
func promoteToService(bench, writes []auditEvent, rollout, service string, from, to time.Time) []switchTimes {
	var out []switchTimes
	j := 0
	for i := range bench {
		p := &bench[i]
		if p.Verb != "patch" || p.Resource() != "rollouts/status" || p.Name() != rollout || p.UserAgent != benchAgent {
			continue
		}
		t := p.StageTimestamp.Time
		if t.Before(from) || !t.Before(to) {
			continue
		}
		for ; j < len(writes); j++ {
			c := &writes[j]
			if !c.RequestReceivedTimestamp.Time.Before(p.RequestReceivedTimestamp.Time) && c.Resource() == "services" &&
				c.Name() == service && (c.Verb == "patch" || c.Verb == "update") && c.Code() < 300 {
				out = append(out, switchTimes{total: c.StageTimestamp.Sub(t), write: c.StageTimestamp.Sub(c.RequestReceivedTimestamp.Time)})
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
		if t := p.StageTimestamp.Time; p.Verb == "patch" && p.Resource() == "rollouts/status" && !t.Before(from) && t.Before(to) {
			if _, seen := promoted[active(p.Name())]; !seen {
				promoted[active(p.Name())] = p.StageTimestamp.Time
				received[active(p.Name())] = p.RequestReceivedTimestamp.Time
			}
		}
	}
	var out []time.Duration
	for i := range log.controller {
		c := &log.controller[i]
		if c.Resource() != "services" || (c.Verb != "patch" && c.Verb != "update") || c.Code() >= 300 {
			continue
		}
		t, ok := promoted[c.Name()]
		if !ok || c.RequestReceivedTimestamp.Time.Before(received[c.Name()]) {
			continue
		}
		out = append(out, c.StageTimestamp.Sub(t))
		delete(promoted, c.Name())
	}
	return out
}
