package relay

import (
	"math/bits"
	"time"
)

// latencies is a fixed-size log-linear histogram of reply latencies (16
// buckets per power of two of microseconds, ±3%): a day of ten million
// replies takes the same few kilobytes per agent as ten.
type latencies struct {
	counts [64 * 16]int64
	n      int64
}

func latencyBucket(us int64) int {
	if us < 16 {
		return int(max(us, 0))
	}
	exp := bits.Len64(uint64(us)) - 5 // us >> exp is in [16, 32)
	return (exp+1)*16 + int(us>>exp) - 16
}

// bucketMid is a bucket's middle value in microseconds.
func bucketMid(b int) int64 {
	if b < 16 {
		return int64(b)
	}
	exp := b/16 - 1
	lo := int64(16+b%16) << exp
	return lo + (int64(1)<<exp)/2
}

func (l *latencies) add(d time.Duration) {
	l.counts[latencyBucket(d.Microseconds())]++
	l.n++
}

// quantile is the q-th quantile (0 < q <= 1), zero when empty.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := int64(float64(l.n)*q + 0.999999) // ceil
	rank = min(max(rank, 1), l.n)
	var seen int64
	for b, c := range l.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(b)) * time.Microsecond
		}
	}
	return 0
}
