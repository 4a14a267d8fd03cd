package eventrecorder

import (
	"encoding/binary"
	"testing"
	"time"
	"unique"
)

// TestSweepGivesBackTheTable: once a burst's Events are past the window,
// the sweep leaves the recorder a map sized to what is left, not the
// burst's (a Go map's table never shrinks by deletes).
func TestSweepGivesBackTheTable(t *testing.T) {
	b := &Broadcaster{cache: map[key]entry{}, wake: make(chan struct{}, 1)}
	start := time.Now()
	for i := range 1000 {
		var k key
		binary.LittleEndian.PutUint64(k[:], uint64(i))
		at := start
		if i < 10 {
			at = start.Add(Window) // still recent at the sweep
		}
		b.cache[k] = entry{name: "e", namespace: unique.Make("ns"), at: at.UnixNano(), count: 1}
		b.cachePeak.Grew(len(b.cache))
	}
	before := b.cache
	b.sweep(start.Add(Window+time.Second), false)
	if len(b.cache) != 10 {
		t.Fatalf("%d Events left after the sweep, want 10", len(b.cache))
	}
	// A rebuilt map is a new one: an insert into it leaves the old as it was.
	b.cache[key{0xff}] = entry{}
	if _, inOld := before[key{0xff}]; inOld {
		t.Error("the sweep kept the burst's map")
	}
}
