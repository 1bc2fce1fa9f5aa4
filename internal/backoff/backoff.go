// Package backoff is the one schedule every retry in workspace-bot
// follows: the wait doubles from First up to Max, with equal jitter where
// many clients could otherwise retry in step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a retry schedule.
type Policy struct {
	First, Max time.Duration
	// Jitter picks each wait at random in its upper half, so clients
	// that failed together do not retry together.
	Jitter bool
}

// Wait is how long to wait before retry number n (1 for the first).
func (p Policy) Wait(n int) time.Duration {
	d := p.First
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	if p.Jitter {
		half := d / 2
		d = half + time.Duration(rand.Int64N(int64(half)+1))
	}
	return d
}
