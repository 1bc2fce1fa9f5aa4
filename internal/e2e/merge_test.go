package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/release"
)

// tested opens the feature on every sibling and waits until the
// changeset's run passed on every member.
func (w *world) tested(branch string) []member {
	ms := w.openFeature(branch, nil)
	w.send("pull_request", w.prPayload("opened", ms[0].repo, ms[0].n))
	for _, m := range ms {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}
	w.idle()
	return ms
}

// say posts a comment by alice on m and waits for the bot's next reply
// there.
func (w *world) say(m member, body string) string {
	w.t.Helper()
	before := len(w.replies(m.repo, m.n))
	p, _ := w.comment(m.repo, m.n, "alice", "MEMBER", body)
	w.send("issue_comment", p)
	w.waitFor("a reply to "+body, func() bool { return len(w.replies(m.repo, m.n)) > before })
	return w.replies(m.repo, m.n)[before]
}

// waitReply waits for a reply of the bot on m that holds what, and
// returns it.
func (w *world) waitReply(m member, what string) string {
	w.t.Helper()
	var found string
	w.waitFor(fmt.Sprintf("a reply holding %q on %s#%d", what, m.repo, m.n), func() bool {
		for _, r := range w.replies(m.repo, m.n) {
			if strings.Contains(r, what) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// A tested three-PR changeset: the dry run names the two PRs rules block
// and merges nothing; once it is approved, /workspace merge lands all three
// in build order, each at its tested head, and every PR is told it landed
// as tested, with its merge commit.
func TestMergeLandsTheChangesetInOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	if err := w.gh.SetBranchRules("acme/lib", "main", githubtest.BranchRules{RequiredApprovals: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.gh.SetBranchRules("acme/app", "main", githubtest.BranchRules{RequiredChecks: []string{"lint"}}); err != nil {
		t.Fatal(err)
	}
	ms := w.tested("land-me")
	heads := map[string]string{}
	for _, m := range ms {
		heads[m.repo] = w.head(m.repo, m.n)
	}

	dry := w.say(ms[2], "/workspace merge --dry-run")
	if !strings.Contains(dry, "dry run: nothing merged") || !strings.Contains(dry, "needs 1 approving review and has 0") ||
		!strings.Contains(dry, `the required check "lint" is missing`) || strings.Count(dry, "✅") != 1 {
		t.Fatalf("dry run reply:\n%s", dry)
	}
	refused := w.say(ms[2], "/workspace merge")
	if !strings.Contains(refused, "nothing was merged") || !strings.Contains(refused, "acme/lib#") {
		t.Fatalf("merge of a blocked changeset:\n%s", refused)
	}
	for _, m := range ms {
		if w.gh.PR(m.repo, m.n).Merged {
			t.Fatalf("%s merged while the changeset was blocked", m.repo)
		}
	}

	var mu sync.Mutex
	var merges []string
	w.gh.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method == "PUT" && strings.HasSuffix(path, "/merge") {
			mu.Lock()
			merges = append(merges, path)
			mu.Unlock()
		}
		return nil
	})
	if err := w.gh.AddReview("acme/lib", ms[1].n, "carol", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	if err := w.gh.SetStatus("acme/app", heads["acme/app"], githubtest.Status{State: "success", Context: "lint"}); err != nil {
		t.Fatal(err)
	}
	// GitHub merges lib and still answers 502: it counts as merged, once.
	w.gh.Fault(githubtest.Fault{Method: "PUT", Path: "/repos/acme/lib/pulls/", Status: http.StatusBadGateway, After: true})
	plan := w.say(ms[2], "/workspace merge")
	if !strings.Contains(plan, "landing") || !strings.Contains(plan, heads["acme/core"]) {
		t.Fatalf("plan reply:\n%s", plan)
	}
	for _, m := range ms {
		w.waitReply(m, "landed as tested")
	}
	w.idle()
	mu.Lock()
	order := strings.Join(slices.Compact(merges), " ")
	mu.Unlock()
	if order != "/repos/acme/core/pulls/1/merge /repos/acme/lib/pulls/1/merge /repos/acme/app/pulls/1/merge" {
		t.Errorf("merge calls: %s, want core, lib, app", order)
	}
	if n, _ := gitfixture.Git(w.gh.RepoDir("acme/lib"), "rev-list", "--count", "--merges", "main"); n != "1" {
		t.Errorf("lib's main has %s merge commits after a merge answered 502, want 1", n)
	}
	for _, m := range ms {
		pr := w.gh.PR(m.repo, m.n)
		if !pr.Merged || pr.HeadSHA != heads[m.repo] {
			t.Errorf("%s: %+v, want merged at the tested head %s", m.repo, pr, heads[m.repo])
		}
		rs := w.replies(m.repo, m.n)
		if last := rs[len(rs)-1]; !strings.Contains(last, pr.MergeCommitSHA) || strings.Count(last, "the tree tested") != 3 {
			t.Errorf("%s: landing report lacks its merge commit %s or a proof:\n%s", m.repo, pr.MergeCommitSHA, last)
		}
	}
}

// What lands must be what was tested. A head pushed since the run is
// refused. A base that moved since is tested again first, and the
// changeset lands by itself once that run passes, onto the new base.
func TestMergeLandsOnlyWhatWasTested(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ms := w.tested("moving")

	// A collaborator with read permission cannot land anything.
	w.gh.SetPermission("acme/core", "carol", "read")
	p, _ := w.comment(ms[0].repo, ms[0].n, "carol", "COLLABORATOR", "/workspace merge")
	w.send("issue_comment", p)
	if r := w.waitReply(ms[0], "@carol"); !strings.Contains(r, "`/workspace merge` needs write permission on acme/core, and GitHub says yours is read") {
		t.Fatalf("a read-only merge: %s", r)
	}

	w.push("acme/lib", "moving", map[string]string{"LATE": "never tested\n"})
	pushed := w.say(ms[0], "/workspace merge")
	if !strings.Contains(pushed, "nothing was merged") || !strings.Contains(pushed, "tested other heads") {
		t.Fatalf("merge after a push:\n%s", pushed)
	}
	for _, m := range ms {
		if w.gh.PR(m.repo, m.n).Merged {
			t.Fatalf("%s merged", m.repo)
		}
	}
	w.send("pull_request", w.prPayload("synchronize", "acme/lib", ms[1].n))
	w.waitState("acme/lib", w.head("acme/lib", ms[1].n), "success")
	w.idle()

	base := w.push("acme/core", "main", map[string]string{"NEWS": "someone else landed\n"})
	regate := w.say(ms[0], "/workspace merge")
	if !strings.Contains(regate, "re-testing onto the new base of acme/core (main moved from") || !strings.Contains(regate, base[:7]) {
		t.Fatalf("merge onto a moved base:\n%s", regate)
	}
	w.waitFor("the landing after the re-test", func() bool {
		for _, r := range w.replies("acme/core", ms[0].n) {
			if strings.Contains(r, "landed as tested") {
				return true
			}
		}
		return false
	})
	w.idle()
	runs := w.runs()
	last := runs[len(runs)-1]
	if len(runs) != 3 || last.Result == nil {
		t.Fatalf("runs: %s", describeRuns(runs))
	}
	for _, s := range last.Result.Siblings {
		if s.Name == "core" && s.BaseSHA != base {
			t.Errorf("the re-test built core onto %s, want the new base %s", s.BaseSHA, base)
		}
	}
	for _, m := range ms {
		pr := w.gh.PR(m.repo, m.n)
		if !pr.Merged {
			t.Errorf("%s did not land after the re-test", m.repo)
		}
	}
	if parents, _ := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-list", "--parents", "-n1", "main"); !strings.Contains(parents, base) {
		t.Errorf("core's merge commit %s is not onto the moved base %s", parents, base)
	}
}

// serve is killed (-9) between two merges, after GitHub merged the second
// but before the service heard. The next start carries the landing on
// from GitHub's state: nothing is merged twice, the rest lands, and every
// PR is told.
func TestMergeResumesAfterKill9(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	ms := w.openFeature("killed", nil)
	dataDir, addr, logs := t.TempDir(), freeAddr(t), &syncBuffer{}
	first := w.startServe(bin, addr, dataDir, logs)
	w.send("pull_request", w.prPayload("opened", ms[0].repo, ms[0].n))
	for _, m := range ms {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}

	var mu sync.Mutex
	merges := map[string]int{}
	killed := false
	w.gh.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method != "PUT" || !strings.HasSuffix(path, "/merge") {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		merges[path]++
		if strings.Contains(path, "/acme/lib/") && !killed {
			killed = true
			first.Process.Signal(syscall.SIGKILL)
		}
		return nil
	})
	p, _ := w.comment(ms[0].repo, ms[0].n, "alice", "MEMBER", "/workspace merge")
	w.send("issue_comment", p)
	w.waitFor("the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return killed
	})
	first.Wait()
	w.waitFor("lib's merge behind the kill", func() bool { return w.gh.PR("acme/lib", ms[1].n).Merged })
	if w.gh.PR("acme/app", ms[2].n).Merged {
		t.Fatal("app merged before the restart: the kill came too late to test anything")
	}

	w.startServe(bin, addr, dataDir, logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	for _, m := range ms {
		w.waitReply(m, "landed as tested")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range ms {
		if !w.gh.PR(m.repo, m.n).Merged {
			t.Errorf("%s did not land", m.repo)
		}
		if n := merges["/repos/"+m.repo+"/pulls/1/merge"]; n != 1 {
			t.Errorf("%s: %d merge calls, want 1", m.repo, n)
		}
	}
}

// GitHub refuses the second merge (lib's main took a conflicting change
// after the preflight): the landing stops with core merged. Every PR gets
// one alarm naming what merged (with its commit), what did not and why,
// and the ways out; the heads that did not merge get an error status; the
// metric counts it.
func TestMergeHaltedHalfwayEndsInAKnownState(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ms := w.tested("halts")
	w.haltAtLib(ms)
	alarm := func(m member) string {
		for _, r := range w.replies(m.repo, m.n) {
			if strings.Contains(r, "stopped halfway") {
				return r
			}
		}
		return ""
	}
	for _, m := range ms {
		w.waitFor("the alarm on "+m.repo, func() bool { return alarm(m) != "" })
	}
	w.idle()
	core := w.gh.PR("acme/core", ms[0].n)
	if !core.Merged || w.gh.PR("acme/lib", ms[1].n).Merged || w.gh.PR("acme/app", ms[2].n).Merged {
		t.Fatal("want core merged and lib and app open")
	}
	for _, m := range ms {
		a := alarm(m)
		if !strings.Contains(a, "acme/lib#1 did not merge") || !strings.Contains(a, core.MergeCommitSHA) ||
			!strings.Contains(a, "Not merged: acme/lib#1, acme/app#1") || !strings.Contains(a, "`/workspace merge` again") {
			t.Errorf("alarm on %s:\n%s", m.repo, a)
		}
	}
	for _, m := range ms[1:] {
		if st := w.status(m.repo, w.head(m.repo, m.n)); st.State != "error" || !strings.Contains(st.Description, "landing halted") {
			t.Errorf("%s head: %+v, want an error naming the halt", m.repo, st)
		}
	}
	resp, err := http.Get(w.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `workspace_bot_landings_total{outcome="halted"} 1`) {
		t.Errorf("metrics lack the halted landing:\n%s", body)
	}

	// The second way out: revert what merged. The revert PR is tested
	// and landed like any other, and core's main holds what it held
	// before the landing.
	before, err := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-parse", core.MergeCommitSHA+"^1^{tree}")
	if err != nil {
		t.Fatal(err)
	}
	reply := w.say(ms[1], "/workspace revert")
	if !strings.Contains(reply, "| acme/core#1 | `"+core.MergeCommitSHA+"` | acme/core#2 |") {
		t.Fatalf("revert reply:\n%s", reply)
	}
	revert := member{"acme/core", 2}
	if pr := w.gh.PR("acme/core", 2); pr.User != "workspace-bot" || !strings.HasPrefix(pr.HeadRef, "workspace-bot/revert-") {
		t.Fatalf("revert PR: %+v", pr)
	}
	w.send("pull_request", w.prPayload("opened", revert.repo, revert.n))
	w.waitState(revert.repo, w.head(revert.repo, revert.n), "success")
	w.idle()
	w.say(revert, "/workspace merge")
	w.waitFor("the revert to land", func() bool { return w.gh.PR("acme/core", 2).Merged })
	if got, _ := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-parse", "main^{tree}"); got != before {
		t.Errorf("core's main after the revert holds tree %s, want %s from before the landing", got, before)
	}
	again := w.say(ms[1], "/workspace revert")
	if !strings.Contains(again, "nothing to revert") {
		t.Errorf("a second revert: %s", again)
	}
}

// Two changesets that share a sibling are landed at once: they land one
// at a time, and the second is tested again onto the base the first
// moved before it merges.
func TestMergeTwoChangesetsThatShareASibling(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	a := []member{
		{"acme/core", w.openPR("acme/core", "feat-a", "", map[string]string{"A.txt": "a\n"})},
		{"acme/lib", w.openPR("acme/lib", "feat-a", "", map[string]string{"A.txt": "a\n"})},
	}
	b := []member{
		{"acme/core", w.openPR("acme/core", "feat-b", "", map[string]string{"B.txt": "b\n"})},
		{"acme/app", w.openPR("acme/app", "feat-b", "", map[string]string{"B.txt": "b\n"})},
	}
	for _, set := range [][]member{a, b} {
		w.send("pull_request", w.prPayload("opened", set[0].repo, set[0].n))
	}
	for _, m := range append(append([]member{}, a...), b...) {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}
	w.idle()
	for _, set := range [][]member{a, b} {
		p, _ := w.comment(set[0].repo, set[0].n, "alice", "MEMBER", "/workspace merge")
		w.send("issue_comment", p)
	}
	for _, m := range append(append([]member{}, a...), b...) {
		w.waitReply(m, "landed as tested")
	}
	w.idle()
	ca, cb := w.gh.PR("acme/core", a[0].n), w.gh.PR("acme/core", b[0].n)
	if !ca.Merged || !cb.Merged {
		t.Fatalf("core PRs: %+v %+v", ca, cb)
	}
	// Whichever merged second sits on the first's merge commit, and was
	// built onto it by a run of its own before merging.
	first, second := ca, cb
	if p, _ := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-parse", ca.MergeCommitSHA+"^1"); p == cb.MergeCommitSHA {
		first, second = cb, ca
	}
	if p, _ := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-parse", second.MergeCommitSHA+"^1"); p != first.MergeCommitSHA {
		t.Fatalf("core's merges are not one after the other: %s's first parent is %s, want %s", second.MergeCommitSHA, p, first.MergeCommitSHA)
	}
	regated := false
	for _, r := range w.runs() {
		if r.Result == nil {
			continue
		}
		for _, s := range r.Result.Siblings {
			if s.Name == "core" && s.SHA == second.HeadSHA && s.BaseSHA == first.MergeCommitSHA {
				regated = true
			}
		}
	}
	if !regated {
		t.Errorf("no run built core#%d onto the first landing's merge %s before it landed: %s", second.Number, first.MergeCommitSHA, describeRuns(w.runs()))
	}
}

