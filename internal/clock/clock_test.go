package clock

import (
	"testing"
	"time"
)

// A fake clock's ticks are handed over, one per period passed, each
// stamped with its own time; a stopped ticker never blocks Advance.
func TestFakeHandsOverEveryTick(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	ticks, stop := f.Every(10 * time.Second)
	got := make(chan time.Time, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			got <- <-ticks
		}
	}()
	f.WaitTickers(1)
	f.Advance(25 * time.Second) // two ticks due
	f.Advance(5 * time.Second)  // the third
	<-done
	close(got)
	want := []time.Time{start.Add(10 * time.Second), start.Add(20 * time.Second), start.Add(30 * time.Second)}
	i := 0
	for tick := range got {
		if !tick.Equal(want[i]) {
			t.Errorf("tick %d at %s, want %s", i, tick, want[i])
		}
		i++
	}
	if !f.Now().Equal(start.Add(30 * time.Second)) {
		t.Errorf("now %s", f.Now())
	}
	stop()
	f.Advance(time.Minute) // nobody reads: must not block
	if Or(nil) != Real || Or(f) != Clock(f) {
		t.Error("Or does not default to the real clock")
	}
}
