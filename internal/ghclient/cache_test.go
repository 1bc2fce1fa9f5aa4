package ghclient

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// etagHandler serves /repos/o/r/pulls/1 the way GitHub does: an ETag, a
// one-minute private max-age, Vary on Authorization, and a 304 for a
// matching If-None-Match. Only the token "good" may read it.
func etagHandler(version *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return
		}
		v := version.Load()
		etag := fmt.Sprintf(`"v%d"`, v)
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		w.Header().Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		w.Header().Set("ETag", etag)
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Resource", "core")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"number":1,"title":"v%d","head":{"sha":"sha%d"}}`, v, v)
	}
}

func TestCacheRevalidatesEveryHit(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	s := newAPIServer(t, etagHandler(&version))
	dir := t.TempDir()
	f, _, stats := newTestFactory(t, s, "good", func(o *Options) { o.CacheDir = dir })
	c, err := f.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	title := func() string {
		t.Helper()
		pr, _, err := c.PullRequests.Get(ctx, "o", "r", 1)
		if err != nil {
			t.Fatal(err)
		}
		return pr.GetTitle()
	}
	if got := title(); got != "v1" {
		t.Fatalf("first read = %q", got)
	}
	if got := title(); got != "v1" {
		t.Fatalf("cached read = %q", got)
	}
	version.Store(2)
	// Within max-age: a cache that trusted max-age would still say v1.
	if got := title(); got != "v2" {
		t.Fatalf("read after change = %q, want v2 (the cache must revalidate every hit)", got)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3 (every read revalidated)", len(reqs))
	}
	if reqs[0].IfNoneMatch != "" || reqs[1].IfNoneMatch != `"v1"` || reqs[2].IfNoneMatch != `"v1"` {
		t.Errorf("If-None-Match sent: %q %q %q", reqs[0].IfNoneMatch, reqs[1].IfNoneMatch, reqs[2].IfNoneMatch)
	}
	st := stats.Snapshot()
	if st.CacheHits != 1 || st.Calls != 3 || st.RateRemaining != 4999 {
		t.Errorf("stats = %+v, want 3 calls, 1 cache hit, remaining 4999", st)
	}

	// A new Factory over the same directory starts warm: the cache is on disk.
	f2, _, stats2 := newTestFactory(t, s, "good", func(o *Options) { o.CacheDir = dir })
	c2, _ := f2.Client()
	if _, _, err := c2.PullRequests.Get(ctx, "o", "r", 1); err != nil {
		t.Fatal(err)
	}
	if st := stats2.Snapshot(); st.CacheHits != 1 {
		t.Errorf("second process: %+v, want a cache hit from disk", st)
	}
}

func TestCacheIsPerCredential(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	s := newAPIServer(t, etagHandler(&version))
	dir := t.TempDir()
	ctx := context.Background()

	good, _, _ := newTestFactory(t, s, "good", func(o *Options) { o.CacheDir = dir })
	gc, _ := good.Client()
	if _, _, err := gc.PullRequests.Get(ctx, "o", "r", 1); err != nil {
		t.Fatal(err)
	}
	weak, _, weakStats := newTestFactory(t, s, "weak-token-value", func(o *Options) { o.CacheDir = dir })
	wc, _ := weak.Client()
	_, resp, err := wc.PullRequests.Get(ctx, "o", "r", 1)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("weak token read the PR (err %v): the cache leaked another credential's body", err)
	}
	reqs := s.requests()
	if last := reqs[len(reqs)-1]; last.IfNoneMatch != "" {
		t.Errorf("weak token sent If-None-Match %q taken from another credential's entry", last.IfNoneMatch)
	}
	if st := weakStats.Snapshot(); st.CacheHits != 0 {
		t.Errorf("weak token had cache hits: %+v", st)
	}
	// Tokens never land on disk (httpcache copies Vary'd request headers
	// into stored entries unless Authorization is dropped from Vary).
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "Bearer good") || strings.Contains(p, "good") {
			t.Errorf("cache file %s holds the token", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWritesBypassCache(t *testing.T) {
	var n atomic.Int32
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("ETag", `"same"`)
		w.Header().Set("Cache-Control", "private, max-age=60")
		fmt.Fprint(w, `{"number":1,"body":"x"}`)
	})
	f, _, stats := newTestFactory(t, s, "good", nil)
	c, _ := f.Client()
	body := "new body"
	for i := 0; i < 2; i++ {
		if _, _, err := c.PullRequests.Edit(context.Background(), "o", "r", 1, &githubPR{Body: &body}); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 2 || stats.Snapshot().CacheHits != 0 {
		t.Errorf("PATCH calls reached the server %d times with %d cache hits, want 2 and 0", n.Load(), stats.Snapshot().CacheHits)
	}
	for _, r := range s.requests() {
		if r.Method != http.MethodPatch || r.IfNoneMatch != "" || !strings.Contains(r.Body, "new body") {
			t.Errorf("unexpected request %+v", r)
		}
	}
}
