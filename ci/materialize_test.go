package ci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

func TestMaterializeBranchTipTagAndSHA(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a1.txt": "1"})
	alphaTip := f.commit("alpha", "main", "", map[string]string{"a2.txt": "2"})
	f.repo("beta", map[string]string{"b1.txt": "1"})
	betaFirst, _ := gitfixture.Git(f.bare("beta"), "rev-parse", "main")
	if err := gitfixture.Tag(f.bare("beta"), "v1.0.0", betaFirst); err != nil {
		t.Fatal(err)
	}
	f.commit("beta", "main", "", map[string]string{"b2.txt": "2"})
	f.repo("gamma", map[string]string{"g1.txt": "1"})
	gammaFirst, _ := gitfixture.Git(f.bare("gamma"), "rev-parse", "main")
	f.commit("gamma", "main", "", map[string]string{"g2.txt": "2"})

	cfg := f.config(sib{name: "alpha"}, sib{name: "beta", deps: []string{"alpha"}}, sib{name: "gamma"})
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/a2.txt && test -f ../beta/b1.txt && ! test -e ../beta/b2.txt && ! test -e ../gamma/g2.txt"}
	r := f.runner()
	r.Keep = true
	res, err := r.Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{
		"beta":  {Ref: "v1.0.0"},
		"gamma": {Ref: gammaFirst},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != Success {
		t.Fatalf("result %s: %+v", res.Result, res.Steps)
	}
	want := map[string][2]string{"alpha": {"main", alphaTip}, "beta": {"v1.0.0", betaFirst}, "gamma": {gammaFirst, gammaFirst}}
	for name, w := range want {
		sr := siblingResult(t, res, name)
		if sr.Ref != w[0] || sr.SHA != w[1] {
			t.Errorf("%s: ref %q sha %s, want %q %s", name, sr.Ref, sr.SHA, w[0], w[1])
		}
		if sr.Repo != f.url(name) {
			t.Errorf("%s: repo %q", name, sr.Repo)
		}
		head, err := gitfixture.Git(filepath.Join(res.BuildRoot, name), "rev-parse", "HEAD")
		if err != nil || head != w[1] {
			t.Errorf("%s: HEAD in build root = %s (%v), want %s", name, head, err, w[1])
		}
	}
	if got := len(stepsOf(res, "checkout", "*")); got != 3 {
		t.Errorf("%d checkout steps, want 3", got)
	}
	// A fresh build root per run, with the workspace copied beside its siblings.
	if _, err := os.Stat(filepath.Join(res.BuildRoot, "ws", "wrknv.toml")); err != nil {
		t.Errorf("workspace not copied into the build root: %v", err)
	}
}

func TestBuildRootRemovedUnlessKept(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	res, err := f.runner().Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	entries, err := os.ReadDir(filepath.Join(f.dataDir, "builds"))
	if err != nil || len(entries) != 0 {
		t.Errorf("build roots left behind: %v %v", entries, err)
	}
	if res.BuildRoot != "" {
		t.Errorf("BuildRoot %q set without Keep", res.BuildRoot)
	}
}

func TestIncrementalFetchReusesMirror(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	r := f.runner()
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	m := r.mirrorFor(f.url("alpha"))
	marker := filepath.Join(m.dir, "kept-by-test")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatalf("mirror not at %s: %v", m.dir, err)
	}

	next := f.commit("alpha", "main", "", map[string]string{"new.txt": "x"})
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/new.txt"}
	res, err = r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("second run: %v %+v", err, res)
	}
	if got := siblingResult(t, res, "alpha").SHA; got != next {
		t.Errorf("second run built %s, want the new tip %s", got, next)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("mirror was recreated instead of fetched into: %v", err)
	}
	mirrors, _ := os.ReadDir(filepath.Join(f.dataDir, "mirrors"))
	if n := countSuffix(mirrors, ".git"); n != 1 {
		t.Errorf("%d mirrors, want 1", n)
	}

	// A commit the mirror already holds needs no network at all.
	before := f.requests.Load()
	res, err = r.Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"alpha": {SHA: next}}})
	if err != nil || res.Result != Success {
		t.Fatalf("pinned run: %v %+v", err, res)
	}
	if n := f.requests.Load() - before; n != 0 {
		t.Errorf("pinned run to a commit in the mirror made %d HTTP requests, want 0", n)
	}
}

