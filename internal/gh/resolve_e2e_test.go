package gh

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/workspace"
)

// workspaceOf creates o/ws and siblings o/s1..o/sN on the emulator and
// returns their config; s3 builds from "trunk" when n >= 3.
func workspaceOf(t testing.TB, w *world, n int, linkByBranch bool) *workspace.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[workspace]\nname = \"ws\"\nrepo = %q\n\n[workspace.bot]\nlink_by_branch = %v\n", w.srv.GitURL("o/ws"), linkByBranch)
	w.repo(t, "o/ws", githubtest.RepoOptions{})
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("s%d", i)
		branch := "main"
		if i == 3 {
			branch = "trunk"
		}
		w.repo(t, "o/"+name, githubtest.RepoOptions{DefaultBranch: branch})
		fmt.Fprintf(&b, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = %q\nlayer = \"foundation\"\nbranch = %q\n", name, name, w.srv.GitURL("o/"+name), branch)
	}
	cfg, _, err := workspace.Parse("wrknv.toml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func resolveWith(t testing.TB, c *Client, cfg *workspace.Config, start string) (*changeset.Changeset, error) {
	t.Helper()
	ref, err := changeset.ParseRef(start, "o")
	if err != nil {
		t.Fatal(err)
	}
	return changeset.Resolve(context.Background(), c, cfg, ref, changeset.Options{})
}

func mustResolve(t testing.TB, c *Client, cfg *workspace.Config, start string) *changeset.Changeset {
	t.Helper()
	cs, err := resolveWith(t, c, cfg, start)
	if err != nil {
		t.Fatalf("resolve %s: %v", start, err)
	}
	return cs
}

func memberLinks(cs *changeset.Changeset) []string {
	var out []string
	for _, m := range cs.Members {
		out = append(out, fmt.Sprintf("%s[%s]: %s", m.PR.Ref(), m.Sibling, strings.Join(changeset.LinkWords(m.Links), "; ")))
	}
	return out
}

func sameLinks(t *testing.T, cs *changeset.Changeset, want ...string) {
	t.Helper()
	if got := memberLinks(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("members =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestResolveTwoSiblingsByDependsOn(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 2, true)
	c := w.client(t, fullToken, "")
	b := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "api-change"})
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "use-api", Body: fmt.Sprintf("Uses the new API.\n\nDepends-On: %s/o/s2/pull/%d\n", "https://github.com", b)})
	for _, start := range []string{fmt.Sprintf("o/s1#%d", a), fmt.Sprintf("s2#%d", b)} {
		cs := mustResolve(t, c, cfg, start)
		if len(cs.Members) != 2 || cs.Key != fmt.Sprintf("o/s1#%d,o/s2#%d", a, b) {
			t.Fatalf("from %s: %q", start, memberLinks(cs))
		}
		for _, m := range cs.Members {
			if m.PR.HeadSHA != w.srv.PR(m.PR.Repo, m.PR.Number).HeadSHA {
				t.Errorf("%s not pinned to its head", m.PR.Ref())
			}
		}
	}
}

