package main

import "testing"

func TestQuietAndBloated(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	busy := heapSample{cycles: 10, live: 20 * mb, held: 400 * mb, free: 300 * mb}
	for _, c := range []struct {
		name      string
		prev, cur heapSample
		want      bool
	}{
		{"a spike's heap, no collection since", busy, heapSample{cycles: 10, live: 20 * mb, held: 400 * mb, free: 300 * mb}, true},
		{"collections running: under load", busy, heapSample{cycles: 11, live: 20 * mb, held: 400 * mb, free: 300 * mb}, false},
		{"quiet and small", busy, heapSample{cycles: 10, live: 10 * mb, held: 20 * mb, free: 4 * mb}, false},
		{"quiet, just over", busy, heapSample{cycles: 10, live: 10 * mb, held: 20 * mb, free: 9 * mb}, true},
	} {
		if got := quietAndBloated(c.prev, c.cur); got != c.want {
			t.Errorf("%s: quietAndBloated = %v, want %v", c.name, got, c.want)
		}
	}
}

// The goroutine stops when asked (main_test's goleak would see it).
func TestReturnIdleMemoryStops(t *testing.T) {
	t.Parallel()
	stop := returnIdleMemory()
	stop()
}
