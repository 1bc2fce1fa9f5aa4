package backoff

import (
	"testing"
	"time"
)

func TestWaitDoublesToTheCap(t *testing.T) {
	p := Policy{First: time.Second, Max: 5 * time.Second}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := p.Wait(n + 1); got != want {
			t.Errorf("Wait(%d) = %s, want %s", n+1, got, want)
		}
	}
	// A count that would overflow the doubling stays at the cap.
	if got := p.Wait(1000); got != 5*time.Second {
		t.Errorf("Wait(1000) = %s", got)
	}
	j := Policy{First: time.Second, Max: time.Minute, Jitter: true}
	for n := 1; n < 10; n++ {
		plain := Policy{First: j.First, Max: j.Max}.Wait(n)
		if got := j.Wait(n); got < plain/2 || got > plain {
			t.Errorf("jittered Wait(%d) = %s, want within [%s, %s]", n, got, plain/2, plain)
		}
	}
}
