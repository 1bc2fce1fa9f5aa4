package changeset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func resolve(t *testing.T, f *fakeGitHub, linkByBranch bool, start string, opts Options) (*Changeset, error) {
	t.Helper()
	ref, err := ParseRef(start, "o")
	if err != nil {
		t.Fatal(err)
	}
	return Resolve(context.Background(), f, testCfg(t, linkByBranch), ref, opts)
}

func mustResolve(t *testing.T, f *fakeGitHub, linkByBranch bool, start string) *Changeset {
	t.Helper()
	cs, err := resolve(t, f, linkByBranch, start, Options{})
	if err != nil {
		t.Fatalf("Resolve(%s): %v", start, err)
	}
	return cs
}

// links renders members as "ref[sibling]: link; link".
func links(cs *Changeset) []string {
	var out []string
	for _, m := range cs.Members {
		out = append(out, fmt.Sprintf("%s[%s]: %s", m.PR.Ref(), m.Sibling, strings.Join(LinkWords(m.Links), "; ")))
	}
	return out
}

func TestResolveDependsOnBothDirections(t *testing.T) {
	f := newFake(pr("a", 1, "feat", "Depends-On: o/b#2"), pr("b", 2, "other", "no links"), pr("b", 5, "unrelated", ""))
	fromA := mustResolve(t, f, false, "o/a#1")
	want := []string{"o/a#1[a]: start; depends on o/b#2", "o/b#2[b]: Depends-On in o/a#1"}
	if got := links(fromA); !reflect.DeepEqual(got, want) {
		t.Errorf("from a#1: %q, want %q", got, want)
	}
	if f.lists != 4 || f.gets != 0 {
		t.Errorf("lists=%d gets=%d, want every repository listed once and no reads", f.lists, f.gets)
	}
	fromB := mustResolve(t, f, false, "o/b#2")
	want = []string{"o/a#1[a]: depends on o/b#2", "o/b#2[b]: start; Depends-On in o/a#1"}
	if got := links(fromB); !reflect.DeepEqual(got, want) {
		t.Errorf("from b#2 (reverse): %q, want %q", got, want)
	}
	if fromA.Key != "o/a#1,o/b#2" || fromB.Key != fromA.Key || fromB.RunID != fromA.RunID || len(fromA.RunID) != 12 {
		t.Errorf("identity differs by start: %q %q / %q %q", fromA.Key, fromA.RunID, fromB.Key, fromB.RunID)
	}
	if fromA.Members[1].PR.HeadSHA != "b2-sha" {
		t.Errorf("members not pinned to head SHAs: %+v", fromA.Members[1].PR)
	}
	f.prs["o/b#2"].HeadSHA = "pushed"
	again := mustResolve(t, f, false, "o/a#1")
	if again.Key != fromA.Key || again.RunID == fromA.RunID {
		t.Errorf("after a push: key %q run %q; want same key, new run id (was %q)", again.Key, again.RunID, fromA.RunID)
	}
}

func TestResolveShortAndURLFormsAndCase(t *testing.T) {
	f := newFake(
		pr("a", 1, "f", "Depends-On: b#2\nDepends-On: https://github.com/O/C/pull/3"),
		pr("b", 2, "g", ""),
		pr("c", 3, "h", ""))
	f.prs["o/c#3"].BaseRef = "trunk"
	cs := mustResolve(t, f, false, "O/A#1")
	if cs.Key != "o/a#1,o/b#2,o/c#3" {
		t.Errorf("key = %q", cs.Key)
	}
}

