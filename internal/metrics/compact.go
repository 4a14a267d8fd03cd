package metrics

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-dev/switchyard/internal/mapshrink"
)

// The per-object series (a Rollout's reconcile histogram and errors, its
// events, its promote-to-switch histogram, the API requests naming it) are
// kept here as plain numbers and exported at scrape time as constant
// metrics. client_golang's vectors spend from about a kilobyte (a counter)
// to several (a histogram: label pairs, exemplar slots, hot and cold
// atomics per bucket) on each series; at thousands of objects that was a
// tenth of the controller's heap. Here a series is its label values,
// encoded into one string, and its numbers.

// family is what the compact counter and histogram share: the metric's
// description and, by encoded label values, each series' numbers S.
type family[S any] struct {
	desc       *prometheus.Desc
	labelNames []string
	// namespace and name are the positions of those labels (-1: none).
	namespace, name int
	// init readies a new series' numbers (nil: S's zero value will do).
	init func(*S)

	mu     sync.Mutex
	series map[string]*series[S]
	// objects indexes the keys of series by the object their namespace
	// and name labels name, so an object's series go in one step when it
	// is deleted, however many objects there are. Its strings share the
	// keys' bytes.
	objects map[objectRef][]string
	// The peaks let deleteRef give back the room of a deleted fleet's
	// series.
	seriesPeak, objectsPeak mapshrink.Peak
}

type objectRef struct{ namespace, name string }

// series is one series' numbers and when it began (Unix nanoseconds), its
// created timestamp, as client_golang exports it.
type series[S any] struct {
	created int64
	v       S
}

func newFamily[S any](name, help string, labels []string, init func(*S)) family[S] {
	return family[S]{
		desc:       prometheus.NewDesc(name, help, labels, nil),
		labelNames: labels,
		namespace:  slices.Index(labels, "namespace"),
		name:       slices.Index(labels, "name"),
		init:       init,
		series:     map[string]*series[S]{},
		objects:    map[objectRef][]string{},
	}
}

// lookup returns the series of labelValues, adding it when it is not
// there yet. The key is copied into its own string: the object the label
// values come from is not kept alive by its metrics. Wrong label values
// panic, as client_golang's WithLabelValues does. f.mu must be held.
func (f *family[S]) lookup(labelValues []string) *series[S] {
	var buf [128]byte
	key := appendKey(buf[:0], labelValues)
	if s, ok := f.series[string(key)]; ok {
		return s
	}
	if len(labelValues) != len(f.labelNames) {
		panic(fmt.Sprintf("%s: %d label values for %d labels %v", f.desc, len(labelValues), len(f.labelNames), f.labelNames))
	}
	for i, v := range labelValues {
		if !utf8.ValidString(v) {
			panic(fmt.Sprintf("%s: label %s: value %q is not valid UTF-8", f.desc, f.labelNames[i], v))
		}
	}
	s := &series[S]{created: time.Now().UnixNano()}
	if f.init != nil {
		f.init(&s.v)
	}
	k := string(key)
	f.series[k] = s
	f.seriesPeak.Grew(len(f.series))
	if f.namespace >= 0 && f.name >= 0 {
		ref := objectRef{keyValue(k, f.namespace), keyValue(k, f.name)}
		f.objects[ref] = append(f.objects[ref], k)
		f.objectsPeak.Grew(len(f.objects))
	}
	return s
}

// perObject is a family whose series carry an object's namespace and name.
type perObject interface {
	deleteObject(namespace, name string) int
}

// deleteObject removes the series whose namespace and name labels are
// those given (an object's, when it is deleted) and returns how many went.
func (f *family[S]) deleteObject(namespace, name string) int {
	if f.namespace < 0 || f.name < 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deleteRef(objectRef{namespace, name})
}

// objectNames lists the names of namespace's objects that have series
// and start with prefix.
func (f *family[S]) objectNames(namespace, prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for ref := range f.objects {
		if ref.namespace == namespace && strings.HasPrefix(ref.name, prefix) {
			names = append(names, strings.Clone(ref.name))
		}
	}
	return names
}

// deleteRef removes ref's series. f.mu must be held.
func (f *family[S]) deleteRef(ref objectRef) int {
	keys := f.objects[ref]
	for _, key := range keys {
		delete(f.series, key)
	}
	delete(f.objects, ref)
	f.series = mapshrink.Shrunk(f.series, &f.seriesPeak)
	f.objects = mapshrink.Shrunk(f.objects, &f.objectsPeak)
	return len(keys)
}

