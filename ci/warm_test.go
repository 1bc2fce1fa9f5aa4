package ci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/scripttest"
	"github.com/provide-io/workspace-bot/workspace"
)

// warmWorkspace has two siblings whose setup appends to a declared cache
// path, keyed by alpha's deps.txt, so a test sees what was kept.
func warmWorkspace(t *testing.T) (*fixture, *workspace.Config) {
	t.Helper()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"deps.txt": "v1\n", "src/a.py": "a = 1\n", "docs/big.html": "docs\n"})
	f.repo("beta", map[string]string{"b.txt": "b\n"})
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta", deps: []string{"alpha"}})
	cfg.Workspace.CI.Cache = workspace.Cache{Paths: []string{"built"}, Key: []string{"*/deps.txt"}}
	cfg.Sibling("alpha").Setup = []string{`mkdir -p "$WORKSPACE_ROOT/built" && echo "$(cat deps.txt)" >> "$WORKSPACE_ROOT/built/log" && echo stray > untracked.txt`}
	cfg.Sibling("beta").Setup = []string{"true"}
	cfg.Workspace.CI.Test = []string{`test -f ../alpha/src/a.py && cat built/log`}
	return f, cfg
}

func builtLog(t *testing.T, res *Result) string {
	t.Helper()
	return readFile(t, filepath.Join(res.BuildRoot, "ws", "built", "log"))
}

// A trusted run reuses the warm root its predecessor left, switching it
// to the new commits; declared cache paths survive it, keyed by the files
// they are built from; --fresh starts over.
func TestWarmRootsAndCache(t *testing.T) {
	t.Parallel()
	f, cfg := warmWorkspace(t)
	r := f.runner()
	trusted := Request{Config: cfg, Trusted: true}

	res := runOK(t, r, trusted)
	if res.Root != RootNew || res.Cache != CacheMiss || builtLog(t, res) != "v1\n" {
		t.Fatalf("first run: root %q cache %q log %q", res.Root, res.Cache, builtLog(t, res))
	}
	root := res.BuildRoot
	alpha := filepath.Join(root, "alpha")
	// What a step leaves in a checkout goes; what git tracks is rewritten.
	os.WriteFile(filepath.Join(alpha, "src", "a.py"), []byte("tampered\n"), 0o644)
	// A config a step planted must not run anything on the next switch.
	gitfixture.Git(alpha, "config", "core.fsmonitor", "touch "+filepath.Join(root, "PWNED")+"; false")

	f.commit("beta", "main", "", map[string]string{"b2.txt": "new\n"})
	res = runOK(t, r, trusted)
	if res.Root != RootReused || res.BuildRoot != root || res.Cache != CacheHit {
		t.Errorf("second run: root %q at %s, cache %q; want reused at %s and hit", res.Root, res.BuildRoot, res.Cache, root)
	}
	if got := builtLog(t, res); got != "v1\nv1\n" {
		t.Errorf("cache path after a hit: %q (the declared setup still runs on top of it)", got)
	}
	if readFile(t, filepath.Join(alpha, "src", "a.py")) != "a = 1\n" {
		t.Error("a tracked file changed by a step was not restored")
	}
	if _, err := os.Stat(filepath.Join(root, "beta", "b2.txt")); err != nil {
		t.Error("beta was not switched to its new commit")
	}
	if _, err := os.Stat(filepath.Join(root, "PWNED")); err == nil {
		t.Error("a config planted by a step ran on the next run")
	}
	if sr := siblingResult(t, res, "alpha"); sr.Fetch != fetchTipSame {
		t.Errorf("alpha's tip did not move: %+v", sr)
	}

	// The key's files change: the cache path starts empty.
	f.commit("alpha", "main", "", map[string]string{"deps.txt": "v2\n"})
	res = runOK(t, r, trusted)
	if res.Root != RootReused || res.Cache != CacheMiss || builtLog(t, res) != "v2\n" {
		t.Errorf("after the key changed: root %q cache %q log %q", res.Root, res.Cache, builtLog(t, res))
	}
	if _, err := os.Stat(filepath.Join(alpha, "untracked.txt")); err != nil {
		t.Error("the setup did not run in the reused root")
	}

	// --fresh: a new root, nothing restored.
	res = runOK(t, r, Request{Config: cfg, Trusted: true, Fresh: true})
	if res.Root != RootNew || res.Cache != CacheMiss || builtLog(t, res) != "v2\n" {
		t.Errorf("--fresh: root %q cache %q log %q", res.Root, res.Cache, builtLog(t, res))
	}
	// Saved by that run, restored into a root made anew at the same path.
	os.Remove(filepath.Join(f.dataDir, "roots", poolName(cfg), "0.json"))
	res = runOK(t, r, trusted)
	if res.Root != RootNew || res.Cache != CacheHit || builtLog(t, res) != "v2\nv2\n" {
		m, _ := filepath.Glob(filepath.Join(f.dataDir, "cache", "*", "*", "meta.json"))
		for _, x := range m {
			t.Log(x, readFile(t, x))
		}
		t.Errorf("restored: root %q cache %q log %q at %s", res.Root, res.Cache, builtLog(t, res), res.BuildRoot)
	}
}

