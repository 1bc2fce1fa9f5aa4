package ghclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/backoff"
	"github.com/provide-io/workspace-bot/internal/clock"
)

// RateLimitError is returned when a rate limit would outlast the wait the
// client allows. It names the endpoint and when the limit resets.
type RateLimitError struct {
	Method    string
	Endpoint  string // URL path
	Status    int
	Secondary bool
	// Reset is when GitHub said the call may be made again (zero if not said).
	Reset time.Time
	Wait  time.Duration // how long that is from the time of the error
}

func (e *RateLimitError) Error() string {
	kind := "rate limit"
	if e.Secondary {
		kind = "secondary rate limit"
	}
	when := "at an unknown time"
	if !e.Reset.IsZero() {
		when = fmt.Sprintf("at %s (in %s)", e.Reset.UTC().Format(time.RFC3339), e.Wait.Round(time.Second))
	}
	return fmt.Sprintf("GitHub %s hit on %s %s (HTTP %d); it resets %s, longer than this client waits; retry after that, or use a token or GitHub App with a higher limit",
		kind, e.Method, e.Endpoint, e.Status, when)
}

// retry retries a call that failed in a way worth retrying: a 5xx, a 429,
// a secondary rate limit, an exhausted primary limit, or a network error.
//
// Methods: GET, HEAD, OPTIONS, PUT, DELETE and PATCH are retried (the bot's
// PATCHes set whole fields, so repeating them is harmless). A POST is
// retried when its context says it is idempotent (Idempotent: a commit
// status, where a repeat only sets the same state again), or when GitHub
// provably did not act on it: it answered with a rate limit (the request
// was refused before being processed) or the connection was never made.
// Other POSTs, such as creating a comment, are never repeated on a 5xx:
// the first may have been applied.
type retry struct {
	next        http.RoundTripper
	maxWait     time.Duration
	maxAttempts int
	base        time.Duration
	// sleep and now are replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

func newRetry(next http.RoundTripper, o *Options) *retry {
	return &retry{next: next, maxWait: o.MaxWait, maxAttempts: o.MaxAttempts, base: o.RetryBase, sleep: clock.Sleep, now: time.Now}
}

// idempotentKey marks a request's context: repeating the request is
// harmless whatever its method.
type idempotentKey struct{}

// Idempotent marks the calls made with the returned context as safe to
// repeat, so a POST is retried on a 5xx or a lost connection like a GET:
// use it for POSTs whose repeat changes nothing more than the first did,
// such as setting a commit status.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// idempotent says whether req may be repeated after GitHub may have acted
// on it.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	marked, _ := req.Context().Value(idempotentKey{}).(bool)
	return marked
}

func (t *retry) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		r, err := rewind(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := t.next.RoundTrip(r)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		d, limit, retryable := t.classify(req, resp, err, attempt)
		if !retryable || attempt >= t.maxAttempts || req.Body != nil && req.GetBody == nil {
			if limit != nil && resp != nil {
				resp.Body.Close()
				return nil, limit
			}
			return resp, err
		}
		if waited+d > t.maxWait {
			if limit != nil {
				if resp != nil {
					resp.Body.Close()
				}
				return nil, limit
			}
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := t.sleep(ctx, d); err != nil {
			return nil, err
		}
		waited += d
	}
}

// rewind gives each attempt a fresh body.
func rewind(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 1 || req.Body == nil || req.GetBody == nil {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("GitHub %s %s: re-reading the request body to retry: %w", req.Method, req.URL.Path, err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// classify decides whether to retry and after how long. limit is the error
// to return if the rate limit cannot be waited out.
func (t *retry) classify(req *http.Request, resp *http.Response, err error, attempt int) (wait time.Duration, limit *RateLimitError, retryable bool) {
	if err != nil {
		if idempotent(req) || neverSent(err) {
			return t.backoff(attempt), nil, true
		}
		return 0, nil, false
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		wait, limit, ok := t.rateLimited(req, resp)
		if !ok {
			return 0, nil, false
		}
		if wait == 0 {
			wait = t.backoff(attempt)
		}
		return wait, limit, true
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		if !idempotent(req) {
			return 0, nil, false
		}
		if ra, ok := retryAfter(resp, t.now()); ok {
			return ra, nil, true
		}
		return t.backoff(attempt), nil, true
	}
	return 0, nil, false
}

// rateLimited recognises GitHub's rate-limit answers: an exhausted primary
// limit (X-RateLimit-Remaining: 0, wait for X-RateLimit-Reset), a
// secondary limit (Retry-After, or the documented message without it: wait
// a minute), or a bare 429.
func (t *retry) rateLimited(req *http.Request, resp *http.Response) (time.Duration, *RateLimitError, bool) {
	now := t.now()
	e := &RateLimitError{Method: req.Method, Endpoint: req.URL.Path, Status: resp.StatusCode}
	if ra, ok := retryAfter(resp, now); ok {
		e.Secondary, e.Reset, e.Wait = resp.Header.Get("X-RateLimit-Remaining") != "0", now.Add(ra), ra
		return ra, e, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// One second of slack for clock skew between us and GitHub.
			e.Reset = time.Unix(reset, 0).Add(time.Second)
			e.Wait = max(e.Reset.Sub(now), 0)
			return max(e.Wait, time.Second), e, true
		}
		return 0, e, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.Secondary = true
		return 0, e, true
	}
	if secondaryMessage(resp) {
		e.Secondary, e.Reset, e.Wait = true, now.Add(time.Minute), time.Minute
		return time.Minute, e, true
	}
	return 0, nil, false // a real permission error
}

// secondaryMessage peeks at a 403 body for GitHub's secondary-limit text,
// leaving the body readable for the caller.
func secondaryMessage(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	s := strings.ToLower(string(body))
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse detection")
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// backoff doubles per attempt from base, capped at 30s, with equal
// jitter so that many clients do not retry in step.
func (t *retry) backoff(attempt int) time.Duration {
	return backoff.Policy{First: t.base, Max: 30 * time.Second, Jitter: true}.Wait(attempt)
}

// neverSent reports a failure to connect: the server cannot have acted.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