// Release PRs (as release open writes them) land as one, then each
// released sibling is tagged at its merge commit and published as a
// GitHub release with its notes; a tag of that name already at another
// commit is left as it is and named.
func TestMergeReleasePRsThenTags(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{tables: "\n[workspace.release]\ngithub_releases = true\n"})
	plan := &release.Plan{Workspace: "ws"}
	entries := map[string]*release.Entry{
		"acme/core": {Sibling: "core", Package: "core", Old: "0.1.0", New: "0.2.0", Bump: release.Minor},
		"acme/lib":  {Sibling: "lib", Package: "lib", Old: "1.0.0", New: "1.0.1", Bump: release.Patch},
	}
	stale, err := gitfixture.Git(w.gh.RepoDir("acme/lib"), "rev-parse", "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(w.gh.RepoDir("acme/lib"), "tag", "v1.0.1", stale); err != nil {
		t.Fatal(err)
	}
	var ms []member
	for _, repo := range []string{"acme/core", "acme/lib"} {
		n := w.openPR(repo, release.DefaultBranch, plan.Body(entries[repo], nil), map[string]string{"VERSION": entries[repo].New + "\n"})
		ms = append(ms, member{repo, n})
	}
	w.send("pull_request", w.prPayload("opened", ms[0].repo, ms[0].n))
	for _, m := range ms {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}
	w.idle()
	report := w.say(ms[0], "/workspace merge")
	w.waitFor("the landing report", func() bool {
		for _, r := range w.replies(ms[0].repo, ms[0].n) {
			if strings.Contains(r, "landed as tested") {
				report = r
				return true
			}
		}
		return false
	})
	core := w.gh.PR("acme/core", ms[0].n)
	if got, _ := gitfixture.Git(w.gh.RepoDir("acme/core"), "rev-parse", "v0.2.0"); !core.Merged || got != core.MergeCommitSHA {
		t.Errorf("core's tag v0.2.0 at %q, want its merge %s", got, core.MergeCommitSHA)
	}
	if got, _ := gitfixture.Git(w.gh.RepoDir("acme/lib"), "rev-parse", "v1.0.1"); got != stale {
		t.Errorf("lib's existing tag moved to %s", got)
	}
	if !strings.Contains(report, "| core | `v0.2.0`, published as a GitHub release |") || !strings.Contains(report, "tag v1.0.1 of acme/lib is at "+stale[:7]) {
		t.Errorf("landing report:\n%s", report)
	}
	// The GitHub release carries the changelog section the PR quoted; a
	// tag left as it was gets none.
	rels := w.gh.Releases("acme/core")
	if len(rels) != 1 || rels[0].Tag != "v0.2.0" || rels[0].Name != "core 0.2.0" || rels[0].Body != release.Notes(w.gh.PR("acme/core", ms[0].n).Body) || rels[0].Body == "" {
		t.Errorf("core's releases: %+v", rels)
	}
	if rels := w.gh.Releases("acme/lib"); len(rels) != 0 {
		t.Errorf("lib, whose tag was left, got releases: %+v", rels)
	}
}

