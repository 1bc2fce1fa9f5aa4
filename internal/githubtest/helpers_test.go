package githubtest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-github/v88/github"
)

func start(t testing.TB) *Server {
	t.Helper()
	s, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// client is the real go-github client pointed at the emulator.
func client(t testing.TB, s *Server, token string) *github.Client {
	t.Helper()
	opts := []github.ClientOptionsFunc{}
	if token != "" {
		opts = append(opts, github.WithAuthToken(token))
	}
	return clientWith(t, s, &http.Client{}, opts...)
}

// clientWith is the real go-github client over hc pointed at the emulator.
func clientWith(t testing.TB, s *Server, hc *http.Client, opts ...github.ClientOptionsFunc) *github.Client {
	t.Helper()
	api := s.APIURL()
	c, err := github.NewClient(append([]github.ClientOptionsFunc{github.WithHTTPClient(hc), github.WithURLs(&api, &api)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seed makes acme/app with a README on main.
func seed(t testing.TB, s *Server) string {
	t.Helper()
	if err := s.CreateRepo("acme/app", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	sha, err := s.Commit("acme/app", "main", map[string]string{"README.md": "hello\n", "src/a.go": "package a\n"}, "initial")
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func must[T any](t testing.TB) func(v T, resp *github.Response, err error) T {
	return func(v T, resp *github.Response, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(fmt.Stringer).String()
}
