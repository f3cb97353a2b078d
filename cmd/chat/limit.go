package main

import (
	"math"
	"time"
)

// A bucket is a token bucket: it holds up to burst tokens, gains rate
// tokens a second, and each command spends one. A bucket is not safe for
// concurrent use; each client's reading goroutine owns its own.
type bucket struct {
	rate   float64 // tokens a second; zero or less means no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	b := float64(max(burst, 1))
	return bucket{rate: rate, burst: b, tokens: b, last: now}
}

// take spends a token at time now. If none is left it returns false and
// how long until one will be.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	if b.rate <= 0 {
		return true, 0
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	// Allow for rounding, so that waiting as long as take said is enough.
	if b.tokens >= 1-1e-9 {
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	wait := math.Round((1 - b.tokens) / b.rate * float64(time.Second))
	return false, time.Duration(wait)
}