// haltAtLib lands ms with /workspace merge while lib's main takes a
// change that conflicts with lib's PR as core merges: GitHub refuses the
// second merge.
func (w *world) haltAtLib(ms []member) {
	var once sync.Once
	w.gh.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method == "PUT" && path == "/repos/acme/core/pulls/1/merge" {
			once.Do(func() { w.push("acme/lib", "main", map[string]string{"README": "lib's own change, in the way\n"}) })
		}
		return nil
	})
	p, _ := w.comment(ms[0].repo, ms[0].n, "alice", "MEMBER", "/workspace merge")
	w.send("issue_comment", p)
}

// The first way out of a halt: the author fixes the conflict and pushes,
// the members left are tested again (against core's main, which holds
// what merged), and /workspace merge lands them.
func TestMergeAfterAHaltOnceFixed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ms := w.tested("fixed")
	w.haltAtLib(ms)
	w.waitReply(ms[1], "stopped halfway")
	w.idle()

	// lib's author resolves the conflict on the branch.
	w.push("acme/lib", "fixed", map[string]string{"README": "lib's own change, in the way\n"})
	w.send("pull_request", w.prPayload("synchronize", "acme/lib", ms[1].n))
	w.waitState("acme/lib", w.head("acme/lib", ms[1].n), "success")
	w.idle()
	w.say(ms[1], "/workspace merge")
	for _, m := range ms[1:] {
		w.waitReply(m, "landed as tested")
	}
	for _, m := range ms {
		if !w.gh.PR(m.repo, m.n).Merged {
			t.Errorf("%s is not merged", m.repo)
		}
	}
}

