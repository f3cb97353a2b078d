package redis

import (
	"math/rand/v2"
	"time"
)

// backoff is a wait that doubles from min to max with each failure, with
// jitter so that many clients do not retry in step. It is not safe for
// concurrent use.
type backoff struct {
	min, max time.Duration
	failures int
}

// next returns the wait after one more failure: a random duration in
// the upper half of the current step.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.failures < 32 {
		d = min(b.min<<b.failures, b.max)
	}
	b.failures++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.failures = 0 }
