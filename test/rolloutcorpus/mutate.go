package rolloutcorpus

import (
	"fmt"
	"strconv"
	"strings"
)

// deleted as a mutation value removes the field.
type deleted struct{}

// site is a place in a Rollout and the values a mutation may put there:
// boundary values, values of the wrong shape, and the forms Argo accepts.
type site struct {
	path   string // dot-separated; "steps.1" indexes a list
	values []any
}

var (
	counts       = []any{deleted{}, int64(-1), int64(0), int64(1), int64(3), int64(10), int64(11), int64(600), int64(601)}
	weights      = []any{deleted{}, int64(-1), int64(0), int64(1), int64(50), int64(100), int64(101), int64(1000), int64(1001)}
	intOrPercent = []any{deleted{}, int64(-1), int64(0), int64(1), "0", "1", "+2", "-0", "-1", "0%", "00%", "25%", "100%", "150%", "+5%", "-5%", "5 %", "", "abc", "1.5"}
	services     = []any{deleted{}, "", "a", "b"}
	durations    = []any{deleted{}, int64(-1), int64(0), int64(30), "", "0", "30", "-30", "30s", "1h30m", "-5s", "-0s", "0.5s", "-0.1ns", "x", "5", "+5"}
	labelValues  = []any{deleted{}, "", "web", "api", "Web"}
	steps        = []any{
		deleted{},
		map[string]any{},
		map[string]any{"setWeight": int64(20)},
		map[string]any{"setWeight": int64(120)},
		map[string]any{"pause": map[string]any{}},
		map[string]any{"pause": map[string]any{"duration": "1m"}},
		map[string]any{"setWeight": int64(20), "pause": map[string]any{}},
		map[string]any{"setCanaryScale": map[string]any{"replicas": int64(1)}},
		map[string]any{"setCanaryScale": map[string]any{"weight": int64(101)}},
		map[string]any{"setCanaryScale": map[string]any{"matchTrafficWeight": true}},
		map[string]any{"experiment": map[string]any{"duration": "1m"}},
		map[string]any{"experiment": map[string]any{}, "setWeight": int64(5)},
		map[string]any{"analysis": map[string]any{"templates": []any{map[string]any{"templateName": "t"}}}},
		map[string]any{"plugin": map[string]any{"name": "p"}},
		map[string]any{"setHeaderRoute": map[string]any{"name": "h"}},
		map[string]any{"setMirrorRoute": map[string]any{"name": "m"}},
	}
	antiAffinities = []any{
		deleted{},
		map[string]any{},
		map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{}},
		map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": map[string]any{"weight": int64(50)}},
		map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": map[string]any{}},
		map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": map[string]any{"weight": int64(101)}},
		map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{}, "preferredDuringSchedulingIgnoredDuringExecution": map[string]any{"weight": int64(1)}},
	}
	canary = "spec.strategy.canary."
	bg     = "spec.strategy.blueGreen."
)

var sites = []site{
	{"spec.replicas", counts},
	{"spec.minReadySeconds", counts},
	{"spec.revisionHistoryLimit", counts},
	{"spec.progressDeadlineSeconds", counts},
	{"spec.rollbackWindow.revisions", counts},
	{"spec.selector", []any{deleted{}, map[string]any{}, map[string]any{"matchLabels": map[string]any{}}, map[string]any{"matchLabels": map[string]any{"app": "web"}}}},
	{"spec.selector.matchLabels.app", labelValues},
	{"spec.selector.matchLabels.tier", labelValues},
	{"spec.template.metadata.labels.app", labelValues},
	{"spec.template.metadata.labels", []any{deleted{}, map[string]any{}}},
	{"spec.template", []any{deleted{}, map[string]any{}, map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}}}}},
	{"spec.template.spec.containers", []any{deleted{}, []any{}}},
	{"spec.workloadRef", []any{
		deleted{},
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
		map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "scaleDown": "onsuccess"},
		map[string]any{"apiVersion": "v1", "kind": "PodTemplate", "name": "web"},
		map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"},
		map[string]any{"apiVersion": "v1", "kind": "Deployment", "name": "web"},
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"},
		map[string]any{"kind": "PodTemplate", "name": "web"},
	}},
	{"spec.strategy", []any{deleted{}, map[string]any{}}},
	{"spec.strategy.blueGreen", []any{deleted{}, map[string]any{}, map[string]any{"activeService": "a"}}},
	{"spec.strategy.canary", []any{deleted{}, map[string]any{}}},
	{bg + "activeService", services},
	{bg + "previewService", services},
	{bg + "previewReplicaCount", counts},
	{bg + "autoPromotionSeconds", counts},
	{bg + "maxUnavailable", intOrPercent},
	{bg + "scaleDownDelaySeconds", counts},
	{bg + "scaleDownDelayRevisionLimit", counts},
	{bg + "abortScaleDownDelaySeconds", counts},
	{bg + "antiAffinity", antiAffinities},
	{canary + "canaryService", services},
	{canary + "stableService", services},
	{canary + "maxSurge", intOrPercent},
	{canary + "maxUnavailable", intOrPercent},
	{canary + "scaleDownDelaySeconds", counts},
	{canary + "scaleDownDelayRevisionLimit", counts},
	{canary + "abortScaleDownDelaySeconds", counts},
	{canary + "minPodsPerReplicaSet", counts},
	{canary + "antiAffinity", antiAffinities},
	{canary + "trafficRouting", []any{
		deleted{},
		map[string]any{},
		map[string]any{"nginx": map[string]any{"stableIngress": "web"}},
		map[string]any{"maxTrafficWeight": int64(1000), "nginx": map[string]any{"stableIngress": "web"}},
		map[string]any{"maxTrafficWeight": int64(50), "plugins": map[string]any{"p": map[string]any{}}},
	}},
	{canary + "replicaProgressThreshold", []any{
		deleted{},
		map[string]any{},
		map[string]any{"type": "Percent", "value": int64(100)},
		map[string]any{"type": "Percent", "value": int64(101)},
		map[string]any{"type": "Percent", "value": int64(-1)},
		map[string]any{"type": "Pod", "value": int64(-1)},
		map[string]any{"type": "Pods", "value": int64(500)},
		map[string]any{"type": "Other", "value": int64(1)},
	}},
	{canary + "steps", []any{deleted{}, []any{}}},
	{canary + "steps.0", steps},
	{canary + "steps.1", steps},
	{canary + "steps.0.setWeight", weights},
	{canary + "steps.1.pause.duration", durations},
	{canary + "steps.0.setCanaryScale.weight", weights},
	{canary + "steps.0.setCanaryScale.replicas", counts},
}