// core's main moves between the preflight and core's merge (another
// person merged meanwhile, and nothing required branches up to date):
// GitHub merges onto the new tip, so what landed is not what was tested.
// The final comment raises the alarm on every PR and names core.
func TestMergeLandedNotAsTestedIsAnAlarm(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ms := w.tested("raced")
	var once sync.Once
	w.gh.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method == "PUT" && path == "/repos/acme/core/pulls/1/merge" {
			once.Do(func() { w.push("acme/core", "main", map[string]string{"RACED": "landed by someone else meanwhile\n"}) })
		}
		return nil
	})
	p, _ := w.comment(ms[0].repo, ms[0].n, "alice", "MEMBER", "/workspace merge")
	w.send("issue_comment", p)
	for _, m := range ms {
		alarm := w.waitReply(m, "landed, but not as tested")
		if !strings.Contains(alarm, "| acme/core#1 |") || !strings.Contains(alarm, "⚠️ differs in RACED") || strings.Count(alarm, "the tree tested") != 2 {
			t.Errorf("alarm on %s:\n%s", m.repo, alarm)
		}
	}
	w.idle()
	resp, err := http.Get(w.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `workspace_bot_landings_total{outcome="differs"} 1`) {
		t.Errorf("metrics lack the landing that differs:\n%s", body)
	}
}
