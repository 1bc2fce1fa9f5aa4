package githubtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching API requests fail before they reach the endpoint,
// the way GitHub's front end fails them.
type Fault struct {
	Method string // "" matches any method
	Path   string // prefix of the path below /api/v3, e.g. "/repos/o/r/pulls"; "" matches any
	Status int    // e.g. 502, 403, 429, 404; 403 when Secondary or Remaining0 and unset
	// Count is how many requests the fault hits; 0 means one, a negative
	// count every request until ClearFaults.
	Count int
	// RetryAfter, in seconds, sets Retry-After (and for Remaining0 puts
	// X-RateLimit-Reset that far ahead).
	RetryAfter int
	// Secondary answers with GitHub's secondary-rate-limit body, which
	// go-github turns into *github.AbuseRateLimitError.
	Secondary bool
	// Remaining0 answers with X-RateLimit-Remaining: 0, which go-github
	// turns into *github.RateLimitError.
	Remaining0 bool
	// Skip lets that many matching requests through before the fault
	// hits: with no Method or Path, Skip n fails the (n+1)th call.
	Skip int
	// After serves the request first and answers with the fault instead
	// of its response: GitHub did the work and the caller cannot know.
	After bool
}

// fill gives a fault its defaults.
func (f *Fault) fill() {
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusForbidden
		if !f.Secondary && !f.Remaining0 {
			f.Status = http.StatusBadGateway
		}
	}
}

// Fault queues f; faults are tried in the order they were added.
func (s *Server) Fault(f Fault) {
	f.fill()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = append(s.st.faults, &f)
}

// Hook sees an API request before it is served: its method, path (below
// /api/v3) and body. The request waits while the hook runs, so a test can
// act while a call is in flight (kill the client); it is then answered
// with the fault the hook returns, or served as usual when that is nil.
type Hook func(method, path string, body []byte) *Fault

// SetHook installs h for every later API request; nil removes it.
func (s *Server) SetHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.hook = h
}

// runHook runs the hook, if any, on r; it returns the fault to answer
// with, or nil. The body stays readable for the endpoint.
func (s *Server) runHook(r *http.Request, path string) *Fault {
	s.mu.Lock()
	h := s.st.hook
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f := h(r.Method, path, body)
	if f != nil {
		f.fill()
	}
	return f
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = nil
}

// takeFault returns the first fault matching the request and uses up one
// of its hits. The caller holds s.mu.
func (s *Server) takeFault(method, path string) *Fault {
	for i, f := range s.st.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" && !strings.HasPrefix(path, f.Path) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		hit := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.st.faults = append(s.st.faults[:i:i], s.st.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	h := w.Header()
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	var body map[string]any
	switch {
	case f.Remaining0:
		reset := time.Now().Add(time.Duration(max(f.RetryAfter, 1)) * time.Second)
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(s.opts.RateLimit))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		body = map[string]any{
			"message":           "API rate limit exceeded for user ID 1.",
			"documentation_url": docsURL + "/overview/rate-limits-for-the-rest-api#about-rate-limits",
		}
	case f.Secondary:
		body = map[string]any{
			"message": fmt.Sprintf("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "+
				"If you reach out to GitHub Support for help, please include the request ID %s.", h.Get("X-GitHub-Request-Id")),
			"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		}
	case f.Status == http.StatusNotFound:
		body = notFoundBody()
	case f.Status >= 500:
		body = map[string]any{"message": "Server Error"}
	default:
		body = errBody(http.StatusText(f.Status))
	}
	writeJSON(w, r, f.Status, body)
}
