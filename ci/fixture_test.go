package ci

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

// fixture is a set of bare sibling repositories served over smart HTTP on
// loopback, a workspace directory holding wrknv.toml, and a data dir.
type fixture struct {
	t        *testing.T
	repos    string // bare repositories, served at srv.URL/o/<name>.git
	srv      *httptest.Server
	requests atomic.Int64
	// auth, when set, is the Authorization header every request must carry.
	auth atomic.Pointer[string]
	// hook, when set, sees every request before it is served.
	hook    atomic.Pointer[func(*http.Request)]
	wsDir   string
	dataDir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tmp := t.TempDir()
	f := &fixture{t: t, repos: filepath.Join(tmp, "remote"), wsDir: filepath.Join(tmp, "home", "ws"), dataDir: filepath.Join(tmp, "data")}
	if err := os.MkdirAll(f.wsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := gitfixture.Handler(f.repos)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if hook := f.hook.Load(); hook != nil {
			(*hook)(r)
		}
		if want := f.auth.Load(); want != nil && r.Header.Get("Authorization") != *want {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// repo creates a bare repository with one commit on main and returns its path.
func (f *fixture) repo(name string, files map[string]string) string {
	f.t.Helper()
	dir := f.bare(name)
	if err := gitfixture.InitBare(dir, "main"); err != nil {
		f.t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{"README": name + "\n"}
	}
	f.commit(name, "main", "", files)
	return dir
}

func (f *fixture) commit(name, branch, from string, files map[string]string) string {
	f.t.Helper()
	sha, err := gitfixture.Commit(f.bare(name), branch, from, files, "change "+branch)
	if err != nil {
		f.t.Fatal(err)
	}
	return sha
}

func (f *fixture) url(name string) string { return f.srv.URL + "/o/" + name + ".git" }

func (f *fixture) bare(name string) string { return filepath.Join(f.repos, "o", name+".git") }

// sib describes a [[siblings]] entry for config.
type sib struct {
	name string
	deps []string
	url  string // "" means the fixture's HTTP URL
}

// config writes wrknv.toml naming the siblings (at ../<name>) and loads it.
func (f *fixture) config(sibs ...sib) *workspace.Config {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[workspace]\nname = \"ws\"\n\n[workspace.ci]\ntimeout = \"2m\"\ntest = [\"true\"]\n")
	for _, s := range sibs {
		url := s.url
		if url == "" {
			url = f.url(s.name)
		}
		deps := make([]string, len(s.deps))
		for i, d := range s.deps {
			deps[i] = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(&b, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = %q\nlayer = \"foundation\"\ndepends_on = [%s]\n",
			s.name, s.name, url, strings.Join(deps, ", "))
	}
	file := filepath.Join(f.wsDir, "wrknv.toml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
	cfg, _, err := workspace.Load(file)
	if err != nil {
		f.t.Fatal(err)
	}
	return cfg
}

func (f *fixture) runner() *Runner { return &Runner{DataDir: f.dataDir} }

// stepsOf returns the steps named name (and, when sibling is not "*", of that sibling).
func stepsOf(res *Result, name, sibling string) []StepResult {
	var out []StepResult
	for _, s := range res.Steps {
		if s.Name == name && (sibling == "*" || s.Sibling == sibling) {
			out = append(out, s)
		}
	}
	return out
}

func siblingResult(t *testing.T, res *Result, name string) SiblingResult {
	t.Helper()
	for _, s := range res.Siblings {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sibling %s in result %+v", name, res.Siblings)
	return SiblingResult{}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
