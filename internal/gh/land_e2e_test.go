package gh

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/land"
)

// landWorld is three siblings, each with an open PR, and the members as a
// gate that tested them onto today's bases would describe them.
type landWorld struct {
	*world
	c       *Client
	members []land.Member
}

var landRepos = []string{"acme/core", "acme/lib", "acme/app"}

func newLandWorld(t testing.TB, repos ...string) *landWorld {
	t.Helper()
	if repos == nil {
		repos = landRepos
	}
	w := &landWorld{world: newWorld(t)}
	w.c = w.client(t, fullToken, "")
	for _, full := range repos {
		w.repo(t, full, githubtest.RepoOptions{})
		if _, err := w.srv.Commit(full, "change", map[string]string{"CHANGE": full + " changed\n"}, "change "+full); err != nil {
			t.Fatal(err)
		}
		n, err := w.srv.OpenPR(githubtest.NewPR{Repo: full, Head: "change", Title: "Change " + full})
		if err != nil {
			t.Fatal(err)
		}
		w.srv.SetPermission(full, "alice", "write")
		w.members = append(w.members, w.tested(t, full, n))
	}
	return w
}

// tested is the member as a gate that built its current head onto its
// current base would record it.
func (w *landWorld) tested(t testing.TB, full string, n int) land.Member {
	t.Helper()
	pr := w.srv.PR(full, n)
	dir := w.srv.RepoDir(full)
	base, err := gitfixture.Git(dir, "rev-parse", "refs/heads/"+pr.BaseRef)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := gitfixture.Git(dir, "merge-tree", "--write-tree", base, pr.HeadSHA)
	if err != nil {
		t.Fatal(err)
	}
	return land.Member{Sibling: strings.TrimPrefix(full, "acme/"), Repo: full, Number: n, Head: pr.HeadSHA,
		BaseRef: pr.BaseRef, TestedBase: base, TestedTree: strings.Fields(tree)[0]}
}

// noWait lets GitHub's mergeability computation happen between reads
// without sleeping: the emulator computes it on the first read.
var noWait = land.Options{Sleep: func(context.Context, time.Duration) error { return nil }}

type journal struct {
	mu      sync.Mutex
	merging []string
	merged  []string
}

func (j *journal) Merging(_ context.Context, r land.Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.merging = append(j.merging, r.Member.Ref())
	return nil
}

func (j *journal) Merged(_ context.Context, l land.Landed) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.merged = append(j.merged, l.Row.Member.Ref()+"="+l.MergeSHA)
	return nil
}

func problems(r land.Row) string {
	var s []string
	for _, p := range r.Problems {
		s = append(s, p.What+" ("+p.Fix+")")
	}
	return strings.Join(s, "; ")
}

// Three PRs land in the order given, each at its tested head, and each
// landed tree is the tree the gate built.
func TestLandInOrderAndProve(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || cl.Blocked() || len(cl.Moved()) != 0 {
		t.Fatalf("preflight: %+v %v", cl, err)
	}
	for _, r := range cl.Rows {
		if r.Method != land.MethodMerge {
			t.Errorf("%s: method %s, want the first the repository allows", r.Member.Ref(), r.Method)
		}
	}
	j := &journal{}
	out, err := land.Land(ctx, w.c, cl, j)
	if err != nil || out.Halted != nil || len(out.Landed) != 3 || !out.AsTested() {
		t.Fatalf("land: %+v %v", out, err)
	}
	for i, l := range out.Landed {
		full := landRepos[i]
		pr := w.srv.PR(full, l.Row.Member.Number)
		if !pr.Merged || pr.MergeCommitSHA != l.MergeSHA || !l.Proof.Checked || !l.Proof.Same {
			t.Errorf("%s: %+v, PR %+v", full, l, pr)
		}
		if tip, _ := gitfixture.Git(w.srv.RepoDir(full), "rev-parse", "refs/heads/main"); tip != l.MergeSHA {
			t.Errorf("%s main at %s, merged as %s", full, tip, l.MergeSHA)
		}
	}
	if strings.Join(j.merging, ",") != "acme/core#1,acme/lib#1,acme/app#1" || len(j.merged) != 3 {
		t.Errorf("journal: merging %v, merged %v", j.merging, j.merged)
	}
}

