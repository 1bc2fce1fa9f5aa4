package ci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

// checkoutLog is the log of sibling's checkout step.
func checkoutLog(t *testing.T, res *Result, sibling string) string {
	t.Helper()
	steps := stepsOf(res, "checkout", sibling)
	if len(steps) != 1 {
		t.Fatalf("%d checkout steps for %s", len(steps), sibling)
	}
	return steps[0].Log
}

const keptLine = "kept the clone as the last run left it"

// A clone the last run left at the wanted commit is kept without a
// fetch, checkout or clean when it is provably untouched; whatever a
// step did to it (a tracked file changed, even with its mtime set back;
// refs planted; the index told to look away; stray files) is undone, so
// the next run builds exactly the commit.
func TestWarmCloneKeptOnlyWhenUntouched(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{".gitignore": "*.pyc\nbuild/\n", "src/a.py": "a = 1\n", "README": "r\n"})
	f.repo("beta", map[string]string{"b.txt": "b\n"})
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"})
	cfg.Workspace.CI.Test = []string{`test "$(cat ../alpha/src/a.py)" = "a = 1" && test ! -e ../alpha/stray && test ! -e ../alpha/build && test -z "$(git -C ../alpha tag)"`}
	r := f.runner()
	trusted := Request{Config: cfg, Trusted: true}

	res := runOK(t, r, trusted)
	alpha := filepath.Join(res.BuildRoot, "alpha")
	if strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Fatal("a new root's clone was kept")
	}
	res = runOK(t, r, trusted)
	if !strings.Contains(checkoutLog(t, res, "alpha"), keptLine) || !strings.Contains(checkoutLog(t, res, "beta"), keptLine) {
		t.Fatalf("nothing changed, yet the clones were switched:\n%s\n%s", checkoutLog(t, res, "alpha"), checkoutLog(t, res, "beta"))
	}
	if sr := siblingResult(t, res, "alpha"); sr.Tree == "" || sr.SHA == "" {
		t.Errorf("a kept clone's commit and tree not reported: %+v", sr)
	}

	// Untracked and ignored files go, the clone is still kept.
	os.WriteFile(filepath.Join(alpha, "stray"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(alpha, "build", "lib"), 0o755)
	os.WriteFile(filepath.Join(alpha, "build", "lib", "x.pyc"), []byte("x"), 0o644)
	res = runOK(t, r, trusted)
	if !strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Errorf("stray files only, yet switched:\n%s", checkoutLog(t, res, "alpha"))
	}

	// A tracked file changed, its mtime set back: ctime still shows it.
	a := filepath.Join(alpha, "src", "a.py")
	fi, _ := os.Stat(a)
	os.WriteFile(a, []byte("a = 2\n"), 0o644)
	os.Chtimes(a, fi.ModTime(), fi.ModTime())
	res = runOK(t, r, trusted)
	if log := checkoutLog(t, res, "alpha"); strings.Contains(log, keptLine) || !strings.Contains(log, "a tracked file changed: src/a.py") {
		t.Errorf("a changed tracked file was not seen:\n%s", log)
	}

	// The index told to ignore a file's changes: .git differs, the long way.
	gitfixture.Git(alpha, "update-index", "--assume-unchanged", "src/a.py")
	os.WriteFile(a, []byte("a = 3\n"), 0o644)
	res = runOK(t, r, trusted)
	if log := checkoutLog(t, res, "alpha"); !strings.Contains(log, "its .git changed since the last run") {
		t.Errorf("an index a step rewrote was trusted:\n%s", log)
	}

	// A tag planted in the clone (setuptools-scm would read it).
	head, _ := gitfixture.Git(alpha, "rev-parse", "HEAD")
	gitfixture.Git(alpha, "tag", "v9.9.9", head)
	res = runOK(t, r, trusted)
	if log := checkoutLog(t, res, "alpha"); strings.Contains(log, keptLine) {
		t.Errorf("a clone with a planted tag was kept:\n%s", log)
	}

	// The mirror moved (a run elsewhere fetched a new branch): the refs
	// the clone would fetch changed, so it is switched, and has the branch.
	f.commit("alpha", "other", "", map[string]string{"o.txt": "o\n"})
	if _, err := gitfixture.Git(r.mirrorFor(f.url("alpha")).dir, "fetch", "--quiet", f.url("alpha"), "+refs/heads/*:refs/heads/*"); err != nil {
		t.Fatal(err)
	}
	res = runOK(t, r, trusted)
	if log := checkoutLog(t, res, "alpha"); strings.Contains(log, keptLine) {
		t.Errorf("kept although the mirror's refs moved:\n%s", log)
	}
	if out, err := gitfixture.Git(alpha, "rev-parse", "--verify", "refs/remotes/origin/other"); err != nil || out == "" {
		t.Errorf("the new branch is not in the clone: %v", err)
	}
	if log := checkoutLog(t, res, "beta"); !strings.Contains(log, keptLine) {
		t.Errorf("beta, untouched, was switched:\n%s", log)
	}

	// A new commit on the branch built: switched to it.
	f.commit("alpha", "main", "", map[string]string{"src/b.py": "b = 1\n"})
	res = runOK(t, r, trusted)
	if _, err := os.Stat(filepath.Join(alpha, "src", "b.py")); err != nil || strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Errorf("not switched to the new commit: %v\n%s", err, checkoutLog(t, res, "alpha"))
	}

	// An untrusted run in between: the next trusted one starts anew.
	runOK(t, r, Request{Config: cfg})
	res = runOK(t, r, trusted)
	if res.Root != RootNew || strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Errorf("after an untrusted run: root %q\n%s", res.Root, checkoutLog(t, res, "alpha"))
	}
}

