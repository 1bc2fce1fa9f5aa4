package githubtest

import (
	"fmt"
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
}

// Fault queues f; faults are tried in the order they were added.
func (s *Server) Fault(f Fault) {
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusForbidden
		if !f.Secondary && !f.Remaining0 {
			f.Status = http.StatusBadGateway
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = append(s.st.faults, &f)
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
