package metrics

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/test/heapsize"
)

// observation is one Observe (or, for a counter, Inc) of a series.
type observation struct {
	v      float64
	labels []string
}

// gather registers c alone on a pedantic registry and returns its
// families, with the created timestamps checked to lie in [since, now]
// and then cleared (they are when a series began, which two
// implementations cannot share).
func gather(t *testing.T, c prometheus.Collector, since time.Time) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var created **timestamppb.Timestamp
			switch {
			case m.GetCounter() != nil:
				created = &m.GetCounter().CreatedTimestamp
			case m.GetHistogram() != nil:
				created = &m.GetHistogram().CreatedTimestamp
			default:
				t.Fatalf("%s: neither a counter nor a histogram", f.GetName())
			}
			if ct := (*created).AsTime(); *created == nil || ct.Before(since) || ct.After(now) {
				t.Errorf("%s %v: created %v, not within [%v, %v]", f.GetName(), m.GetLabel(), *created, since, now)
			}
			*created = nil
		}
	}
	return families
}

func sameFamilies(t *testing.T, got, want []*dto.MetricFamily) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d families, want %d:\n%v\nwant\n%v", len(got), len(want), got, want)
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("got\n%v\nwant\n%v", got[i], want[i])
		}
	}
}

// TestCompactHistogramExportsAsClientGolang: what a compact histogram
// exports for some observations is what a client_golang HistogramVec of
// the same name, help, buckets and labels exports for them.
func TestCompactHistogramExportsAsClientGolang(t *testing.T) {
	app := []string{"ns", "app"}
	for _, tc := range []struct {
		name    string
		buckets []float64
		labels  []string
		obs     []observation
	}{
		{"nothing observed", reconcileBuckets, []string{"namespace", "name"}, nil},
		{"one observation", reconcileBuckets, []string{"namespace", "name"}, []observation{{0.2, app}}},
		{"on each bound: the bound's bucket", reconcileBuckets, []string{"namespace", "name"}, []observation{
			{0.01, app}, {0.15, app}, {0.25, app}, {0.5, app}, {1, app},
		}},
		{"below the first, above the last, zero, negative", reconcileBuckets, []string{"namespace", "name"}, []observation{
			{0.001, app}, {1.0000001, app}, {42, app}, {0, app}, {-3, app},
		}},
		{"+Inf and NaN", reconcileBuckets, []string{"namespace", "name"}, []observation{
			{math.Inf(1), app}, {math.NaN(), app}, {math.Inf(-1), app},
		}},
		{"several series", reconcileBuckets, []string{"namespace", "name"}, []observation{
			{0.3, app}, {0.02, []string{"ns", "other"}}, {0.7, app}, {0.02, []string{"ns2", "app"}}, {0.14, app},
		}},
		{"promote buckets, three labels", promoteBuckets, []string{"namespace", "name", "strategy"}, []observation{
			{1.5, []string{"ns", "app", "canary"}}, {0.04, []string{"ns", "app", "canary"}}, {4000, []string{"ns", "app", "canary"}},
			{7, []string{"ns", "app", "blueGreen"}}, {120, []string{"ns", "bg", "blueGreen"}},
		}},
		{"empty and unusual label values", reconcileBuckets, []string{"namespace", "name"}, []observation{
			{0.1, []string{"", "cluster-scoped"}}, {0.2, []string{"ns", "é\x01\"\\n"}}, {0.3, []string{"ns", strings.Repeat("long-", 60)}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since := time.Now()
			const name, help = "test_seconds", "Test."
			want := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: tc.buckets}, tc.labels)
			got := newCompactHistogram(name, help, tc.buckets, tc.labels...)
			for _, o := range tc.obs {
				want.WithLabelValues(o.labels...).Observe(o.v)
				got.observe(o.v, o.labels...)
			}
			sameFamilies(t, gather(t, got, since), gather(t, want, since))
		})
	}
}