func TestResolveByBranch(t *testing.T) {
	c3 := pr("c", 3, "feat", "")
	c3.BaseRef = "trunk"
	f := newFake(pr("a", 1, "feat", ""), pr("b", 2, "other", ""), c3)
	cs := mustResolve(t, f, true, "o/c#3")
	want := []string{"o/a#1[a]: same branch as o/c#3", "o/c#3[c]: start; same branch as o/a#1"}
	if got := links(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
	if cs := mustResolve(t, f, false, "o/c#3"); len(cs.Members) != 1 {
		t.Errorf("link_by_branch off still linked: %q", links(cs))
	}
}

func TestResolveBranchNeverDefault(t *testing.T) {
	for _, branch := range []string{"main", "master", "develop", "Develop", "trunk"} {
		t.Run(branch, func(t *testing.T) {
			f := newFake(pr("a", 1, branch, ""), pr("b", 2, branch, ""))
			if cs := mustResolve(t, f, true, "o/a#1"); len(cs.Members) != 1 {
				t.Errorf("branch %q linked PRs: %q", branch, links(cs))
			}
		})
	}
	// The same branch name pushed by two different forks links nothing.
	x, y := pr("a", 1, "patch-1", ""), pr("b", 2, "patch-1", "")
	x.HeadRepo, x.Fork = "alice/a", true
	y.HeadRepo, y.Fork = "bob/b", true
	if cs := mustResolve(t, newFake(x, y), true, "o/a#1"); len(cs.Members) != 1 {
		t.Errorf("strangers' forks linked: %q", links(cs))
	}
}

func TestResolveTransitiveMixtureAndWorkspaceRepo(t *testing.T) {
	c3 := pr("c", 3, "x", "")
	c3.BaseRef = "trunk"
	f := newFake(
		pr("a", 1, "a-branch", "Depends-On: o/b#2"),
		pr("b", 2, "x", ""),
		c3,
		pr("ws", 4, "ws-branch", "Depends-On: c#3"),
	)
	cs := mustResolve(t, f, true, "o/a#1")
	want := []string{
		"o/a#1[a]: start; depends on o/b#2",
		"o/b#2[b]: Depends-On in o/a#1; same branch as o/c#3",
		"o/c#3[c]: Depends-On in o/ws#4; same branch as o/b#2",
		"o/ws#4[ws]: depends on o/c#3",
	}
	if got := links(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("links =\n%q\nwant\n%q", got, want)
	}
}

func TestResolveCycle(t *testing.T) {
	f := newFake(pr("a", 1, "p", "Depends-On: o/b#2"), pr("b", 2, "q", "Depends-On: o/a#1"))
	cs := mustResolve(t, f, false, "o/b#2")
	want := []string{"o/a#1[a]: Depends-On in o/b#2; depends on o/b#2", "o/b#2[b]: start; Depends-On in o/a#1; depends on o/a#1"}
	if got := links(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
}

// resolveErr resolves and returns the single *Error of the given kind.
func resolveErr(t *testing.T, f *fakeGitHub, start string, kind Kind, opts Options) *Error {
	t.Helper()
	_, err := resolve(t, f, true, start, opts)
	if err == nil {
		t.Fatalf("Resolve(%s) succeeded, want a %s error", start, kind)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != kind {
		t.Fatalf("Resolve(%s) = %v, want a %s error", start, err, kind)
	}
	return ce
}

func wantIn(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", "Depends-On: o/b#99"))
		e := resolveErr(t, f, "o/a#1", KindNotFound, Options{})
		wantIn(t, e, "o/b#99 (Depends-On in o/a#1)", "give the token read access to o/b")
		if !errors.Is(e, ErrNotFound) {
			t.Error("the GitHub error is not wrapped")
		}
	})
	t.Run("start not found", func(t *testing.T) {
		e := resolveErr(t, newFake(), "o/a#7", KindNotFound, Options{})
		wantIn(t, e, "o/a#7 (start)")
	})
	t.Run("forbidden", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", "Depends-On: o/b#2"))
		f.getErr["o/b#2"] = fmt.Errorf("GET: %w", ErrForbidden)
		e := resolveErr(t, f, "o/a#1", KindNotFound, Options{})
		wantIn(t, e, "o/b#2", "may not read it", "read access to o/b")
	})
	t.Run("closed", func(t *testing.T) {
		b := pr("b", 2, "f", "")
		b.State = "closed"
		e := resolveErr(t, newFake(pr("a", 1, "f", "Depends-On: o/b#2"), b), "o/a#1", KindClosed, Options{})
		wantIn(t, e, "o/b#2 (Depends-On in o/a#1): is closed", "remove the Depends-On line naming it from o/a#1")
	})
	t.Run("start closed", func(t *testing.T) {
		a := pr("a", 1, "f", "")
		a.State = "closed"
		e := resolveErr(t, newFake(a), "o/a#1", KindClosed, Options{})
		wantIn(t, e, "reopen it")
	})
	t.Run("merged", func(t *testing.T) {
		b := pr("b", 2, "f", "")
		b.State, b.Merged = "closed", true
		e := resolveErr(t, newFake(pr("a", 1, "f", "Depends-On: o/b#2"), b), "o/a#1", KindMerged, Options{})
		wantIn(t, e, "already merged", "remove the Depends-On line naming it from o/a#1")
	})
	t.Run("not in workspace", func(t *testing.T) {
		e := resolveErr(t, newFake(pr("a", 1, "f", "Depends-On: other/lib#3")), "o/a#1", KindNotInWorkspace, Options{})
		wantIn(t, e, "other/lib#3 (Depends-On in o/a#1)", "not a repository of workspace ws", "add other/lib there as a sibling")
	})
	t.Run("start not in workspace", func(t *testing.T) {
		e := resolveErr(t, newFake(), "x/y#1", KindNotInWorkspace, Options{})
		wantIn(t, e, "x/y#1", "not a repository of workspace ws")
	})
	t.Run("two PRs for one sibling", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", "Depends-On: o/b#2 o/b#3"), pr("b", 2, "g", ""), pr("b", 3, "h", ""))
		e := resolveErr(t, f, "o/a#1", KindDuplicate, Options{})
		wantIn(t, e, "o/b#2 and o/b#3", "sibling b", "Depends-On in o/a#1")
		if e.PR != (Ref{"o/b", 2}) || e.Other != (Ref{"o/b", 3}) {
			t.Errorf("PR %v Other %v", e.PR, e.Other)
		}
	})
	t.Run("wrong base", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", "Depends-On: o/c#3"), pr("c", 3, "g", ""))
		e := resolveErr(t, f, "o/a#1", KindWrongBase, Options{})
		wantIn(t, e, `targets branch "main"`, `sibling c is built from "trunk"`, "change the PR's base to trunk")
	})
	t.Run("too many", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", "Depends-On: o/b#2"), pr("b", 2, "g", "Depends-On: o/ws#3"), pr("ws", 3, "h", ""))
		e := resolveErr(t, f, "o/a#1", KindTooMany, Options{MaxMembers: 2})
		wantIn(t, e, "more than 2 pull requests")
		if _, err := resolve(t, f, true, "o/a#1", Options{MaxMembers: 3}); err != nil {
			t.Errorf("3 members within a bound of 3: %v", err)
		}
	})
	t.Run("bad Depends-On word", func(t *testing.T) {
		e := resolveErr(t, newFake(pr("a", 1, "f", "Depends-On: the new API")), "o/a#1", KindBadRef, Options{})
		wantIn(t, e, `"the"`, "owner/repo#N")
	})
	t.Run("sibling not readable", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", ""))
		f.listErr["o/c"] = fmt.Errorf("GET /repos/o/c/pulls: 404: %w", ErrNotFound)
		e := resolveErr(t, f, "o/a#1", KindNoAccess, Options{})
		wantIn(t, e, "o/c: cannot list", "give the token read access to o/c")
	})
	t.Run("outage is not a resolution error", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", ""))
		outage := errors.New("502 Bad Gateway")
		f.listErr["o/b"] = outage
		_, err := resolve(t, f, true, "o/a#1", Options{})
		var ce *Error
		if !errors.Is(err, outage) || errors.As(err, &ce) {
			t.Errorf("err = %v, want the outage and no *Error", err)
		}
		wantIn(t, err, "o/b")
	})
	t.Run("an error that names its repository is not named again", func(t *testing.T) {
		f := newFake(pr("a", 1, "f", ""))
		f.listErr["o/b"] = errors.New("listing open pull requests of o/b: 502 Bad Gateway")
		_, err := resolve(t, f, true, "o/a#1", Options{})
		if n := strings.Count(err.Error(), "o/b"); n != 1 {
			t.Errorf("err = %q names o/b %d times, want once", err, n)
		}
	})
	t.Run("all problems at once", func(t *testing.T) {
		b := pr("b", 2, "g", "")
		b.State = "closed"
		f := newFake(pr("a", 1, "f", "Depends-On: o/b#2 o/ws#8 far/away#1"), b)
		_, err := resolve(t, f, true, "o/a#1", Options{})
		wantIn(t, err, "o/b#2", "o/ws#8", "far/away#1")
		if n := strings.Count(err.Error(), "\n"); n != 2 {
			t.Errorf("want 3 problems, one a line:\n%v", err)
		}
	})
}
