package ci

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/workspace"
)

// A sibling's own setup with setup_inputs is skipped while its inputs,
// its commands and the cache are unchanged since the last successful
// setup in the same warm root, and says which run did it; a changed
// input, --fresh and untrusted runs set it up again. A setup without
// setup_inputs always runs.
func TestSetupSkippedWhileInputsUnchanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"pyproject.toml": "[project]\nname = \"alpha\"\n", "src/a.py": "a = 1\n"})
	f.repo("beta", map[string]string{"b.txt": "b\n"})
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta", deps: []string{"alpha"}})
	cfg.Workspace.CI.Cache = workspace.Cache{Paths: []string{"built"}, Key: []string{"*/lock.txt"}}
	alpha, beta := cfg.Sibling("alpha"), cfg.Sibling("beta")
	alpha.Setup = []string{`mkdir -p "$WORKSPACE_ROOT/built" && echo ran >> "$WORKSPACE_ROOT/built/alpha.log"`}
	alpha.SetupInputs = []string{"pyproject.toml", "requirements*.txt"}
	beta.Setup = []string{`mkdir -p "$WORKSPACE_ROOT/built" && echo ran >> "$WORKSPACE_ROOT/built/beta.log"`}
	r := f.runner()
	run := func(req Request) (*Result, string, string) {
		t.Helper()
		req.Config = cfg
		res := runOK(t, r, req)
		if res.BuildRoot == "" {
			return res, "", ""
		}
		built := filepath.Join(res.BuildRoot, "ws", "built")
		return res, readFile(t, filepath.Join(built, "alpha.log")), readFile(t, filepath.Join(built, "beta.log"))
	}
	setupOf := func(res *Result, name string) StepResult {
		t.Helper()
		s := stepsOf(res, "setup", name)
		if len(s) != 1 {
			t.Fatalf("%d setup steps of %s", len(s), name)
		}
		return s[0]
	}

	res, a, b := run(Request{Trusted: true, RunLabel: "run 41"})
	if a != "ran\n" || b != "ran\n" || setupOf(res, "alpha").Cached {
		t.Fatalf("first run: alpha %q beta %q", a, b)
	}
	res, a, b = run(Request{Trusted: true, RunLabel: "run 42"})
	if s := setupOf(res, "alpha"); !s.Cached || s.Result != Success || s.LogTail != "setup skipped: inputs unchanged since run 41" ||
		s.Shown() != "skipped: inputs unchanged since run 41" || a != "ran\n" {
		t.Errorf("nothing changed: alpha's setup %+v, its log %q", s, a)
	}
	if setupOf(res, "beta").Cached || b != "ran\nran\n" {
		t.Errorf("a setup without setup_inputs was skipped: beta %q", b)
	}
	// Source changes do not count; the run that did the setup is kept.
	f.commit("alpha", "main", "", map[string]string{"src/a.py": "a = 2\n"})
	res, a, _ = run(Request{Trusted: true, RunLabel: "run 43"})
	if s := setupOf(res, "alpha"); s.LogTail != "setup skipped: inputs unchanged since run 41" || a != "ran\n" {
		t.Errorf("after a source change: %q, log %q", s.LogTail, a)
	}
	// An input changes, or a new one appears: set up again.
	f.commit("alpha", "main", "", map[string]string{"pyproject.toml": "[project]\nname = \"alpha\"\nversion = \"2\"\n"})
	res, a, _ = run(Request{Trusted: true, RunLabel: "run 44"})
	if setupOf(res, "alpha").Cached || a != "ran\nran\n" {
		t.Errorf("after pyproject.toml changed: skipped, log %q", a)
	}
	f.commit("alpha", "main", "", map[string]string{"requirements-dev.txt": "pytest\n"})
	res, a, _ = run(Request{Trusted: true, RunLabel: "run 45"})
	if setupOf(res, "alpha").Cached || a != "ran\nran\nran\n" {
		t.Errorf("after requirements-dev.txt appeared: skipped, log %q", a)
	}
	// The setup's command changes: set up again.
	alpha.Setup = []string{alpha.Setup[0] + " && true"}
	if res, _, _ = run(Request{Trusted: true, RunLabel: "run 46"}); setupOf(res, "alpha").Cached {
		t.Error("a changed setup command was skipped")
	}
	if res, _, _ = run(Request{Trusted: true, RunLabel: "run 47"}); setupOf(res, "alpha").LogTail != "setup skipped: inputs unchanged since run 46" {
		t.Errorf("then: %q", setupOf(res, "alpha").LogTail)
	}
	// --fresh never skips.
	if res, _, _ = run(Request{Trusted: true, Fresh: true, RunLabel: "run 48"}); setupOf(res, "alpha").Cached {
		t.Error("--fresh skipped a setup")
	}
	// Neither does an untrusted run, nor the trusted run after it.
	if res, _, _ = run(Request{RunLabel: "run 49"}); setupOf(res, "alpha").Cached {
		t.Error("an untrusted run skipped a setup")
	}
	if res, _, _ = run(Request{Trusted: true, RunLabel: "run 50"}); setupOf(res, "alpha").Cached {
		t.Error("the trusted run after an untrusted one skipped a setup")
	}
	// A cache miss never skips: the key's files change.
	f.commit("alpha", "main", "", map[string]string{"lock.txt": "2\n"})
	if res, _, _ = run(Request{Trusted: true, RunLabel: "run 51"}); res.Cache != CacheMiss || setupOf(res, "alpha").Cached {
		t.Errorf("cache %q, alpha's setup cached %v", res.Cache, setupOf(res, "alpha").Cached)
	}
	if strings.Contains(setupOf(res, "beta").Log, "skipped") {
		t.Error("beta skipped")
	}
}
