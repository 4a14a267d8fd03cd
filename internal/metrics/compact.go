package metrics

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// eventSeries is one series of rollout_events_total.
type eventSeries struct{ namespace, name, eventType, reason string }

// eventCounts is rollout_events_total as a map of plain numbers, exported
// as constant metrics at scrape time. A Rollout has a series per event
// reason it ever recorded; client_golang's CounterVec spends close to a
// kilobyte on each (label pairs, timestamps, exemplar slots), this about a
// tenth of that, which at thousands of Rollouts is megabytes.
type eventCounts struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[eventSeries]float64
}

func newEventCounts(name, help string) *eventCounts {
	return &eventCounts{
		desc:   prometheus.NewDesc(name, help, []string{"namespace", "name", "type", "reason"}, nil),
		counts: map[eventSeries]float64{},
	}
}

// inc counts one event. The label values are cloned: the Rollout they
// come from is not kept alive by its metrics.
func (c *eventCounts) inc(namespace, name, eventType, reason string) {
	k := eventSeries{namespace, name, eventType, reason}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.counts[k]; !ok {
		k = eventSeries{strings.Clone(namespace), strings.Clone(name), strings.Clone(eventType), strings.Clone(reason)}
	}
	c.counts[k]++
}

// DeletePartialMatch removes the series of the given namespace and name
// (the only labels it is called with) and returns how many went.
func (c *eventCounts) DeletePartialMatch(labels prometheus.Labels) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k := range c.counts {
		if k.namespace == labels["namespace"] && k.name == labels["name"] {
			delete(c.counts, k)
			n++
		}
	}
	return n
}

// Describe implements prometheus.Collector.
func (c *eventCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *eventCounts) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, v, k.namespace, k.name, k.eventType, k.reason)
	}
}