// TestCompactCounterExportsAsClientGolang: likewise for a counter and a
// CounterVec.
func TestCompactCounterExportsAsClientGolang(t *testing.T) {
	requestLabels := []string{"kind", "namespace", "name", "verb", "status_code"}
	for _, tc := range []struct {
		name   string
		labels []string
		incs   [][]string
	}{
		{"nothing counted", []string{"namespace", "name"}, nil},
		{"reconcile errors", []string{"namespace", "name"}, [][]string{{"ns", "app"}, {"ns", "app"}, {"ns", "other"}}},
		{"events", []string{"namespace", "name", "type", "reason"}, [][]string{
			{"ns", "app", "Normal", "RolloutUpdated"}, {"ns", "app", "Normal", "RolloutUpdated"}, {"ns", "app", "Warning", "RolloutAborted"},
		}},
		{"requests", requestLabels, [][]string{
			{"rollouts", "ns", "app", "Get", "200"}, {"rollouts/status", "ns", "app", "Update", "409"},
			{"rollouts", "", "N/A", "List", "200"}, {"rollouts", "ns", "app", "Get", "200"}, {"Unknown", "Unknown", "Unknown", "Unknown", "Unknown"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since := time.Now()
			const name, help = "test_total", "Test."
			want := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, tc.labels)
			got := newCompactCounter(name, help, tc.labels...)
			for _, labels := range tc.incs {
				want.WithLabelValues(labels...).Inc()
				got.inc(labels...)
			}
			sameFamilies(t, gather(t, got, since), gather(t, want, since))
		})
	}
}

// keys lists a family's series as their label values joined by "|".
func keys[S any](f *family[S]) map[string]bool {
	out := map[string]bool{}
	values := make([]string, len(f.labelNames))
	for _, s := range f.snapshot(nil) {
		out[strings.Join(splitKey(s.key, values), "|")] = true
	}
	return out
}

// TestDeleteObject: deleting an object removes exactly the series whose
// namespace and name labels are its own, wherever those labels are.
func TestDeleteObject(t *testing.T) {
	long := strings.Repeat("n", 200)
	for _, tc := range []struct {
		name      string
		labels    []string
		series    [][]string
		namespace string
		object    string
		left      []string
	}{
		{
			"reconcile histogram", []string{"namespace", "name"},
			[][]string{{"ns", "app"}, {"ns", "app-2"}, {"other", "app"}, {"ns", "ap"}},
			"ns", "app", []string{"ns|app-2", "other|app", "ns|ap"},
		},
		{
			"events: every type and reason of the object", []string{"namespace", "name", "type", "reason"},
			[][]string{{"ns", "app", "Normal", "RolloutUpdated"}, {"ns", "app", "Warning", "RolloutAborted"}, {"ns", "app2", "Normal", "RolloutUpdated"}},
			"ns", "app", []string{"ns|app2|Normal|RolloutUpdated"},
		},
		{
			"requests: namespace and name after kind", []string{"kind", "namespace", "name", "verb", "status_code"},
			[][]string{{"rollouts", "ns", "app", "Get", "200"}, {"services", "ns", "app", "Patch", "200"}, {"rollouts", "ns", "N/A", "List", "200"}, {"ns", "app", "app", "Get", "200"}},
			"ns", "app", []string{"rollouts|ns|N/A|List|200", "ns|app|app|Get|200"},
		},
		{
			"label values that look like encoded lengths", []string{"namespace", "name"},
			[][]string{{"x", "y"}, {"x\x01y", ""}, {"", "x\x01y"}, {"\x01x", "\x01y"}},
			"x", "y", []string{"x\x01y|", "|x\x01y", "\x01x|\x01y"},
		},
		{
			"values longer than a one-byte length", []string{"namespace", "name"},
			[][]string{{long, long}, {long, long + "x"}, {"ns", long}},
			long, long, []string{long + "|" + long + "x", "ns|" + long},
		},
		{
			"no namespace label: nothing to delete", []string{"name"},
			[][]string{{"app"}}, "", "app", []string{"app"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompactCounter("test_total", "Test.", tc.labels...)
			h := newCompactHistogram("test_seconds", "Test.", reconcileBuckets, tc.labels...)
			for _, labels := range tc.series {
				c.inc(labels...)
				h.observe(1, labels...)
			}
			wantDeleted := len(tc.series) - len(tc.left)
			if n := c.deleteObject(tc.namespace, tc.object); n != wantDeleted {
				t.Errorf("counter: %d deleted, want %d", n, wantDeleted)
			}
			if n := h.deleteObject(tc.namespace, tc.object); n != wantDeleted {
				t.Errorf("histogram: %d deleted, want %d", n, wantDeleted)
			}
			want := map[string]bool{}
			for _, k := range tc.left {
				want[k] = true
			}
			for what, got := range map[string]map[string]bool{"counter": keys(&c.family), "histogram": keys(&h.family)} {
				if !maps.Equal(got, want) {
					t.Errorf("%s left %v, want %v", what, got, want)
				}
			}
		})
	}
}