// A root is never reused across a trust boundary: an untrusted run gets a
// root of its own, saves nothing, and the trusted run after it trusts no
// root or cache that was there before.
func TestTrustBoundary(t *testing.T) {
	t.Parallel()
	f, cfg := warmWorkspace(t)
	r := f.runner()
	first := runOK(t, r, Request{Config: cfg, Trusted: true})

	untrusted := runOK(t, r, Request{Config: cfg})
	if untrusted.Root != RootFresh || untrusted.BuildRoot != "" || untrusted.Cache == CacheHit {
		t.Errorf("untrusted run: root %q at %q, cache %q", untrusted.Root, untrusted.BuildRoot, untrusted.Cache)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.dataDir, "builds")); len(entries) != 0 {
		t.Errorf("the untrusted run's root is still there: %v", entries)
	}
	res := runOK(t, r, Request{Config: cfg, Trusted: true})
	if res.Root != RootNew || res.Cache != CacheMiss || res.BuildRoot != first.BuildRoot || builtLog(t, res) != "v1\n" {
		t.Errorf("after an untrusted run: root %q cache %q log %q, want new, miss and one line", res.Root, res.Cache, builtLog(t, res))
	}
	// Another trusted run may reuse it again.
	if res = runOK(t, r, Request{Config: cfg, Trusted: true}); res.Root != RootReused {
		t.Errorf("then: root %q", res.Root)
	}
}

// Two runs at once take two warm roots; a third with every slot busy
// builds in a temporary root.
func TestSlotsAreExclusive(t *testing.T) {
	t.Parallel()
	f, cfg := warmWorkspace(t)
	r := f.runner()
	r.Slots = 1
	held, err := r.acquireRoot(f.dataDir, cfg, Request{Config: cfg, Trusted: true})
	if err != nil || held.how != RootNew {
		t.Fatalf("%v %+v", err, held)
	}
	res := runOK(t, r, Request{Config: cfg, Trusted: true})
	if res.Root != RootFresh {
		t.Errorf("with the only slot held: root %q", res.Root)
	}
	held.finish(true)
	if res = runOK(t, r, Request{Config: cfg, Trusted: true}); res.Root == RootFresh {
		t.Errorf("with the slot free: root %q", res.Root)
	}
}

// sparse checks out the listed directories and the files at the top; a
// reused checkout follows a changed list.
func TestSparseCheckout(t *testing.T) {
	t.Parallel()
	f, cfg := warmWorkspace(t)
	cfg.Sibling("alpha").Sparse = []string{"src"}
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/src/a.py && test -f ../alpha/deps.txt && ! test -e ../alpha/docs"}
	r := f.runner()
	res := runOK(t, r, Request{Config: cfg, Trusted: true})
	alpha := filepath.Join(res.BuildRoot, "alpha")
	if out, _ := gitfixture.Git(alpha, "config", "core.sparseCheckoutCone"); out != "true" {
		t.Errorf("not a cone-mode sparse checkout: %q", out)
	}
	cfg.Sibling("alpha").Sparse = []string{"docs"}
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/docs/big.html && ! test -e ../alpha/src"}
	if res = runOK(t, r, Request{Config: cfg, Trusted: true}); res.Root != RootReused {
		t.Errorf("root %q", res.Root)
	}
	cfg.Sibling("alpha").Sparse = nil
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/docs/big.html && test -f ../alpha/src/a.py"}
	runOK(t, r, Request{Config: cfg, Trusted: true})
}