// A process killed while it made a mirror (git init cut short leaves HEAD
// and no objects) does not break the next run: the mirror is made again.
func TestHalfMadeMirrorIsMadeAgain(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	r := f.runner()
	m := r.mirrorFor(f.url("alpha"))
	if err := os.MkdirAll(filepath.Join(m.dir, "refs", "heads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.dir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(m.dir+".init", 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("run over a half-made mirror: %v %+v", err, res)
	}
	if _, err := os.Stat(m.dir + ".init"); !os.IsNotExist(err) {
		t.Errorf("the unfinished mirror beside it is still there: %v", err)
	}
}

// A fetch killed while it updated the mirror's refs (a run cancelled
// or superseded, the service killed) leaves git's lock files, and git
// refuses every later update while they are there: the next run clears
// them under the mirror's lock and fetches the new tip.
func TestKilledFetchLeavesNoLock(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	r := f.runner()
	if res, err := r.Run(context.Background(), Request{Config: cfg}); err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	m := r.mirrorFor(f.url("alpha"))
	locks := []string{filepath.Join(m.dir, "refs", "heads", "main.lock"), filepath.Join(m.dir, "packed-refs.lock"), filepath.Join(m.dir, "config.lock")}
	for _, l := range locks {
		if err := os.WriteFile(l, []byte("deadbeef\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	next := f.commit("alpha", "main", "", map[string]string{"new.txt": "x"})
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("run after a killed fetch: %v %+v", err, res)
	}
	if got := siblingResult(t, res, "alpha").SHA; got != next {
		t.Errorf("built %s, want the new tip %s", got, next)
	}
	for _, l := range locks {
		if _, err := os.Stat(l); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", l, err)
		}
	}
}

func countSuffix(entries []os.DirEntry, suffix string) int {
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			n++
		}
	}
	return n
}

func TestMergeModeCleanAndConflict(t *testing.T) {
	f := newFixture(t)
	f.repo("clean", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	head := f.commit("clean", "feature", "main", map[string]string{"a.txt": "feature\n"})
	f.commit("clean", "main", "", map[string]string{"b.txt": "main moved\n"})
	f.repo("clash", map[string]string{"conflict.txt": "base\n", "other.txt": "x\n"})
	f.commit("clash", "feature", "main", map[string]string{"conflict.txt": "feature side\n"})
	f.commit("clash", "main", "", map[string]string{"conflict.txt": "main side\n"})

	cfg := f.config(sib{name: "clean"}, sib{name: "clash"})
	cfg.Workspace.CI.Checkout = workspace.CheckoutMerge
	cfg.Workspace.CI.Test = []string{"true"}
	r := f.runner()
	r.Keep = true

	// clean merges: both sides' changes are in the tree, on a merge commit.
	res, err := r.Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"clean": {Ref: "feature", Base: "main"}}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	dir := filepath.Join(res.BuildRoot, "clean")
	if readFile(t, filepath.Join(dir, "a.txt")) != "feature\n" || readFile(t, filepath.Join(dir, "b.txt")) != "main moved\n" {
		t.Error("merged tree lacks one side's change")
	}
	parents, _ := gitfixture.Git(dir, "rev-list", "--parents", "-n1", "HEAD")
	if len(strings.Fields(parents)) != 3 {
		t.Errorf("HEAD is not a merge commit: %s", parents)
	}
	sr := siblingResult(t, res, "clean")
	if sr.SHA != head || sr.BaseSHA == "" {
		t.Errorf("sibling result %+v, want head %s and a base", sr, head)
	}
	// The tree built is what git's own merge of the two makes (what
	// GitHub's merge lands), not the head's.
	merged, err := gitfixture.Git(dir, "merge-tree", "--write-tree", sr.BaseSHA, head)
	headTree, _ := gitfixture.Git(dir, "rev-parse", head+"^{tree}")
	if err != nil || sr.Tree != strings.Fields(merged)[0] || sr.Tree == headTree {
		t.Errorf("tree built %q, want the merge's %q (%v), not the head's %s", sr.Tree, merged, err, headTree)
	}

	// clash conflicts: a failed checkout naming the file, later steps skipped.
	res, err = r.Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{
		"clean": {Ref: "feature", Base: "main"},
		"clash": {Ref: "feature", Base: "main"},
	}})
	if err != nil {
		t.Fatalf("a conflict must be a result, not an error: %v", err)
	}
	if res.Result != Failure {
		t.Fatalf("result %s, want failure", res.Result)
	}
	co := stepsOf(res, "checkout", "clash")
	if len(co) != 1 || co[0].Result != Failure || !strings.Contains(co[0].LogTail, "conflict.txt") || strings.Contains(co[0].LogTail, "other.txt") {
		t.Errorf("clash checkout step %+v", co)
	}
	if co := stepsOf(res, "checkout", "clean"); len(co) != 1 || co[0].Result != Success {
		t.Errorf("clean checkout step %+v", co)
	}
	if tests := stepsOf(res, "test", ""); len(tests) != 1 || tests[0].Result != Skipped {
		t.Errorf("test step after a conflict: %+v", tests)
	}
}