// TestDeletedFleetGivesBackItsTables: once most objects' series are
// deleted, the family's maps are rebuilt at their new size (a Go map's
// table never shrinks by deletes), and the series left are intact.
func TestDeletedFleetGivesBackItsTables(t *testing.T) {
	c := newCompactCounter("test_total", "Test.", "namespace", "name")
	for i := range 1000 {
		c.inc("ns", fmt.Sprintf("ro-%d", i))
	}
	series, objects := c.series, c.objects
	for i := 10; i < 1000; i++ {
		c.deleteObject("ns", fmt.Sprintf("ro-%d", i))
	}
	if len(c.series) != 10 || len(c.objects) != 10 {
		t.Fatalf("%d series and %d objects left, want 10 each", len(c.series), len(c.objects))
	}
	// A rebuilt map is a new one: an insert into it leaves the old as it was.
	c.inc("ns", "new")
	if _, inOld := series[string(appendKey(nil, []string{"ns", "new"}))]; inOld {
		t.Error("the series map was not rebuilt")
	}
	if _, inOld := objects[objectRef{"ns", "new"}]; inOld {
		t.Error("the objects map was not rebuilt")
	}
	for i := range 10 {
		if _, ok := c.objects[objectRef{"ns", fmt.Sprintf("ro-%d", i)}]; !ok {
			t.Errorf("ro-%d lost its series", i)
		}
	}
}

// TestWrongLabelValuesPanic: as client_golang's WithLabelValues, on the
// observing side, never at a scrape.
func TestWrongLabelValuesPanic(t *testing.T) {
	c := newCompactCounter("c", "C.", "namespace", "name")
	h := newCompactHistogram("h", "H.", reconcileBuckets, "namespace", "name")
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"too few", func() { c.inc("ns") }},
		{"too many", func() { h.observe(1, "ns", "app", "x") }},
		{"not UTF-8", func() { c.inc("ns", "\xff") }},
		{"not UTF-8 in a histogram", func() { h.observe(1, "\xff", "app") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
	if len(c.series) != 0 || len(h.series) != 0 {
		t.Errorf("a refused series was kept: %d, %d", len(c.series), len(h.series))
	}
}

// TestCompactConcurrent: workers observing in parallel while scrapes run
// and another object is deleted lose no observation (run with -race).
func TestCompactConcurrent(t *testing.T) {
	c := newCompactCounter("test_total", "Test.", "namespace", "name")
	h := newCompactHistogram("test_seconds", "Test.", reconcileBuckets, "namespace", "name")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c, h)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c.inc("ns", "app")
				h.observe(float64(i%4)/4, "ns", "app")
				c.inc("ns", fmt.Sprintf("gone-%d", w))
				c.deleteObject("ns", fmt.Sprintf("gone-%d", w))
			}
		})
	}
	done := make(chan struct{})
	scrapes := make(chan error, 1)
	go func() {
		defer close(scrapes)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := reg.Gather(); err != nil {
				scrapes <- err
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	if err := <-scrapes; err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if n := len(f.GetMetric()); n != 1 {
			t.Fatalf("%s: %d series, want ns/app's only", f.GetName(), n)
		}
		m := f.GetMetric()[0]
		switch f.GetName() {
		case "test_total":
			if v := m.GetCounter().GetValue(); v != workers*each {
				t.Errorf("counter %v, want %d", v, workers*each)
			}
		case "test_seconds":
			hist := m.GetHistogram()
			if hist.GetSampleCount() != workers*each {
				t.Errorf("count %d, want %d", hist.GetSampleCount(), workers*each)
			}
			// 0, 0.25, 0.5, 0.75 in turn: the sum is exact in binary.
			if want := float64(workers*each) / 4 * 1.5; hist.GetSampleSum() != want {
				t.Errorf("sum %v, want %v", hist.GetSampleSum(), want)
			}
		}
	}
}

