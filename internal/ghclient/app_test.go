package ghclient

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAppInstallationClient(t *testing.T) {
	var minted atomic.Int32
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		auth := r.Header.Get("Authorization")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/repos/o/r/installation":
			if !strings.HasPrefix(auth, "Bearer ") || strings.Count(auth, ".") != 2 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"id":42}`)
		case r.Method == http.MethodPost && r.URL.Path == "/app/installations/42/access_tokens":
			if !strings.HasPrefix(auth, "Bearer ") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			minted.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token":"ghs_installation","expires_at":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		case r.URL.Path == "/repos/o/r/pulls/1":
			if auth != "token ghs_installation" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("ETag", `"e1"`)
			if r.Header.Get("If-None-Match") == `"e1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprint(w, `{"number":1,"title":"from app"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	stats := NewStats()
	f, err := New(Options{APIURL: s.apiURL(), AppID: 99, AppPrivateKey: testKey(t), Observer: stats, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client(); err == nil {
		t.Error("Client() with App auth should explain that an installation is needed")
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		c, err := f.ForRepo(ctx, "o/r")
		if err != nil {
			t.Fatal(err)
		}
		pr, _, err := c.PullRequests.Get(ctx, "o", "r", 1)
		if err != nil || pr.GetTitle() != "from app" {
			t.Fatalf("installation client read: %v", err)
		}
	}
	if minted.Load() != 1 {
		t.Errorf("installation tokens minted = %d, want 1 (reused until expiry)", minted.Load())
	}
	var lookups int
	for _, r := range s.requests() {
		if r.Path == "/repos/o/r/installation" {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("installation looked up %d times, want 1 (remembered)", lookups)
	}
	if st := stats.Snapshot(); st.CacheHits != 1 {
		t.Errorf("second read should be a cache hit: %+v", st)
	}
	if _, err := f.InstallationForRepo(ctx, "o/missing"); err == nil || !strings.Contains(err.Error(), "not installed on o/missing") {
		t.Errorf("missing installation error = %v", err)
	}
}

func TestGitAuthorization(t *testing.T) {
	ctx := context.Background()
	basic := func(tok string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+tok))
	}
	f, err := New(Options{APIURL: "https://api.github.com/", Token: "ghp_secret"})
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://github.com/o/r.git":                    basic("ghp_secret"),
		"https://GitHub.com/o/r":                        basic("ghp_secret"),
		"https://gitlab.com/o/r.git":                    "", // another host never sees the token
		"http://github.com/o/r.git":                     "", // nor does clear text
		"https://user:pw@github.com/o/r.git":            "", // the URL's own credentials win
		"git@github.com:o/r.git":                        "",
		"/srv/git/o/r.git":                              "",
		"https://api.github.com/repos/o/r/zipball/main": "",
	} {
		got, err := f.GitAuthorization(ctx, url)
		if err != nil || got != want {
			t.Errorf("GitAuthorization(%q) = %q, %v; want %q", url, got, err, want)
		}
	}

	var minted atomic.Int32
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/repos/o/r/installation":
			fmt.Fprint(w, `{"id":7}`)
		case r.URL.Path == "/app/installations/7/access_tokens":
			minted.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token":"ghs_fetch","expires_at":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	app, err := New(Options{APIURL: s.apiURL(), AppID: 99, AppPrivateKey: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	// An emulator or GitHub Enterprise serves git on the API's own host.
	gitURL := strings.TrimSuffix(s.apiURL(), "/") + "/../git/o/r.git"
	for i := 0; i < 2; i++ {
		got, err := app.GitAuthorization(ctx, gitURL)
		if err != nil || got != basic("ghs_fetch") {
			t.Fatalf("App GitAuthorization = %q, %v", got, err)
		}
	}
	if minted.Load() != 1 {
		t.Errorf("installation tokens minted = %d, want 1 (reused until expiry)", minted.Load())
	}
}
