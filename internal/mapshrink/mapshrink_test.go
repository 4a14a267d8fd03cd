package mapshrink

import (
	"fmt"
	"runtime"
	"testing"
)

func TestShrunk(t *testing.T) {
	tests := []struct {
		name        string
		peak, after int
		rebuilt     bool
	}{
		{"small maps are left alone", 200, 0, false},
		{"most entries left: kept", 1000, 400, false},
		{"a quarter left: rebuilt", 1000, 250, true},
		{"emptied: rebuilt", 1000, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[int]string{}
			var p Peak
			for i := range tt.peak {
				m[i] = fmt.Sprint(i)
				p.Grew(len(m))
			}
			for i := tt.after; i < tt.peak; i++ {
				delete(m, i)
			}
			got := Shrunk(m, &p)
			if len(got) != tt.after {
				t.Fatalf("len %d, want %d", len(got), tt.after)
			}
			for i := range tt.after {
				if got[i] != fmt.Sprint(i) {
					t.Fatalf("entry %d: %q", i, got[i])
				}
			}
			// A rebuilt map is a new one: an insert into it leaves m as it was.
			got[-1] = "new"
			if _, inOld := m[-1]; inOld == tt.rebuilt {
				t.Errorf("rebuilt = %v, want %v", !inOld, tt.rebuilt)
			}
			if tt.rebuilt && p.n != tt.after {
				t.Errorf("peak after a rebuild %d, want %d", p.n, tt.after)
			}
		})
	}
}

// TestShrunkGivesBackTheTable checks the point of it: the heap a map
// held at its peak is freed once it is rebuilt.
func TestShrunkGivesBackTheTable(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	m := map[int][64]byte{}
	var p Peak
	for i := range 100_000 {
		m[i] = [64]byte{}
		p.Grew(len(m))
	}
	for i := range 100_000 {
		delete(m, i)
	}
	before := heap()
	m = Shrunk(m, &p)
	after := heap()
	runtime.KeepAlive(m)
	// 100,000 slots of 72 bytes: several MiB, all of it freed.
	if before < after || before-after < 4<<20 {
		t.Errorf("heap %d → %d bytes: the emptied table was not freed", before, after)
	}
}