// Before anything is cloned: no false green, tools at the wrong version,
// no interpreter, a sibling without a repo, an unknown task.
func TestPreflight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", nil)
	cases := []struct {
		name   string
		mutate func(c *workspace.Config)
		req    Request
		want   []string
	}{
		{name: "nothing to test", mutate: func(c *workspace.Config) { c.Workspace.CI.Test = nil },
			want: []string{workspace.NothingToTest}},
		{name: "missing tool", mutate: func(c *workspace.Config) {
			c.Workspace.Tools = []workspace.Tool{{Name: "no-such-tool-xyz", Version: constraint(t, ">=1.0")}}
		}, want: []string{"no-such-tool-xyz is not on PATH", ">=1.0", "fix: install no-such-tool-xyz"}},
		{name: "tool too old", mutate: func(c *workspace.Config) {
			c.Workspace.Tools = []workspace.Tool{{Name: "git", Version: constraint(t, ">=999")}}
		}, want: []string{"git 2.", "found at /", "requires git >=999"}},
		{name: "no interpreter", mutate: func(c *workspace.Config) {
			c.Workspace.Python.Version = constraint(t, ">=99")
		}, want: []string{"[workspace.python].version: no interpreter matches >=99", "tried"}},
		{name: "no repo", mutate: func(c *workspace.Config) {
			c.Siblings = append(c.Siblings, workspace.Sibling{Name: "norepo", Path: "../norepo", Branch: "main"})
			c.Workspace.Repo = ""
			c.Siblings[0].Repo = ""
		}, want: []string{"sibling alpha has no repo", "add repo =", "--local"}},
		{name: "unknown task", req: Request{Task: "lnt"}, mutate: func(c *workspace.Config) {
			c.Workspace.Tasks = map[string][]string{"lint": {"true"}}
		}, want: []string{`unknown task "lnt"`, "did you mean lint?"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(sib{name: "alpha"})
			tc.mutate(cfg)
			req := tc.req
			req.Config = cfg
			before := f.requests.Load()
			res, err := f.runner().Run(context.Background(), req)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want an input error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if n := f.requests.Load() - before; n != 0 || len(res.Siblings) != 0 {
				t.Errorf("%d requests and siblings %v before refusing", n, res.Siblings)
			}
		})
	}
}