// A pinned SHA the clone is at is kept too, and a different one is not.
func TestWarmCloneKeptAtPinnedSHA(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a.txt": "1\n"})
	first, _ := gitfixture.Git(f.bare("alpha"), "rev-parse", "main")
	second := f.commit("alpha", "main", "", map[string]string{"a.txt": "2\n"})
	cfg := f.config(sib{name: "alpha"})
	r := f.runner()
	pinned := func(sha string) Request {
		return Request{Config: cfg, Trusted: true, Pins: map[string]Pin{"alpha": {SHA: sha}}}
	}
	runOK(t, r, pinned(first))
	res := runOK(t, r, pinned(first))
	if !strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Errorf("the same pinned SHA was switched:\n%s", checkoutLog(t, res, "alpha"))
	}
	res = runOK(t, r, pinned(second))
	if strings.Contains(checkoutLog(t, res, "alpha"), keptLine) || readFile(t, filepath.Join(res.BuildRoot, "alpha", "a.txt")) != "2\n" {
		t.Errorf("another SHA was not checked out:\n%s", checkoutLog(t, res, "alpha"))
	}
}

// A cache path inside a kept clone stays, unwalked and untouched, while
// other strays go.
func TestWarmCloneKeepsCachePathInside(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a.txt": "1\n"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Cache = workspace.Cache{Paths: []string{"../alpha/built"}, Key: []string{"alpha/a.txt"}}
	cfg.Sibling("alpha").Setup = []string{"mkdir -p built && echo run >> built/log && echo x > stray"}
	r := f.runner()
	trusted := Request{Config: cfg, Trusted: true}
	runOK(t, r, trusted)
	res := runOK(t, r, trusted)
	if !strings.Contains(checkoutLog(t, res, "alpha"), keptLine) {
		t.Errorf("not kept:\n%s", checkoutLog(t, res, "alpha"))
	}
	alpha := filepath.Join(res.BuildRoot, "alpha")
	if got := readFile(t, filepath.Join(alpha, "built", "log")); got != "run\nrun\n" {
		t.Errorf("the cache path inside the clone: %q", got)
	}
}
