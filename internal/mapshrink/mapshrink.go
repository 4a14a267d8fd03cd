// Package mapshrink gives back the memory of Go maps emptied by deletes.
//
// A Go map's table never shrinks: a map that once held an entry per
// object of a fleet keeps room for all of them after they are deleted.
// Maps keyed by object (Events recently recorded, metric series) are
// rebuilt at their new size once most of their entries are gone.
package mapshrink

// minPeak is the smallest peak worth a rebuild: a table of a few hundred
// entries is a few KiB.
const minPeak = 256

// Peak is a map's largest size since it was last rebuilt. Its zero value
// is ready to use.
type Peak struct{ n int }

// Grew records the map's size after an insert.
func (p *Peak) Grew(size int) {
	if size > p.n {
		p.n = size
	}
}

// Shrunk returns m itself, or, when m holds at most a quarter of its peak,
// a copy of m sized to its entries. Rebuilds after successive deletes so
// cost, in all, about as much as the inserts did.
func Shrunk[K comparable, V any](m map[K]V, p *Peak) map[K]V {
	if p.n < minPeak || len(m) > p.n/4 {
		return m
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	p.n = len(out)
	return out
}