// Mutate applies the mutations ops encodes to obj, two bytes each (a site,
// a value at it), and describes them. Any byte string is a valid program,
// so a fuzzer can generate them freely.
func Mutate(obj map[string]any, ops []byte) []string {
	var applied []string
	for i := 0; i+1 < len(ops); i += 2 {
		s := sites[int(ops[i])%len(sites)]
		v := s.values[int(ops[i+1])%len(s.values)]
		if _, ok := v.(deleted); ok {
			remove(obj, strings.Split(s.path, "."))
			applied = append(applied, "delete "+s.path)
			continue
		}
		v = deepCopy(v)
		if set(obj, strings.Split(s.path, "."), v) {
			applied = append(applied, fmt.Sprintf("%s=%#v", s.path, v))
		}
	}
	return applied
}

// set puts v at path, creating maps (and growing lists with empty steps)
// on the way; it does nothing where the path crosses a value of another
// shape.
func set(node any, path []string, v any) bool {
	key := path[0]
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			n[key] = v
			return true
		}
		child, ok := n[key]
		if !ok {
			if _, isIndex := index(path[1]); isIndex {
				child = []any{}
			} else {
				child = map[string]any{}
			}
		}
		if list, ok := child.([]any); ok {
			i, isIndex := index(path[1])
			if !isIndex {
				return false
			}
			for len(list) <= i {
				list = append(list, map[string]any{"setWeight": int64(10)})
			}
			n[key] = list
			if len(path) == 2 {
				list[i] = v
				return true
			}
			return set(list[i], path[2:], v)
		}
		n[key] = child
		return set(child, path[1:], v)
	}
	return false
}

func remove(node any, path []string) {
	for len(path) > 1 {
		switch n := node.(type) {
		case map[string]any:
			node = n[path[0]]
		case []any:
			i, ok := index(path[0])
			if !ok || i >= len(n) {
				return
			}
			node = n[i]
		default:
			return
		}
		path = path[1:]
	}
	switch n := node.(type) {
	case map[string]any:
		delete(n, path[0])
	case []any:
		// Removing a list element would renumber the others; leave it.
	}
}

func index(s string) (int, bool) {
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0
}

// Seed is one input of the fuzz test: a document of the valid corpus (by
// index, modulo its length) and the mutation program Mutate runs on it.
type Seed struct {
	Doc uint8
	Ops []byte
}

// Seeds is the fuzz test's seed corpus, which `go test` runs without
// -fuzz and crdtest runs against a real kube-apiserver to check the
// in-process validation agrees with it: every value at every site once, on
// a rotating document, then pairs of mutations, which combine rules (two
// steps, surge with unavailability, workloadRef with a template, ...).
func Seeds() []Seed {
	var out []Seed
	for s := range sites {
		for k := range sites[s].values {
			out = append(out, Seed{Doc: uint8(s + k), Ops: []byte{byte(s), byte(k)}})
		}
	}
	for i := range 200 {
		out = append(out, Seed{Doc: uint8(i), Ops: []byte{byte(7 * i), byte(3*i + 1), byte(11*i + 5), byte(5*i + 2)}})
	}
	return out
}
