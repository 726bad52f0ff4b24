package relay

import (
	"math/rand/v2"
	"time"
)

// Backoff computes the wait before retry n (1-based) of a transient failure:
// exponential from Base, capped at Max, with "equal jitter" (half fixed, half
// random) so a switch that comes back is not hit by every relay at once.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
	// Rand returns a number in [0,1); nil uses math/rand/v2.
	Rand func() float64
}

// Delay returns the wait before the n-th retry.
func (b Backoff) Delay(n int) time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if max < base {
		max = base
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}