// perRolloutStore is the storage of the series one Rollout typically has.
type perRolloutStore interface {
	// feed records, for the i-th Rollout, what a Rollout typically
	// leaves: reconcile passes, API requests about it and its
	// ReplicaSet and Service, events, and a promote.
	feed(i int)
}

// typicalRollout calls the four recorders as a Rollout's life does: label
// values freshly built, as the controller reads them from API objects and
// request paths.
func typicalRollout(i int, reconcile func(v float64, ns, name string), request func(kind, ns, name, verb, code string),
	event func(ns, name, typ, reason string), promote func(v float64, ns, name, strategy string),
) {
	ns, name := fmt.Sprintf("team-%03d", i%100), fmt.Sprintf("checkout-%05d", i)
	for _, v := range []float64{0.004, 0.02, 0.3, 0.008} {
		reconcile(v, ns, name)
	}
	request("rollouts", ns, name, "Get", "200")
	request("rollouts/status", ns, name, "Update", "200")
	request("replicasets", ns, name+"-7c9d5b8f4", "Patch", "200")
	request("services", ns, name+"-active", "Patch", "200")
	event(ns, name, "Normal", "RolloutUpdated")
	event(ns, name, "Normal", "RolloutCompleted")
	event(ns, name, "Normal", "SwitchService")
	promote(1.5, ns, name, "blueGreen")
}

// vecStore is the client_golang vectors this package used before.
type vecStore struct {
	reconcile, promote *prometheus.HistogramVec
	requests, events   *prometheus.CounterVec
}

func (s *vecStore) feed(i int) {
	typicalRollout(i,
		func(v float64, ns, name string) { s.reconcile.WithLabelValues(ns, name).Observe(v) },
		func(kind, ns, name, verb, code string) { s.requests.WithLabelValues(kind, ns, name, verb, code).Inc() },
		func(ns, name, typ, reason string) { s.events.WithLabelValues(ns, name, typ, reason).Inc() },
		func(v float64, ns, name, strategy string) { s.promote.WithLabelValues(ns, name, strategy).Observe(v) })
}

// compactStore is Metrics' own.
type compactStore struct{ m *Metrics }

func (s compactStore) feed(i int) {
	typicalRollout(i, func(v float64, ns, name string) { s.m.rolloutReconcile.observe(v, ns, name) },
		func(kind, ns, name, verb, code string) { s.m.requests.counter.inc(kind, ns, name, verb, code) },
		func(ns, name, typ, reason string) { s.m.rolloutEvents.inc(ns, name, typ, reason) },
		func(v float64, ns, name, strategy string) { s.m.promoteToSwitch.observe(v, ns, name, strategy) })
}

// BenchmarkPerRolloutHeap reports the heap a Rollout's typical series
// retain (B/rollout, after a GC, over 1,000 Rollouts), in client_golang's
// vectors and in the compact storage.
func BenchmarkPerRolloutHeap(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func() perRolloutStore
	}{
		{"client_golang", func() perRolloutStore {
			nn := []string{"namespace", "name"}
			return &vecStore{
				reconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: RolloutReconcile, Help: "h", Buckets: reconcileBuckets}, nn),
				promote:   prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: PromoteToServiceSwitch, Help: "h", Buckets: promoteBuckets}, append(nn, "strategy")),
				requests:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: K8sRequestTotal, Help: "h"}, []string{"kind", "namespace", "name", "verb", "status_code"}),
				events:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: RolloutEventsTotal, Help: "h"}, append(nn, "type", "reason")),
			}
		}},
		{"compact", func() perRolloutStore { return compactStore{New(Options{})} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const rollouts = 1000
			var perRollout float64
			for b.Loop() {
				store := tc.store()
				before := heapsize.Live()
				for i := range rollouts {
					store.feed(i)
				}
				perRollout = float64(heapsize.Live()-before) / rollouts
				runtime.KeepAlive(store)
			}
			b.ReportMetric(perRollout, "B/rollout")
		})
	}
}
