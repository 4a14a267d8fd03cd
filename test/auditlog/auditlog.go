// Package auditlog reads kube-apiserver's audit log (JSON lines, metadata
// level, as the local cluster writes it with Options.AuditLog), so a
// harness can tell apart the requests of each client identity: what a
// controller cost (test/bench), which replica wrote what and when
// (test/chaos).
package auditlog

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
	"k8s.io/client-go/kubernetes"
)

// Event is the part of an audit line (metadata level) the harnesses read.
type Event struct {
	AuditID   string `json:"auditID"`
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

// Resource is "resource" or "resource/subresource".
func (e *Event) Resource() string {
	if e.ObjectRef == nil {
		return "(non-resource)"
	}
	r := e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		r += "/" + e.ObjectRef.Subresource
	}
	return r
}

// Name is the object's name, if the request named one.
func (e *Event) Name() string {
	if e.ObjectRef == nil {
		return ""
	}
	return e.ObjectRef.Name
}

// Namespace is the request's namespace, if any.
func (e *Event) Namespace() string {
	if e.ObjectRef == nil {
		return ""
	}
	return e.ObjectRef.Namespace
}

// Code is the response's HTTP status code (0 if unknown).
func (e *Event) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// IsEvent is a request on a core or events.k8s.io Event.
func (e *Event) IsEvent() bool {
	return e.ObjectRef != nil && e.ObjectRef.Resource == "events"
}

// IsWrite is a request that changes state.
func (e *Event) IsWrite() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// Succeeded is a request the API server completed with a 2xx status.
func (e *Event) Succeeded() bool {
	c := e.Code()
	return c >= 200 && c < 300
}

// Received is when the API server received the request.
func (e *Event) Received() time.Time { return e.RequestReceivedTimestamp.Time }

// Completed is when the API server finished it.
func (e *Event) Completed() time.Time { return e.StageTimestamp.Time }

// Identity says which requests are one client's: by user name (its client
// certificate) or, failing that, by user-agent prefix.
type Identity struct {
	User      string
	UserAgent string
}

// Matches is whether e was sent by the identity.
func (id Identity) Matches(e *Event) bool {
	if id.User != "" {
		return e.User.Username == id.User
	}
	return id.UserAgent != "" && strings.HasPrefix(e.UserAgent, id.UserAgent)
}

func (id Identity) String() string {
	if id.User != "" {
		return "user " + id.User
	}
	return "user agent " + id.UserAgent + "*"
}

// Read returns the completed requests (stage ResponseComplete) of the log
// at path for which keep returns true, ordered by when the API server
// received them. A log written by several runs of kube-apiserver (one
// restarted on the same file) reads as one.
func Read(path string, keep func(*Event) bool) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && bytes.Contains(line, []byte(`"ResponseComplete"`)) {
			var e Event
			if jerr := json.Unmarshal(line, &e); jerr == nil && e.Stage == "ResponseComplete" && keep(&e) {
				out = append(out, e)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].RequestReceivedTimestamp.Before(&out[j].RequestReceivedTimestamp)
	})
	return out, nil
}

// Sync makes sure every request the API server has completed so far is in
// the log at path (it is written in batches): it sends a marker request
// through kube and waits, at most 30 seconds, for the marker's line.
func Sync(ctx context.Context, kube kubernetes.Interface, path string) error {
	marker := fmt.Sprintf("audit-sync-%d", time.Now().UnixNano())
	_, err := kube.CoreV1().Namespaces().Get(ctx, marker, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("audit marker request: %w", err)
	}
	needle := []byte(`"name":"` + marker + `"`)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The log is only read forward from where the last read stopped; the
	// marker's line is at most a batch (one second) away. A file has no
	// watch here: it is read again every 200ms.
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
			return fmt.Errorf("audit log %s: marker request not written within 30s", path)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
