package ghclient

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/logging"
)

// Log field keys.
const (
	LogMethod    = "gh_method"
	LogPath      = "gh_path"
	LogStatus    = "gh_status"
	LogDuration  = "gh_duration_ms"
	LogCacheHit  = "gh_cache_hit"
	LogRemaining = "gh_ratelimit_remaining"
	LogResource  = "gh_ratelimit_resource"
)

// Call is one HTTP call the client made (each retry attempt is a call).
type Call struct {
	Method   string
	Path     string // URL path only: no host, query or credentials
	Status   int    // 0 when no response arrived
	Duration time.Duration
	// CacheHit is true when the body came from the cache after GitHub
	// answered 304 Not Modified, which costs no rate limit.
	CacheHit bool
	// RateRemaining is X-RateLimit-Remaining, or -1 when absent.
	RateRemaining int
	RateResource  string
	Err           error
}

// Observer sees every call; the service turns calls into metrics.
// Implementations must be safe for concurrent use.
type Observer interface {
	ObserveCall(Call)
}

// observe logs every call at debug level and hands it to the observer.
type observe struct {
	next     http.RoundTripper
	log      logrus.FieldLogger
	observer Observer
}

func (t observe) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	c := Call{Method: req.Method, Path: req.URL.Path, Duration: time.Since(start), RateRemaining: -1, Err: err}
	if err == nil {
		c.Status = resp.StatusCode
		c.CacheHit = fromCache(resp)
		if n, perr := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); perr == nil {
			c.RateRemaining = n
		}
		c.RateResource = resp.Header.Get("X-RateLimit-Resource")
	}
	if t.observer != nil {
		t.observer.ObserveCall(c)
	}
	if t.log != nil {
		// The call is made for a delivery or a run: its logger carries
		// their ids, so each call says what it was for.
		log := t.log
		if l := logging.From(req.Context(), nil); l != nil {
			log = l.WithField(logging.Component, "github")
		}
		f := logrus.Fields{
			LogMethod:   c.Method,
			LogPath:     c.Path,
			LogStatus:   c.Status,
			LogDuration: c.Duration.Milliseconds(),
			LogCacheHit: c.CacheHit,
		}
		if c.RateRemaining >= 0 {
			f[LogRemaining] = c.RateRemaining
			f[LogResource] = c.RateResource
		}
		e := log.WithFields(f)
		if err != nil {
			// Transport errors carry the URL and the cause, never headers.
			e = e.WithError(err)
		}
		e.Debug("github call")
	}
	return resp, err
}

// Stats counts calls; it is an Observer for tests, measurements and the
// CLI's debug summary.
type Stats struct {
	mu sync.Mutex
	s  StatsSnapshot
}

// StatsSnapshot is a copy of the counters.
type StatsSnapshot struct {
	Calls     int
	CacheHits int
	ByStatus  map[int]int // calls that got a response, by HTTP status
	Errors    int
	// RateRemaining is the last X-RateLimit-Remaining seen, -1 if none.
	RateRemaining int
}

// NewStats returns zeroed counters.
func NewStats() *Stats { return &Stats{s: StatsSnapshot{ByStatus: map[int]int{}, RateRemaining: -1}} }

// ObserveCall implements Observer.
func (s *Stats) ObserveCall(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.Calls++
	if c.CacheHit {
		s.s.CacheHits++
	}
	if c.Err != nil {
		s.s.Errors++
	} else {
		s.s.ByStatus[c.Status]++
	}
	if c.RateRemaining >= 0 {
		s.s.RateRemaining = c.RateRemaining
	}
}

// Snapshot returns a copy of the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.s
	out.ByStatus = make(map[int]int, len(s.s.ByStatus))
	for k, v := range s.s.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

// Reset zeroes the counters.
func (s *Stats) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s = StatsSnapshot{ByStatus: map[int]int{}, RateRemaining: -1}
}

// Observers fans a call out to several observers.
type Observers []Observer

// ObserveCall implements Observer.
func (o Observers) ObserveCall(c Call) {
	for _, x := range o {
		if x != nil {
			x.ObserveCall(c)
		}
	}
}
