package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v88/github"
)

// failing answers the first n requests with fail, then 200.
func failing(n int32, fail func(w http.ResponseWriter)) (http.HandlerFunc, *atomic.Int32) {
	var count atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			fail(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"number":1,"id":5}`)
	}, &count
}

func status(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, `{"message":"failed on purpose"}`)
	}
}

func TestRetryIdempotentOn5xx(t *testing.T) {
	h, count := failing(2, status(http.StatusBadGateway))
	s := newAPIServer(t, h)
	f, clock, stats := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	pr, _, err := c.PullRequests.Get(context.Background(), "o", "r", 1)
	if err != nil || pr.GetNumber() != 1 {
		t.Fatalf("GET after two 502s: %v", err)
	}
	if count.Load() != 3 {
		t.Errorf("server saw %d requests, want 3", count.Load())
	}
	waits := clock.slept()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	// Equal jitter: attempt 1 waits 50-100ms, attempt 2 100-200ms.
	if waits[0] < 50*time.Millisecond || waits[0] > 100*time.Millisecond || waits[1] < 100*time.Millisecond || waits[1] > 200*time.Millisecond {
		t.Errorf("backoff waits %v outside the jittered doubling", waits)
	}
	if st := stats.Snapshot(); st.ByStatus[502] != 2 || st.ByStatus[200] != 1 {
		t.Errorf("every attempt should be observed: %+v", st)
	}
}

func TestNoRetryForPostOn5xx(t *testing.T) {
	h, count := failing(1, status(http.StatusBadGateway))
	s := newAPIServer(t, h)
	f, _, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	_, _, err := c.Issues.CreateComment(context.Background(), "o", "r", 1, &github.IssueComment{Body: github.String("hi")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST after 502: err = %v, want the 502", err)
	}
	if count.Load() != 1 {
		t.Errorf("POST was sent %d times; a 502 POST may have been applied and must not be repeated", count.Load())
	}
}

// A POST marked idempotent (a commit status) is retried on a 5xx like a
// GET, with the same body; the same POST unmarked is not.
func TestRetryPostMarkedIdempotentOn5xx(t *testing.T) {
	h, count := failing(2, status(http.StatusBadGateway))
	s := newAPIServer(t, h)
	f, clock, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	st := github.RepoStatus{State: github.String("success"), Context: github.String("ci")}
	if _, _, err := c.Repositories.CreateStatus(Idempotent(context.Background()), "o", "r", "abc", st); err != nil {
		t.Fatalf("marked POST after two 502s: %v", err)
	}
	if count.Load() != 3 || len(clock.slept()) != 2 {
		t.Fatalf("server saw %d requests after %v of waits, want 3 after 2", count.Load(), clock.slept())
	}
	reqs := s.requests()
	if reqs[0].Method != http.MethodPost || reqs[2].Body != reqs[0].Body || !strings.Contains(reqs[2].Body, `"success"`) {
		t.Errorf("retried POST %s %q, first %q", reqs[2].Method, reqs[2].Body, reqs[0].Body)
	}

	h2, count2 := failing(1, status(http.StatusBadGateway))
	s2 := newAPIServer(t, h2)
	f2, _, _ := newTestFactory(t, s2, "good", nil)
	c2, _ := f2.Client()
	if _, _, err := c2.Repositories.CreateStatus(context.Background(), "o", "r", "abc", st); err == nil || count2.Load() != 1 {
		t.Fatalf("unmarked POST after a 502: err %v after %d requests, want the 502 after 1", err, count2.Load())
	}
}

func TestPersistent5xxGivesUp(t *testing.T) {
	h, count := failing(1000, status(http.StatusServiceUnavailable))
	s := newAPIServer(t, h)
	f, _, _ := newTestFactory(t, s, "good", func(o *Options) { o.MaxAttempts = 4 })
	c, _ := f.Client()
	_, _, err := c.PullRequests.Get(context.Background(), "o", "r", 1)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the 503", err)
	}
	if count.Load() != 4 {
		t.Errorf("attempts = %d, want MaxAttempts 4", count.Load())
	}
	if !strings.Contains(err.Error(), "/repos/o/r/pulls/1") {
		t.Errorf("error should name the endpoint: %v", err)
	}
}

func TestRetryAfterOn429EvenForPost(t *testing.T) {
	h, count := failing(1, status(http.StatusTooManyRequests, "Retry-After", "7"))
	s := newAPIServer(t, h)
	f, clock, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	_, _, err := c.Issues.CreateComment(context.Background(), "o", "r", 1, &github.IssueComment{Body: github.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if count.Load() != 2 {
		t.Errorf("requests = %d, want 2", count.Load())
	}
	if w := clock.slept(); len(w) != 1 || w[0] != 7*time.Second {
		t.Errorf("waits = %v, want exactly Retry-After 7s", w)
	}
	reqs := s.requests()
	if reqs[1].Body != reqs[0].Body || !strings.Contains(reqs[1].Body, "hello") {
		t.Errorf("retried POST body %q differs from %q", reqs[1].Body, reqs[0].Body)
	}
}

func TestSecondaryRateLimit403(t *testing.T) {
	secondary := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)
	}
	h, count := failing(1, secondary)
	s := newAPIServer(t, h)
	f, clock, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	if _, _, err := c.PullRequests.Get(context.Background(), "o", "r", 1); err != nil {
		t.Fatal(err)
	}
	if count.Load() != 2 {
		t.Errorf("requests = %d, want 2", count.Load())
	}
	if w := clock.slept(); len(w) != 1 || w[0] != time.Minute {
		t.Errorf("waits = %v, want the documented minute", w)
	}
}

func TestPlain403NotRetried(t *testing.T) {
	h, count := failing(1000, status(http.StatusForbidden))
	s := newAPIServer(t, h)
	f, _, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	_, resp, err := c.PullRequests.Get(context.Background(), "o", "r", 1)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403", err)
	}
	if !strings.Contains(err.Error(), "failed on purpose") {
		t.Errorf("the body must stay readable after the secondary-limit check: %v", err)
	}
	if count.Load() != 1 {
		t.Errorf("a permission 403 was retried: %d requests", count.Load())
	}
}

func TestPrimaryLimitWaitsForReset(t *testing.T) {
	clockStart := time.Unix(1_700_000_000, 0)
	reset := clockStart.Add(20 * time.Second)
	h, count := failing(1, status(http.StatusForbidden, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10)))
	s := newAPIServer(t, h)
	f, clock, _ := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	if _, _, err := c.PullRequests.Get(context.Background(), "o", "r", 1); err != nil {
		t.Fatal(err)
	}
	if count.Load() != 2 {
		t.Errorf("requests = %d, want 2", count.Load())
	}
	if w := clock.slept(); len(w) != 1 || w[0] != 21*time.Second {
		t.Errorf("waits = %v, want until the reset plus one second", w)
	}
}

func TestPrimaryLimitBeyondMaxWait(t *testing.T) {
	reset := time.Unix(1_700_000_000, 0).Add(45 * time.Minute)
	h, count := failing(1000, status(http.StatusForbidden, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10)))
	s := newAPIServer(t, h)
	f, clock, _ := newTestFactory(t, s, "good", func(o *Options) { o.MaxWait = time.Minute })
	c, _ := f.Client()
	_, _, err := c.PullRequests.List(context.Background(), "o", "r", nil)
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want a RateLimitError", err)
	}
	msg := err.Error()
	for _, want := range []string{"GET /api/v3/repos/o/r/pulls", reset.Add(time.Second).UTC().Format(time.RFC3339), "in 45m1s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q should contain %q", msg, want)
		}
	}
	if count.Load() != 1 || len(clock.slept()) != 0 {
		t.Errorf("gave up after %d requests and waits %v; want 1 request and no wait", count.Load(), clock.slept())
	}
}

func TestRetryStopsWhenContextCancelled(t *testing.T) {
	h, count := failing(1000, status(http.StatusBadGateway))
	s := newAPIServer(t, h)
	f, _, _ := newTestFactory(t, s, "good", nil)
	f.sleep = nil // real sleeping, bounded by the context
	f.mu.Lock()
	f.token = nil
	f.mu.Unlock()
	f.opts.RetryBase = time.Hour
	c, _ := f.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.PullRequests.Get(ctx, "o", "r", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if time.Since(start) > 5*time.Second || count.Load() != 1 {
		t.Errorf("took %s with %d requests", time.Since(start), count.Load())
	}
}
