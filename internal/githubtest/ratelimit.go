package githubtest

import (
	"net/http"
	"strconv"
	"time"
)

// Stats counts API requests (git traffic is not counted).
type Stats struct {
	Requests      int
	NotModified   int // 304 answers to conditional requests
	RateLimitUsed int // rate-limit units spent, over all tokens
	// ByRoute counts requests per endpoint, keyed like
	// "GET /repos/{owner}/{repo}/pulls".
	ByRoute map[string]int
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st.stats
	st.ByRoute = make(map[string]int, len(s.st.stats.ByRoute))
	for k, v := range s.st.stats.ByRoute {
		st.ByRoute[k] = v
	}
	return st
}

// ResetStats zeroes the counters; rate-limit windows are left alone.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.stats = Stats{ByRoute: map[string]int{}}
}

// rateWindow is one token's hourly window, opened by its first request.
type rateWindow struct {
	used  int
	reset time.Time
}

func (s *Server) window(key string) *rateWindow {
	w := s.st.rates[key]
	if w == nil || time.Now().After(w.reset) {
		w = &rateWindow{reset: time.Now().Add(time.Hour).Truncate(time.Second)}
		s.st.rates[key] = w
	}
	return w
}

func (s *Server) rateExhausted(who *identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.window(who.key).used >= s.opts.RateLimit
}

func (s *Server) charge(who *identity, free bool) {
	if free {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window(who.key).used++
	s.st.stats.RateLimitUsed++
}

func (s *Server) setRateHeaders(h http.Header, who *identity) {
	s.mu.Lock()
	w := s.window(who.key)
	used, reset := w.used, w.reset
	s.mu.Unlock()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.opts.RateLimit-used, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Resource", "core")
}

// getRateLimit answers GET /rate_limit, which costs nothing, with the
// caller's core window (the other resources are reported untouched).
func (s *Server) getRateLimit(c *call) (int, any) {
	s.mu.Lock()
	w := s.window(c.who.key)
	core := map[string]any{
		"limit": s.opts.RateLimit, "used": w.used,
		"remaining": max(s.opts.RateLimit-w.used, 0), "reset": w.reset.Unix(),
	}
	s.mu.Unlock()
	fresh := func(limit int) map[string]any {
		return map[string]any{"limit": limit, "used": 0, "remaining": limit, "reset": time.Now().Add(time.Hour).Unix()}
	}
	return http.StatusOK, map[string]any{
		"resources": map[string]any{
			"core":    core,
			"search":  fresh(30),
			"graphql": fresh(5000),
		},
		"rate": core,
	}
}