// snapshot copies the series under the lock, with clone copying what S
// shares (nil: S is plain numbers), so that a scrape sends them unlocked.
func (f *family[S]) snapshot(clone func(S) S) []keyed[S] {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]keyed[S], 0, len(f.series))
	for key, s := range f.series {
		c := *s
		if clone != nil {
			c.v = clone(c.v)
		}
		out = append(out, keyed[S]{key: key, series: c})
	}
	return out
}

type keyed[S any] struct {
	key string
	series[S]
}

// Describe implements prometheus.Collector.
func (f *family[S]) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

// compactCounter is a counter with a float per series.
type compactCounter struct{ family[float64] }

func newCompactCounter(name, help string, labels ...string) *compactCounter {
	return &compactCounter{newFamily[float64](name, help, labels, nil)}
}

// inc adds one to the series of labelValues (in the order of the labels).
func (c *compactCounter) inc(labelValues ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookup(labelValues).v++
}

// Collect implements prometheus.Collector.
func (c *compactCounter) Collect(ch chan<- prometheus.Metric) {
	values := make([]string, len(c.labelNames))
	for _, s := range c.snapshot(nil) {
		ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(c.desc, prometheus.CounterValue, s.v, time.Unix(0, s.created), splitKey(s.key, values)...)
	}
}

// compactHistogram is a histogram with, per series, a count per bucket,
// the sum and (implied by the counts) the count of the observations.
type compactHistogram struct {
	family[histogramCounts]
	bounds []float64
}

// histogramCounts are one series' numbers: counts[i] observations fell in
// bucket i (not cumulative; the last is +Inf), summing to sum.
type histogramCounts struct {
	sum    float64
	counts []uint64
}

func newCompactHistogram(name, help string, bounds []float64, labels ...string) *compactHistogram {
	bounds = slices.Clone(bounds)
	return &compactHistogram{
		family: newFamily(name, help, labels, func(h *histogramCounts) { h.counts = make([]uint64, len(bounds)+1) }),
		bounds: bounds,
	}
}

// observe adds v to the series of labelValues (in the order of the
// labels). Its bucket is the first whose upper bound is at least v, as in
// client_golang (NaN and above the last bound: +Inf).
func (h *compactHistogram) observe(v float64, labelValues ...string) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.lookup(labelValues)
	s.v.counts[i]++
	s.v.sum += v
}

// Collect implements prometheus.Collector.
func (h *compactHistogram) Collect(ch chan<- prometheus.Metric) {
	values := make([]string, len(h.labelNames))
	clone := func(c histogramCounts) histogramCounts { c.counts = slices.Clone(c.counts); return c }
	for _, s := range h.snapshot(clone) {
		buckets := make(map[float64]uint64, len(h.bounds))
		var count uint64
		for i, b := range h.bounds {
			count += s.v.counts[i]
			buckets[b] = count
		}
		count += s.v.counts[len(h.bounds)]
		ch <- prometheus.MustNewConstHistogramWithCreatedTimestamp(h.desc, count, s.v.sum, buckets, time.Unix(0, s.created), splitKey(s.key, values)...)
	}
}

// A series' key is its label values in order, each preceded by its length
// as a uvarint: any bytes, unambiguous.

func appendKey(b []byte, values []string) []byte {
	for _, v := range values {
		n := uint64(len(v))
		for n >= 0x80 {
			b = append(b, byte(n)|0x80)
			n >>= 7
		}
		b = append(b, byte(n))
		b = append(b, v...)
	}
	return b
}

// nextValue splits the first label value off key.
func nextValue(key string) (value, rest string) {
	var n, shift uint
	i := 0
	for ; key[i] >= 0x80; i++ {
		n |= uint(key[i]&0x7f) << shift
		shift += 7
	}
	n |= uint(key[i]) << shift
	key = key[i+1:]
	return key[:n], key[n:]
}

// keyValue is the i-th label value of key.
func keyValue(key string, i int) string {
	var v string
	for ; i >= 0; i-- {
		v, key = nextValue(key)
	}
	return v
}

// splitKey decodes key into values (as long as the labels) and returns it.
func splitKey(key string, values []string) []string {
	for i := range values {
		values[i], key = nextValue(key)
	}
	return values
}