func TestWorkspaceCopyLeavesCheckoutAlone(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	for p, c := range map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".venv/bin/python": "", "tests/test_x.py": "ok\n"} {
		os.MkdirAll(filepath.Join(f.wsDir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(f.wsDir, p), []byte(c), 0o644)
	}
	cfg.Workspace.CI.Setup = []string{"touch made-by-setup && test -f tests/test_x.py && ! test -e .git && ! test -e .venv"}
	res, err := f.runner().Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(f.wsDir, "made-by-setup")); !os.IsNotExist(err) {
		t.Error("a step wrote into the user's workspace checkout")
	}
}

func TestWorkspacePinnedFromItsRepo(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("provide-workspace", map[string]string{"tests/from-repo.txt": "yes\n"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.Repo = f.url("provide-workspace")
	cfg.Workspace.CI.Test = []string{`test -f tests/from-repo.txt && test "$(basename "$PWD")" = provide-workspace && test -d ../alpha/.git`}
	res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"ws": {Ref: "main"}}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if res.Siblings[0].Name != "ws" || res.Siblings[0].SHA == "" {
		t.Errorf("workspace repo not reported first: %+v", res.Siblings)
	}
}

func TestConcurrentRunsShareMirrors(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("beta", nil)
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"})
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/README && test -f ../beta/README"}
	r := f.runner()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), Request{Config: cfg})
			if err == nil && res.Result != Success {
				err = errors.New(string(res.Result) + ": " + res.Error)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
}

func TestPinFetchesRefNoBranchHolds(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	head := f.commit("alpha", "pr-head", "main", map[string]string{"pr.txt": "x"})
	for _, args := range [][]string{{"update-ref", "refs/pull/1/head", head}, {"branch", "-D", "pr-head"}} {
		if _, err := gitfixture.Git(f.bare("alpha"), args...); err != nil {
			t.Fatal(err)
		}
	}
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Test = []string{"test -f ../alpha/pr.txt"}
	res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{
		"alpha": {Ref: "pull/1", SHA: head, FetchRef: "refs/pull/1/head"},
	}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if sr := siblingResult(t, res, "alpha"); sr.SHA != head || sr.Ref != "pull/1" {
		t.Errorf("built %+v, want pull/1 at %s", sr, head)
	}
}

func TestAuthorizationReachesGitButNotDiskOrMessages(t *testing.T) {
	f := newFixture(t)
	f.repo("a", nil)
	cfg := f.config(sib{name: "a"})
	const header = "Basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==" // x-access-token:ghs_secret
	h := header
	f.auth.Store(&h)

	res, err := f.runner().Run(context.Background(), Request{Config: cfg})
	if err == nil || res.Result != Error {
		t.Fatalf("a private repository without credentials: result %v, err %v; want an error", res.Result, err)
	}

	var asked []string
	r := f.runner()
	r.Authorization = func(_ context.Context, url string) (string, error) {
		asked = append(asked, url)
		return header, nil
	}
	res, err = r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("with credentials: result %v, err %v", res.Result, err)
	}
	if len(asked) != 1 || asked[0] != f.url("a") {
		t.Errorf("Authorization asked for %v, want [%s]", asked, f.url("a"))
	}
	err = filepath.WalkDir(filepath.Join(f.dataDir, "mirrors"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "ghs_secret") || strings.Contains(string(b), header) {
			t.Errorf("%s holds the credential", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	r.Authorization = func(context.Context, string) (string, error) { return "", errors.New("installation token refused") }
	res, err = r.Run(context.Background(), Request{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "installation token refused") || res.Result != Error {
		t.Errorf("a credential error should fail the run and say why: %v", err)
	}
}