func TestResolveThreeSiblingsByBranchAndMixtures(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 4, true)
	c := w.client(t, fullToken, "")
	// s1, s2 and s3 share a branch; s4 depends on s3; the workspace repo
	// depends on s4. Starting anywhere finds all five.
	p1 := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "feature-x"})
	p2 := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "feature-x"})
	p3 := w.pr(t, githubtest.NewPR{Repo: "o/s3", Head: "feature-x", Base: "trunk"})
	p4 := w.pr(t, githubtest.NewPR{Repo: "o/s4", Head: "other", Body: fmt.Sprintf("Depends-On: s3#%d", p3)})
	pw := w.pr(t, githubtest.NewPR{Repo: "o/ws", Head: "ws-side", Body: fmt.Sprintf("depends-on: o/s4#%d", p4)})
	// Noise: open PRs that must not join.
	w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "unrelated"})
	w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "trunk"}) // s3's default branch never links
	w.pr(t, githubtest.NewPR{Repo: "o/s4", Head: "trunk"})

	want := []string{
		fmt.Sprintf("o/s1#%d[s1]: same branch as o/s2#%d; same branch as o/s3#%d", p1, p2, p3),
		fmt.Sprintf("o/s2#%d[s2]: same branch as o/s1#%d; same branch as o/s3#%d", p2, p1, p3),
		fmt.Sprintf("o/s3#%d[s3]: Depends-On in o/s4#%d; same branch as o/s1#%d; same branch as o/s2#%d", p3, p4, p1, p2),
		fmt.Sprintf("o/s4#%d[s4]: Depends-On in o/ws#%d; depends on o/s3#%d", p4, pw, p3),
		fmt.Sprintf("o/ws#%d[ws]: depends on o/s4#%d", pw, p4),
	}
	var key string
	for i, start := range []string{fmt.Sprintf("o/s1#%d", p1), fmt.Sprintf("o/ws#%d", pw), fmt.Sprintf("o/s4#%d", p4)} {
		cs := mustResolve(t, c, cfg, start)
		startRef, _ := changeset.ParseRef(start, "o")
		exp := make([]string, len(want))
		for j, s := range want {
			exp[j] = s
			if strings.HasPrefix(s, startRef.String()+"[") {
				_, rest, _ := strings.Cut(s, ": ")
				exp[j] = strings.TrimSuffix(s, rest) + "start; " + rest
			}
		}
		sameLinks(t, cs, exp...)
		if i > 0 && cs.Key != key {
			t.Errorf("key from %s = %q, want %q", start, cs.Key, key)
		}
		key = cs.Key
	}
}

func TestResolveCycleOnEmulator(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 3, false)
	c := w.client(t, fullToken, "")
	// s1 -> s2 -> s3 -> s1 (numbers are per repository, all 1).
	w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "a", Body: "Depends-On: o/s2#1"})
	w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "b", Body: "Depends-On: o/s3#1"})
	w.pr(t, githubtest.NewPR{Repo: "o/s3", Head: "c", Base: "trunk", Body: "Depends-On: o/s1#1"})
	cs := mustResolve(t, c, cfg, "o/s2#1")
	sameLinks(t, cs,
		"o/s1#1[s1]: Depends-On in o/s3#1; depends on o/s2#1",
		"o/s2#1[s2]: start; Depends-On in o/s1#1; depends on o/s3#1",
		"o/s3#1[s3]: Depends-On in o/s2#1; depends on o/s1#1")
}

func TestResolveBodyEditedBetweenResolutions(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 2, false)
	c := w.client(t, fullToken, t.TempDir()) // cached: the edit must still be seen
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "a", Body: "Nothing yet."})
	b := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "b"})
	start := fmt.Sprintf("o/s1#%d", a)
	first := mustResolve(t, c, cfg, start)
	if len(first.Members) != 1 {
		t.Fatalf("before the edit: %q", memberLinks(first))
	}
	if err := w.srv.SetPRBody("o/s1", a, changeset.SetDependsOn("Nothing yet.", []changeset.Ref{{Repo: "o/s2", Number: b}})); err != nil {
		t.Fatal(err)
	}
	second := mustResolve(t, c, cfg, start)
	if len(second.Members) != 2 || second.Key == first.Key || second.RunID == first.RunID {
		t.Errorf("after the edit: %q (key %q)", memberLinks(second), second.Key)
	}
	if err := w.srv.SetPRBody("o/s1", a, changeset.SetDependsOn(w.srv.PR("o/s1", a).Body, nil)); err != nil {
		t.Fatal(err)
	}
	if third := mustResolve(t, c, cfg, start); third.Key != first.Key || third.RunID != first.RunID {
		t.Errorf("after unlinking: key %q run %q, want %q %q", third.Key, third.RunID, first.Key, first.RunID)
	}
}