// The preflight names every blocked PR and why, and merges nothing.
func TestPreflightNamesEveryBlockedPR(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	if err := w.srv.SetBranchRules("acme/lib", "main", githubtest.BranchRules{RequiredApprovals: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.SetBranchRules("acme/app", "main", githubtest.BranchRules{MergeQueue: true, LinearHistory: true}); err != nil {
		t.Fatal(err)
	}
	w.members[2].Method = land.MethodMerge
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || !cl.Blocked() {
		t.Fatalf("preflight: %+v %v", cl, err)
	}
	if p := problems(cl.Rows[0]); p != "" {
		t.Errorf("core has problems: %s", p)
	}
	if p := problems(cl.Rows[1]); !strings.Contains(p, "needs 1 approving review and has 0") {
		t.Errorf("lib: %s", p)
	}
	if p := problems(cl.Rows[2]); !strings.Contains(p, "requires its merge queue") || !strings.Contains(p, "linear history") {
		t.Errorf("app: %s", p)
	}
	if _, err := land.Land(ctx, w.c, cl, &journal{}); err == nil {
		t.Error("a blocked checklist was landed")
	}
	for _, full := range landRepos {
		if w.srv.PR(full, 1).Merged {
			t.Errorf("%s merged", full)
		}
	}
	// Someone who cannot write to every repository cannot land it.
	w.srv.SetPermission("acme/app", "alice", "read")
	cl, err = land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || len(cl.Problems) != 1 || !strings.Contains(cl.Problems[0].What, "alice has read permission on acme/app") {
		t.Errorf("read-only on one member: %+v %v", cl.Problems, err)
	}
}

// A head pushed after the tested run is refused; a base that moved is
// reported to be tested again, not refused.
func TestPreflightHeadAndBaseMoved(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	if _, err := w.srv.Commit("acme/core", "change", map[string]string{"LATE": "untested\n"}, "late push"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.Commit("acme/lib", "main", map[string]string{"OTHER": "someone else landed\n"}, "moved"); err != nil {
		t.Fatal(err)
	}
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil {
		t.Fatal(err)
	}
	if p := problems(cl.Rows[0]); !strings.Contains(p, "head moved to") {
		t.Errorf("core: %s", p)
	}
	if moved := cl.Moved(); len(moved) != 1 || moved[0].Member.Repo != "acme/lib" || len(moved[0].Problems) != 0 {
		t.Errorf("moved: %+v", moved)
	}
	// Where protection requires branches up to date, a PR behind its base
	// is named before anything merges, not refused halfway.
	if err := w.srv.SetBranchRules("acme/lib", "main", githubtest.BranchRules{UpToDate: true}); err != nil {
		t.Fatal(err)
	}
	cl, err = land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil {
		t.Fatal(err)
	}
	if p := problems(cl.Rows[1]); !strings.Contains(p, "its branch is behind main") {
		t.Errorf("lib behind its base: %s", p)
	}
	if _, err := w.c.Merge(ctx, "acme/lib", 1, w.members[1].Head, land.MethodMerge, ""); err == nil || !strings.Contains(err.Error(), "out of date") {
		t.Errorf("merging a PR behind its base: %v", err)
	}
}

// GitHub merges and answers 502: the member counts as merged, once, and
// the sequence goes on.
func TestLandMergedBehindABadGateway(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || cl.Blocked() {
		t.Fatalf("preflight: %+v %v", cl, err)
	}
	// Every retry of the client is answered 502 too, after the work.
	w.srv.Fault(githubtest.Fault{Method: "PUT", Path: "/repos/acme/lib/pulls/", Status: http.StatusBadGateway, After: true, Count: -1})
	out, err := land.Land(ctx, w.c, cl, &journal{})
	w.srv.ClearFaults()
	if err != nil || out.Halted != nil || len(out.Landed) != 3 || !out.AsTested() {
		t.Fatalf("land: %+v %v", out, err)
	}
	if n, _ := gitfixture.Git(w.srv.RepoDir("acme/lib"), "rev-list", "--count", "--merges", "main"); n != "1" {
		t.Errorf("%s merge commits on lib's main, want 1", n)
	}
}

// A conflict on the second merge stops the sequence: the first stays
// merged and the rest are left. Once fixed and tested again, landing
// again skips what merged and lands the rest.
func TestLandHaltsThenResumes(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || cl.Blocked() {
		t.Fatalf("preflight: %+v %v", cl, err)
	}
	// Between the preflight and the merge, lib's main takes a conflicting
	// change.
	if _, err := w.srv.Commit("acme/lib", "main", map[string]string{"CHANGE": "conflicts\n"}, "conflict"); err != nil {
		t.Fatal(err)
	}
	out, err := land.Land(ctx, w.c, cl, &journal{})
	if err != nil || out.Halted == nil || out.Halted.Row.Member.Repo != "acme/lib" || len(out.Landed) != 1 || len(out.Left) != 2 {
		t.Fatalf("land: %+v %v", out, err)
	}
	if !w.srv.PR("acme/core", 1).Merged || w.srv.PR("acme/lib", 1).Merged || w.srv.PR("acme/app", 1).Merged {
		t.Fatal("the halt left another state than core merged and the rest open")
	}
	// The author merges main into the branch, resolving it; the gate
	// tests again.
	if _, err := w.srv.Commit("acme/lib", "change", map[string]string{"CHANGE": "conflicts\n"}, "resolve"); err != nil {
		t.Fatal(err)
	}
	w.members[1] = w.tested(t, "acme/lib", 1)
	j := &journal{}
	cl, err = land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || cl.Blocked() || !cl.Rows[0].Merged {
		t.Fatalf("resume preflight: %+v %v", cl, err)
	}
	out, err = land.Land(ctx, w.c, cl, j)
	if err != nil || out.Halted != nil || len(out.Landed) != 3 || !out.Landed[0].Before || out.Landed[1].Before {
		t.Fatalf("resume: %+v %v", out, err)
	}
	if strings.Join(j.merging, ",") != "acme/lib#1,acme/app#1" {
		t.Errorf("resume merged %v, want lib and app only", j.merging)
	}
}

// What landing adds beyond the merges themselves, for a five-PR
// changeset: the preflight's reads, the lookups and the proofs. The
// baseline merges the same five PRs with nothing else. GitHub's
// mergeability is computed on the first read here (no waits), so the
// time is the calls' own.
//
//	go test ./internal/gh -run XXX -bench Land -benchtime 20x
func BenchmarkLand(b *testing.B) {
	repos := []string{"acme/a", "acme/b", "acme/c", "acme/d", "acme/e"}
	for _, mode := range []string{"merges-alone", "landing"} {
		b.Run(mode, func(b *testing.B) {
			calls := 0
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				w := newLandWorld(b, repos...)
				w.srv.ResetStats()
				ctx := context.Background()
				b.StartTimer()
				if mode == "merges-alone" {
					for _, m := range w.members {
						if _, err := w.c.Merge(ctx, m.Repo, m.Number, m.Head, land.MethodMerge, ""); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
					if err != nil || cl.Blocked() {
						b.Fatalf("%+v %v", cl, err)
					}
					out, err := land.Land(ctx, w.c, cl, &journal{})
					if err != nil || out.Halted != nil || !out.AsTested() {
						b.Fatalf("%+v %v", out, err)
					}
				}
				b.StopTimer()
				calls += w.srv.Stats().Requests
			}
			b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
		})
	}
}

// A PR that changes a workflow cannot be merged by an App without the
// workflows permission: the preflight names it, before anything merges;
// with the permission it lands.
func TestPreflightNamesAWorkflowChangeTheAppMayNotMerge(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	if _, err := w.srv.Commit("acme/app", "change", map[string]string{".github/workflows/ci.yml": "on: push\n"}, "a workflow"); err != nil {
		t.Fatal(err)
	}
	w.members[2] = w.tested(t, "acme/app", 1)
	key, pemKey := rsaKey(t)
	w.srv.AddApp(77, "workspace-bot", &key.PublicKey)
	for _, grant := range []bool{false, true} {
		w.srv.AddInstallation(githubtest.Installation{ID: 9, AppID: 77, Account: "acme", Workflows: grant})
		f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), AppID: 77, AppPrivateKey: pemKey})
		if err != nil {
			t.Fatal(err)
		}
		c := Routed(f.ForRepo)
		opts := noWait
		opts.MayChangeWorkflows = f.MayChangeWorkflows
		cl, err := land.Check(ctx, c, "", w.members, opts)
		if err != nil {
			t.Fatal(err)
		}
		p := problems(cl.Rows[2])
		if !grant {
			if !strings.Contains(p, "it changes .github/workflows/ci.yml, and the GitHub App may not change workflows") || problems(cl.Rows[0]) != "" {
				t.Errorf("without the permission: app %q, core %q", p, problems(cl.Rows[0]))
			}
			// What GitHub would answer the merge.
			if _, err := c.Merge(ctx, "acme/app", 1, w.members[2].Head, land.MethodMerge, ""); err == nil || !strings.Contains(err.Error(), "without `workflows` permission") {
				t.Errorf("the emulator merged a workflow change without the permission: %v", err)
			}
			continue
		}
		if cl.Blocked() {
			t.Fatalf("with the permission: %+v", cl)
		}
		if out, err := land.Land(ctx, c, cl, &journal{}); err != nil || out.Halted != nil || len(out.Landed) != 3 {
			t.Fatalf("land with the permission: %+v %v", out, err)
		}
	}
}

// The base moved between the preflight and the merge. Where GitHub does
// not hold the tested tree, the proof still names what differs: what
// changed on the base since the tested one.
func TestProofNamesWhatTheMovedBaseBrought(t *testing.T) {
	w := newLandWorld(t)
	ctx := t.Context()
	cl, err := land.Check(ctx, w.c, "alice", w.members, noWait)
	if err != nil || cl.Blocked() {
		t.Fatalf("preflight: %+v %v", cl, err)
	}
	moved, err := w.srv.Commit("acme/core", "main", map[string]string{"RACED": "meanwhile\n"}, "meanwhile")
	if err != nil {
		t.Fatal(err)
	}
	cl.Rows[0].Member.TestedTree = strings.Repeat("ab", 20) // made in a build root, unknown to GitHub
	out, err := land.Land(ctx, w.c, cl, &journal{})
	if err != nil || out.Halted != nil || out.AsTested() {
		t.Fatalf("land: %+v %v", out, err)
	}
	p := out.Landed[0].Proof
	if p.Same || !p.Checked || strings.Join(p.Paths, ",") != "RACED" || p.BaseMovedTo != moved {
		t.Errorf("proof of core: %+v, want RACED from the base moved to %s", p, moved)
	}
}
