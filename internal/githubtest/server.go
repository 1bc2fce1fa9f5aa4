// Package githubtest is a stateful GitHub REST API emulator: a real HTTP
// server on 127.0.0.1 that answers the endpoints workspace-bot uses in the
// shapes GitHub documents, backed by real git repositories served over
// smart HTTP from the same server, so a pull request's head SHA can be
// cloned. The tests and the demo command run the bot against it.
//
// Point go-github at APIURL (client.WithEnterpriseURLs(s.APIURL(),
// s.APIURL()), or set BaseURL) and clone from GitURL. Until AddToken is
// called every request is accepted and acts as OpenLogin; afterwards a
// registered token, or an installation token minted through the App
// endpoints, is required. Fault injects GitHub's failure modes (5xx, 404,
// primary and secondary rate limits); Stats counts requests, 304s and
// rate-limit units spent.
package githubtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// Options configure Start.
type Options struct {
	// Dir is where the bare repositories live; a fresh temporary directory
	// (removed by Close) when empty.
	Dir string
	// Log, when set, receives one line per request: method, path, status,
	// duration. Tokens never appear in it.
	Log io.Writer
	// RateLimit is the hourly core limit of each token; 5000 when zero.
	RateLimit int
}

// Server is a running emulator. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	dir     string
	tempDir bool
	ln      net.Listener
	srv     *http.Server
	url     string
	git     http.Handler
	routes  []route

	// gitMu serialises writes to the git repositories so a branch tip read
	// and the ref update that follows it cannot interleave.
	gitMu sync.Mutex
	// commits are the "owner/name sha" pairs git has said are commits,
	// under gitMu.
	commits map[string]struct{}

	mu    sync.Mutex
	st    state
	act   actionsState
	logMu sync.Mutex
}

// Start creates the repository root and begins serving on a free loopback
// port.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, dir: opts.Dir}
	if s.opts.RateLimit <= 0 {
		s.opts.RateLimit = 5000
	}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "githubtest-*")
		if err != nil {
			return nil, fmt.Errorf("githubtest: create repository root: %w", err)
		}
		s.dir, s.tempDir = d, true
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("githubtest: create repository root %s: %w", s.dir, err)
	}
	abs, err := filepath.Abs(s.dir)
	if err != nil {
		return nil, fmt.Errorf("githubtest: repository root %s: %w", s.dir, err)
	}
	s.dir = abs
	s.st = newState()
	s.git = http.StripPrefix("/git", gitfixture.Handler(s.dir))
	s.routes = s.apiRoutes()
	s.setRoutePermissions()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("githubtest: listen on 127.0.0.1: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Close
	return s, nil
}

// Close stops the server and removes the repository root if Start made it.
func (s *Server) Close() error {
	err := s.srv.Close()
	if s.tempDir {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// URL is the server's root, http://127.0.0.1:PORT; web (html_url) links
// live under it.
func (s *Server) URL() string { return s.url }

// APIURL is where the REST API is mounted, like GitHub Enterprise's
// /api/v3/, so clients built with the wrong base (api.github.com) fail
// loudly instead of reaching GitHub.
func (s *Server) APIURL() string { return s.url + "/api/v3/" }

// GitURL is the smart-HTTP clone URL of repo ("owner/name").
func (s *Server) GitURL(repo string) string { return s.url + "/git/" + repo + ".git" }

// RepoDir is the path of repo's bare repository.
func (s *Server) RepoDir(repo string) string {
	return filepath.Join(s.dir, filepath.FromSlash(repo)+".git")
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v3/") || r.URL.Path == "/api/v3":
		s.serveAPI(rec, r)
	case strings.HasPrefix(r.URL.Path, "/git/"):
		s.serveGit(rec, r)
	case isManifestForm(r.URL.Path):
		s.serveManifestForm(rec, r)
	default:
		writeJSON(rec, r, http.StatusNotFound, notFoundBody())
	}
	s.logf("%s %s %d %s", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Microsecond))
}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	if status, msg := s.gitAccess(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		}
		http.Error(w, msg, status)
		return
	}
	s.git.ServeHTTP(w, r)
	// A push moves branch tips behind our back; pull requests follow their
	// head branch as they do on GitHub.
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
		repo := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/git/"), ".git/git-receive-pack")
		s.syncPRHeads(repo)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Log, "githubtest: "+format+"\n", args...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets git http-backend stream through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