func constraint(t *testing.T, s string) workspace.Constraint {
	t.Helper()
	c, err := workspace.ParseConstraint(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two steps of one name and sibling are told apart by index; a task runs
// in place of the tests; [workspace.env] reaches the steps.
func TestIndexTaskAndEnv(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Test = []string{"true", "exit 4"}
	cfg.Workspace.Env = map[string]string{"FROM_ENV": "workspace", "BOTH": "env"}
	cfg.Workspace.CI.Env = map[string]string{"BOTH": "ci"}
	cfg.Workspace.Tasks = map[string][]string{"lint": {`test "$FROM_ENV/$BOTH" = workspace/ci`}}
	cfg.Sibling("alpha").Test = []string{"true"}
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil || res.Result != Failure {
		t.Fatalf("%v %+v", err, res)
	}
	ft := res.FirstFailure()
	if ft == nil || ft.Title() != "test workspace #2" || ft.Index != 2 {
		t.Errorf("first failure %+v", ft)
	}
	res, err = (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true, Task: "lint"})
	if err != nil || res.Result != Success {
		t.Fatalf("task: %v %+v", err, res)
	}
	if got := strings.Join(titles(res), ", "); got != "lint workspace" {
		t.Errorf("--task lint ran %s", got)
	}
}

// A sparse sibling's mirror is partial when the server allows filters:
// commits and trees only, and the blobs a checkout needs fetched before
// it. Reuse, a moved tip and a merge all work on it.
func TestPartialMirror(t *testing.T) {
	t.Parallel()
	f, cfg := warmWorkspace(t)
	if _, err := gitfixture.Git(f.bare("alpha"), "config", "uploadpack.allowFilter", "true"); err != nil {
		t.Fatal(err)
	}
	f.commit("alpha", "main", "", map[string]string{"docs/big.html": strings.Repeat("built docs\n", 2000)})
	cfg.Sibling("alpha").Sparse = []string{"src"}
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/src/a.py && test -f ../alpha/deps.txt && ! test -e ../alpha/docs"}
	r := f.runner()
	runOK(t, r, Request{Config: cfg, Trusted: true})
	m := r.mirrorFor(f.url("alpha"))
	if !m.isPartial() {
		t.Fatal("the sparse sibling's mirror is not partial")
	}
	missing, _ := gitfixture.Git(m.dir, "rev-list", "--objects", "--all", "--missing=print")
	if !strings.Contains(missing, "?") {
		t.Error("the partial mirror holds every blob")
	}
	if beta := r.mirrorFor(f.url("beta")); beta.isPartial() {
		t.Error("a sibling checked out whole got a partial mirror")
	}

	f.commit("alpha", "main", "", map[string]string{"src/a.py": "a = 2\n", "docs/big.html": "changed\n"})
	cfg.Workspace.CI.Test = []string{`grep -q "a = 2" ../alpha/src/a.py`}
	if res := runOK(t, r, Request{Config: cfg, Trusted: true}); res.Root != RootReused {
		t.Errorf("root %q", res.Root)
	}

	feature := f.commit("alpha", "feature", "main", map[string]string{"src/b.py": "b = 1\n", "docs/other.html": "x\n"})
	f.commit("alpha", "main", "", map[string]string{"src/c.py": "c = 1\n"})
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/src/b.py && test -f ../alpha/src/c.py"}
	res := runOK(t, r, Request{Config: cfg, Trusted: true, Pins: map[string]Pin{"alpha": {Ref: "feature", SHA: feature, Base: "main"}}})
	if sr := siblingResult(t, res, "alpha"); sr.BaseSHA == "" {
		t.Errorf("not merged: %+v", sr)
	}
}

// A sibling without a repo builds from the checkout on disk with --local.
func TestLocalWithoutRepo(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.Repo, cfg.Siblings[0].Repo = "", ""
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err = (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg}); err == nil || !strings.Contains(err.Error(), "sibling alpha has no repo") {
		t.Errorf("without --local: %v", err)
	}
}

// A cache path may not hold a checkout: kept over it, the old commit's
// files would stay.
func TestCachePathHoldingACheckout(t *testing.T) {
	f, cfg := warmWorkspace(t)
	for _, p := range []string{".", "..", "../alpha", "../../escape"} {
		cfg.Workspace.CI.Cache.Paths = []string{p}
		_, err := f.runner().Run(context.Background(), Request{Config: cfg, Trusted: true})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "[workspace.ci].cache path") {
			t.Errorf("cache path %q: %v", p, err)
		}
	}
}

// A Python candidate is asked only "--version", even when it answers
// with nothing: "python3 version" would run a file named version from the
// service's working directory.
func TestPythonCandidatesAreOnlyAskedTheirVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" >> " + args + "\nexit 0\n"
	scripttest.Write(t, filepath.Join(dir, "python3.98"), script)
	_, err := selectPython(context.Background(), constraint(t, ">=3.99"), finder{path: dir})
	if err == nil || !strings.Contains(err.Error(), "python3.98 (does not run)") {
		t.Fatalf("error %v, want one naming the candidate and its version", err)
	}
	if data, _ := os.ReadFile(args); string(data) != "--version\n" {
		t.Errorf("the candidate was run with %q, want only --version", data)
	}
}
