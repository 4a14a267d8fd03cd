// Package heapsize measures the Go heap for benchmarks that report the
// memory a structure keeps.
package heapsize

import "runtime"

// Live is the heap in use after a full collection. It collects twice: the
// first collection can only queue finalizers and clear weak pointers (the
// unique package's handles), whose objects the second frees.
func Live() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