func TestResolveForkPRs(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 2, true)
	c := w.client(t, fullToken, "")
	w.repo(t, "alice/s1", githubtest.RepoOptions{ForkOf: "o/s1"})
	w.repo(t, "alice/s2", githubtest.RepoOptions{ForkOf: "o/s2"})
	w.repo(t, "bob/s2", githubtest.RepoOptions{ForkOf: "o/s2"})
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "speedup", HeadRepo: "alice/s1", User: "alice", AuthorAssociation: "CONTRIBUTOR"})
	b := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "speedup", HeadRepo: "alice/s2", User: "alice", AuthorAssociation: "CONTRIBUTOR"})
	w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "speedup", HeadRepo: "bob/s2", User: "bob"}) // a stranger's branch of the same name
	cs := mustResolve(t, c, cfg, fmt.Sprintf("o/s1#%d", a))
	sameLinks(t, cs,
		fmt.Sprintf("o/s1#%d[s1]: start; same branch as o/s2#%d", a, b),
		fmt.Sprintf("o/s2#%d[s2]: same branch as o/s1#%d", b, a))
	for _, m := range cs.Members {
		if !m.PR.Fork || !strings.HasPrefix(m.PR.HeadRepo, "alice/") || !strings.Contains(m.PR.HeadCloneURL, "alice/") {
			t.Errorf("fork member = %+v", m.PR)
		}
	}
}

// wantKind checks that err holds a *changeset.Error of kind whose text has
// every part.
func wantKind(t *testing.T, err error, kind changeset.Kind, parts ...string) {
	t.Helper()
	var ce *changeset.Error
	if !errors.As(err, &ce) || ce.Kind != kind {
		t.Fatalf("err = %v, want kind %s", err, kind)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestResolveValidationErrorsOnEmulator(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 3, true)
	c := w.client(t, fullToken, "")
	w.repo(t, "elsewhere/lib", githubtest.RepoOptions{})
	outside := w.pr(t, githubtest.NewPR{Repo: "elsewhere/lib", Head: "x"})
	closed := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "closed-one"})
	if err := w.srv.ClosePR("o/s2", closed); err != nil {
		t.Fatal(err)
	}
	merged := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "merged-one"})
	if err := w.srv.MergePR("o/s2", merged); err != nil {
		t.Fatal(err)
	}
	d1 := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "dup-1"})
	d2 := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "dup-2"})
	if _, err := w.srv.Commit("o/s3", "release", map[string]string{"r": "r\n"}, "a release branch"); err != nil {
		t.Fatal(err)
	}
	wrongBase := w.pr(t, githubtest.NewPR{Repo: "o/s3", Head: "wrong-base", Base: "release"})

	start := func(body string) string {
		t.Helper()
		n := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: fmt.Sprintf("start-%d", time.Now().UnixNano()), Body: body})
		return fmt.Sprintf("o/s1#%d", n)
	}
	_, err := resolveWith(t, c, cfg, start("Depends-On: o/s2#999"))
	wantKind(t, err, changeset.KindNotFound, "o/s2#999", "Depends-On in o/s1#", "read access to o/s2")
	_, err = resolveWith(t, c, cfg, start(fmt.Sprintf("Depends-On: o/s2#%d", closed)))
	wantKind(t, err, changeset.KindClosed, fmt.Sprintf("o/s2#%d", closed), "is closed", "remove the Depends-On line naming it from o/s1#")
	_, err = resolveWith(t, c, cfg, start(fmt.Sprintf("Depends-On: o/s2#%d", merged)))
	wantKind(t, err, changeset.KindMerged, fmt.Sprintf("o/s2#%d", merged), "already merged")
	_, err = resolveWith(t, c, cfg, start(fmt.Sprintf("Depends-On: elsewhere/lib#%d", outside)))
	wantKind(t, err, changeset.KindNotInWorkspace, "elsewhere/lib", "not a repository of workspace ws")
	_, err = resolveWith(t, c, cfg, fmt.Sprintf("elsewhere/lib#%d", outside))
	wantKind(t, err, changeset.KindNotInWorkspace, "elsewhere/lib")
	_, err = resolveWith(t, c, cfg, start(fmt.Sprintf("Depends-On: o/s2#%d, o/s2#%d", d1, d2)))
	wantKind(t, err, changeset.KindDuplicate, fmt.Sprintf("o/s2#%d and o/s2#%d", d1, d2), "sibling s2")
	_, err = resolveWith(t, c, cfg, start(fmt.Sprintf("Depends-On: o/s3#%d", wrongBase)))
	wantKind(t, err, changeset.KindWrongBase, fmt.Sprintf("o/s3#%d", wrongBase), `"trunk"`)
	ref, _ := changeset.ParseRef(start(fmt.Sprintf("Depends-On: o/s2#%d", d1)), "")
	_, err = changeset.Resolve(context.Background(), c, cfg, ref, changeset.Options{MaxMembers: 1})
	wantKind(t, err, changeset.KindTooMany, "more than 1 pull requests")
	_, err = resolveWith(t, c, cfg, "o/s1#4242")
	wantKind(t, err, changeset.KindNotFound, "o/s1#4242 (start)")
}

