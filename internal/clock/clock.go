// Package clock is the time that code which stamps, waits or repeats
// reads, passed in so that tests move time instead of sleeping.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and ticks.
type Clock interface {
	Now() time.Time
	// Every delivers the time every d until stop is called; like
	// time.Ticker, a tick nobody takes in time is dropped.
	Every(d time.Duration) (ticks <-chan time.Time, stop func())
}

// Real is the machine's clock.
var Real Clock = real{}

type real struct{}

func (real) Now() time.Time { return time.Now() }

func (real) Every(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Or is c, or Real when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Fake is a clock that moves only when told to (Advance). Its ticks are
// handed over, not dropped: Advance returns once every tick due has been
// taken, or its ticker stopped.
type Fake struct {
	mu      sync.Mutex
	changed *sync.Cond
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	c      chan time.Time
	every  time.Duration
	next   time.Time
	done   chan struct{}
	closed bool
}

// NewFake is a fake clock at t.
func NewFake(t time.Time) *Fake {
	f := &Fake{now: t}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// Now is the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Every ticks each time Advance passes a multiple of d from now.
func (f *Fake) Every(d time.Duration) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTicker{c: make(chan time.Time), every: d, next: f.now.Add(d), done: make(chan struct{})}
	f.tickers = append(f.tickers, t)
	f.changed.Broadcast()
	return t.c, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !t.closed {
			t.closed = true
			close(t.done)
			f.changed.Broadcast()
		}
	}
}

// Advance moves the time on by d and hands every tick due to its reader.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	var due []*fakeTicker
	for _, t := range f.tickers {
		if !t.closed {
			due = append(due, t)
		}
	}
	f.mu.Unlock()
	for _, t := range due {
		for !t.next.After(now) {
			select {
			case t.c <- t.next:
			case <-t.done:
			}
			t.next = t.next.Add(t.every)
		}
	}
}

// WaitTickers returns once n tickers are running, so a test advances
// the clock only after the code under test is waiting on it.
func (f *Fake) WaitTickers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.running() < n {
		f.changed.Wait()
	}
}

func (f *Fake) running() int {
	n := 0
	for _, t := range f.tickers {
		if !t.closed {
			n++
		}
	}
	return n
}

// Sleep waits d, or until ctx is done (its error then).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
