package githubtest

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v88/github"
)

func TestETagAndRateLimitCost(t *testing.T) {
	s := start(t)
	seed(t, s)
	s.AddToken("tok", Token{Login: "bot"})
	n := openPR(t, s)
	url := s.APIURL() + "repos/acme/app/pulls/" + strconv.Itoa(n)
	get := func(etag string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		req.Header.Set("Authorization", "token tok")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// GitHub computes mergeability after the first read of a new head:
	// let it, so the body is settled.
	s.mergeability("acme/app", n)
	s.ResetStats()
	first := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("first GET: %d etag %q", first.StatusCode, etag)
	}
	for k, want := range map[string]string{
		"Cache-Control": "private, max-age=60, s-maxage=60", "Vary": "Accept, Authorization, Cookie",
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Used": "1", "X-RateLimit-Resource": "core",
	} {
		if got := first.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	second := get(etag)
	if second.StatusCode != http.StatusNotModified || second.Header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("conditional GET: %d remaining %s, want 304 4999", second.StatusCode, second.Header.Get("X-RateLimit-Remaining"))
	}
	if err := s.SetPRBody("acme/app", n, "changed"); err != nil {
		t.Fatal(err)
	}
	third := get(etag)
	if third.StatusCode != 200 || third.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, same etag %v", third.StatusCode, third.Header.Get("ETag") == etag)
	}
	st := s.Stats()
	if st.Requests != 3 || st.NotModified != 1 || st.RateLimitUsed != 2 || st.ByRoute["GET /repos/{owner}/{repo}/pulls/{number}"] != 3 {
		t.Errorf("stats = %+v", st)
	}

	// GET /rate_limit reports the window and costs nothing.
	rl := must[*github.RateLimits](t)(client(t, s, "tok").RateLimit.Get(t.Context()))
	if rl.GetCore().Remaining != 4998 || rl.GetCore().Limit != 5000 {
		t.Errorf("rate_limit core = %+v", rl.GetCore())
	}
	if s.Stats().RateLimitUsed != 2 {
		t.Errorf("rate_limit call was charged")
	}
}

func TestRateLimitExhaustion(t *testing.T) {
	s, err := Start(Options{Dir: t.TempDir(), RateLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seed(t, s)
	gh := client(t, s, "")
	for i := 0; i < 3; i++ {
		if _, _, err := gh.Repositories.Get(t.Context(), "acme", "app"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, _, err = gh.Repositories.Get(t.Context(), "acme", "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 || rle.Rate.Reset.Before(time.Now()) {
		t.Errorf("fourth call: %v, want *github.RateLimitError", err)
	}
}

func TestFaults(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := t.Context()

	s.Fault(Fault{Method: "GET", Path: "/repos/acme/app", Status: 502, Count: 2})
	gh := client(t, s, "")
	for i := 0; i < 2; i++ {
		if _, _, err := gh.Repositories.Get(ctx, "acme", "app"); !isStatus(err, 502) {
			t.Errorf("fault hit %d: %v, want 502", i, err)
		}
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Errorf("after the fault is used up: %v", err)
	}

	s.Fault(Fault{Path: "/repos/acme/app/pulls", Remaining0: true, RetryAfter: 2})
	_, _, err := gh.PullRequests.List(ctx, "acme", "app", nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Response.StatusCode != 403 || time.Until(rle.Rate.Reset.Time) <= 0 {
		t.Errorf("Remaining0: %v, want *github.RateLimitError with a future reset", err)
	}

	gh2 := client(t, s, "")
	s.Fault(Fault{Secondary: true, RetryAfter: 30})
	_, _, err = gh2.Repositories.Get(ctx, "acme", "app")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 30*time.Second {
		t.Errorf("Secondary: %v, want *github.AbuseRateLimitError retry 30s", err)
	}

	s.Fault(Fault{Status: 429, RetryAfter: 5})
	req, _ := http.NewRequestWithContext(ctx, "GET", s.APIURL()+"repos/acme/app", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("429 fault: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	s.Fault(Fault{Method: "POST", Status: 404})
	if _, _, err := client(t, s, "").Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Errorf("POST-only fault hit a GET: %v", err)
	}
	n := openPR(t, s)
	if _, _, err := client(t, s, "").Issues.CreateComment(ctx, "acme", "app", n, &github.IssueComment{Body: github.String("x")}); !isStatus(err, 404) {
		t.Errorf("POST fault: %v, want 404", err)
	}
	if len(s.Comments("acme/app", n)) != 0 {
		t.Error("a faulted request reached the endpoint")
	}
}

// TestConcurrentUse drives the server from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := start(t)
	seed(t, s)
	n := openPR(t, s)
	sha := s.PR("acme/app", n).HeadSHA
	gh := client(t, s, "")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, _, err := gh.Issues.CreateComment(t.Context(), "acme", "app", n, &github.IssueComment{Body: github.String("c")}); err != nil {
					errs <- err
				}
				if _, _, err := gh.Repositories.CreateStatus(t.Context(), "acme", "app", sha, github.RepoStatus{State: github.String("success")}); err != nil {
					errs <- err
				}
				if _, _, err := gh.PullRequests.List(t.Context(), "acme", "app", nil); err != nil {
					errs <- err
				}
				s.Stats()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.Comments("acme/app", n)); got != 40 {
		t.Errorf("comments = %d, want 40", got)
	}
	if got := len(s.Statuses("acme/app", sha)); got != 40 {
		t.Errorf("statuses = %d, want 40", got)
	}
}

// Skip fails the nth call; a hook sees a call in flight and decides its
// answer.
func TestFaultSkipAndHook(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := t.Context()
	gh := client(t, s, "")
	s.Fault(Fault{Skip: 2, Status: 502})
	for i := 0; i < 4; i++ {
		_, _, err := gh.Repositories.Get(ctx, "acme", "app")
		if fail := i == 2; fail != isStatus(err, 502) {
			t.Errorf("call %d: %v", i, err)
		}
	}

	n := openPR(t, s)
	var seen []string
	s.SetHook(func(method, path string, body []byte) *Fault {
		seen = append(seen, method+" "+path+" "+string(body))
		if method == "POST" && strings.Contains(string(body), "lost") {
			return &Fault{}
		}
		return nil
	})
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "app", n, &github.IssueComment{Body: github.String("lost")}); !isStatus(err, 502) {
		t.Errorf("hooked POST: %v, want 502", err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "app", n, &github.IssueComment{Body: github.String("kept")}); err != nil {
		t.Errorf("POST the hook lets through: %v", err)
	}
	s.SetHook(nil)
	if cs := s.Comments("acme/app", n); len(cs) != 1 || cs[0].Body != "kept" {
		t.Errorf("comments %+v, want only the one the hook let through, body intact", cs)
	}
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "POST /repos/acme/app/issues/") {
		t.Errorf("hook saw %q", seen)
	}
}
