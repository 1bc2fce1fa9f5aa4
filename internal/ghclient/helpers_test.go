package ghclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v88/github"
)

// apiServer serves a handler under /api/v3/, as GitHub Enterprise does, so
// a client that builds absolute URLs or drops the prefix gets 404s.
type apiServer struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	route http.HandlerFunc
}

type recorded struct {
	Method, Path, Auth, IfNoneMatch, Body string
}

func newAPIServer(t *testing.T, h http.HandlerFunc) *apiServer {
	t.Helper()
	s := &apiServer{route: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v3/") {
			http.Error(w, "not under /api/v3/", http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, strings.TrimPrefix(r.URL.Path, "/api/v3"), r.Header.Get("Authorization"), r.Header.Get("If-None-Match"), string(body)})
		s.mu.Unlock()
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *apiServer) apiURL() string { return s.URL + "/api/v3" }

// fakeClock records the retry waits instead of sleeping.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// newTestFactory builds a token Factory against s with a fake clock.
func newTestFactory(t *testing.T, s *apiServer, token string, mod func(*Options)) (*Factory, *fakeClock, *Stats) {
	t.Helper()
	stats := NewStats()
	o := Options{APIURL: s.apiURL(), Token: token, Observer: stats, RetryBase: 100 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	f, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f.sleep, f.now = clock.sleep, clock.now
	return f, clock, stats
}

type githubPR = github.PullRequest