func TestResolveTokenLacksAccessToOneSibling(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 3, true)
	w.srv.AddToken("partial", githubtest.Token{Login: "dev", Repos: []string{"o/ws", "o/s1", "o/s3"}})
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "a"})
	_, err := resolveWith(t, w.client(t, "partial", ""), cfg, fmt.Sprintf("o/s1#%d", a))
	wantKind(t, err, changeset.KindNoAccess, "o/s2: cannot list its open pull requests", "give the token read access to o/s2")
	if strings.Contains(err.Error(), "partial") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestResolveSurvivesFaults(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 3, true)
	c := w.client(t, fullToken, t.TempDir())
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "shared"})
	w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "shared"})
	start := fmt.Sprintf("o/s1#%d", a)
	clean := mustResolve(t, c, cfg, start)

	w.srv.Fault(githubtest.Fault{Path: "/repos/o/s2/pulls", Status: 502, Count: 2})
	if cs := mustResolve(t, c, cfg, start); cs.RunID != clean.RunID {
		t.Errorf("after transient 502s: %q", memberLinks(cs))
	}
	w.srv.Fault(githubtest.Fault{Path: "/repos/o/s1/pulls", Secondary: true, RetryAfter: 1})
	began := time.Now()
	if cs := mustResolve(t, c, cfg, start); cs.RunID != clean.RunID {
		t.Errorf("after a secondary rate limit: %q", memberLinks(cs))
	}
	if time.Since(began) < time.Second {
		t.Errorf("Retry-After: 1 was not honoured (resolved in %s)", time.Since(began))
	}

	w.srv.Fault(githubtest.Fault{Path: "/repos/o/s3/pulls", Status: 503, Count: -1})
	_, err := resolveWith(t, c, cfg, start)
	var ce *changeset.Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "o/s3") || !strings.Contains(err.Error(), "503") {
		t.Errorf("persistent 503: err = %v; want a GitHub error naming o/s3 and the status", err)
	}
	w.srv.ClearFaults()

	w.srv.Fault(githubtest.Fault{Path: "/repos/o/s2/pulls", Remaining0: true, RetryAfter: 3600, Count: -1})
	f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), Token: fullToken, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	gc, _ := f.Client()
	_, err = resolveWith(t, New(gc), cfg, start)
	var rl *ghclient.RateLimitError
	if !errors.As(err, &rl) || !strings.Contains(err.Error(), "/repos/o/s2/pulls") || !strings.Contains(err.Error(), "resets at") {
		t.Errorf("exhausted rate limit: err = %v; want a RateLimitError naming the endpoint and the reset", err)
	}
	// The adapter says what kind of failure it is, and when to ask again.
	var lim *gherror.Limit
	if !errors.Is(err, gherror.RateLimited) || !errors.As(err, &lim) || lim.Until.Before(time.Now().Add(30*time.Minute)) || gherror.Final(err) {
		t.Errorf("exhausted rate limit: err = %v, limit %+v; want gherror.RateLimited until the reset, not final", err, lim)
	}
}
