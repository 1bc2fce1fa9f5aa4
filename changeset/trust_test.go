package changeset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// trustLogins trusts the authors named, and counts the questions asked.
type trustLogins struct {
	mu      sync.Mutex
	logins  map[string]bool
	asked   map[string]int
	failFor string // an author whose check fails like a GitHub outage
}

func trusting(logins ...string) *trustLogins {
	t := &trustLogins{logins: map[string]bool{}, asked: map[string]int{}}
	for _, l := range logins {
		t.logins[l] = true
	}
	return t
}

func (t *trustLogins) check(_ context.Context, pr *PR) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.asked[pr.Ref()]++
	if pr.Author == t.failFor {
		return false, errors.New("GET /repos/o/x/collaborators/" + pr.Author + "/permission: 502 Bad Gateway")
	}
	return t.logins[pr.Author], nil
}

// by sets a PR's author; a fork's head lives in the author's fork.
func by(author string, fork bool, p *PR) *PR {
	p.Author = author
	if fork {
		_, name, _ := strings.Cut(p.Repo, "/")
		p.HeadRepo, p.Fork = author+"/"+name, true
	}
	return p
}

func resolveTrusting(t *testing.T, f *fakeGitHub, tr *trustLogins, linkByBranch bool, start string) (*Changeset, error) {
	t.Helper()
	return resolve(t, f, linkByBranch, start, Options{Trusted: tr.check})
}

func excluded(cs *Changeset) []string {
	var out []string
	for _, e := range cs.Excluded {
		out = append(out, fmt.Sprintf("%s: %s (%s)", e.PR, strings.Join(LinkWords(e.Links), "; "), e.Reason))
	}
	return out
}

func trustedOf(cs *Changeset) map[string]bool {
	m := map[string]bool{}
	for _, mem := range cs.Members {
		m[mem.PR.Ref()] = mem.Trusted
	}
	return m
}

// maintainers: a#1 names b#2; both by "maint".
func maintainers() []*PR {
	return []*PR{by("maint", false, pr("a", 1, "feat", "Depends-On: o/b#2")), by("maint", false, pr("b", 2, "feat-b", ""))}
}

func TestUntrustedReverseLinkDoesNotJoin(t *testing.T) {
	clean := mustResolve(t, newFake(maintainers()...), false, "o/a#1")
	// An outsider's fork PR names the maintainer's PR.
	out := by("mallory", true, pr("c", 3, "x", "Depends-On: o/a#1"))
	out.BaseRef = "trunk"
	f := newFake(append(maintainers(), out)...)
	tr := trusting("maint")
	for _, start := range []string{"o/a#1", "o/b#2"} {
		cs, err := resolveTrusting(t, f, tr, false, start)
		if err != nil {
			t.Fatalf("from %s: %v", start, err)
		}
		if cs.Key != "o/a#1,o/b#2" || cs.Key != clean.Key || cs.RunID != clean.RunID {
			t.Errorf("from %s: key %q run %q; want the changeset without the outsider (%q %q)", start, cs.Key, cs.RunID, clean.Key, clean.RunID)
		}
		want := []string{"o/c#3: depends on o/a#1 (author not trusted)"}
		if got := excluded(cs); !reflect.DeepEqual(got, want) {
			t.Errorf("from %s: excluded %q, want %q", start, got, want)
		}
		if got := trustedOf(cs); !got["o/a#1"] || !got["o/b#2"] {
			t.Errorf("from %s: trusted %v", start, got)
		}
		js, err := json.Marshal(cs.Output())
		if want := `"excluded":[{"ref":"o/c#3","links":["depends on o/a#1"],"reason":"author not trusted"}]`; err != nil || !strings.Contains(string(js), want) {
			t.Errorf("from %s: --json output %s lacks %s", start, js, want)
		}
	}
	// The outsider's own changeset holds what it names, and says whose
	// heads need an approval.
	cs, err := resolveTrusting(t, f, tr, false, "o/c#3")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"o/a#1[a]: Depends-On in o/c#3; depends on o/b#2", "o/b#2[b]: Depends-On in o/a#1", "o/c#3[c]: start; depends on o/a#1"}
	if got := links(cs); !reflect.DeepEqual(got, want) || len(cs.Excluded) != 0 {
		t.Errorf("from the outsider: %q excluded %q; want %q", got, excluded(cs), want)
	}
	if got := trustedOf(cs); got["o/c#3"] || !got["o/a#1"] {
		t.Errorf("from the outsider: trusted %v", got)
	}
	for ref, n := range tr.asked {
		if n != 3 { // once in each of the three resolutions
			t.Errorf("trust of %s asked %d times in 3 resolutions", ref, n)
		}
	}
}

func TestUntrustedPRCannotBreakATrustedChangeset(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  *PR
		kind Kind // what the outsider's own changeset fails with
	}{
		{"junk word on its Depends-On line", by("mallory", true, pr("a", 7, "x", "Depends-On: o/a#1 needs-the-new-api")), KindBadRef},
		{"a second PR for a sibling", by("mallory", true, pr("b", 8, "x", "Depends-On: o/a#1")), KindDuplicate},
		{"a PR on another base branch", func() *PR {
			p := by("mallory", true, pr("c", 9, "x", "Depends-On: o/a#1"))
			p.BaseRef = "release"
			return p
		}(), KindWrongBase},
		{"a PR that does not exist", by("mallory", true, pr("ws", 10, "x", "Depends-On: o/a#1 o/ws#99")), KindNotFound},
		{"a repository outside the workspace", by("mallory", true, pr("ws", 11, "x", "Depends-On: o/a#1 far/away#1")), KindNotInWorkspace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(append(maintainers(), tc.out)...)
			tr := trusting("maint")
			for _, start := range []string{"o/a#1", "o/b#2"} {
				cs, err := resolveTrusting(t, f, tr, true, start)
				if err != nil {
					t.Fatalf("from %s: %v; an outsider's PR broke the maintainer's changeset", start, err)
				}
				if cs.Key != "o/a#1,o/b#2" || len(cs.Excluded) != 1 || cs.Excluded[0].PR.String() != tc.out.Ref() {
					t.Errorf("from %s: key %q excluded %q", start, cs.Key, excluded(cs))
				}
			}
			_, err := resolveTrusting(t, f, tr, true, tc.out.Ref())
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind {
				t.Fatalf("the outsider's own changeset: %v, want a %s error", err, tc.kind)
			}
		})
	}
}

func TestUntrustedSameBranchDoesNotJoin(t *testing.T) {
	// A read-only user opens a PR from a branch of the base repository
	// named like the maintainer's: the branch is not a fork, the author is
	// still not trusted.
	ro := by("reader", false, pr("b", 5, "feat", ""))
	f := newFake(by("maint", false, pr("a", 1, "feat", "")), ro)
	cs, err := resolveTrusting(t, f, trusting("maint"), true, "o/a#1")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Key != "o/a#1" || !reflect.DeepEqual(excluded(cs), []string{"o/b#5: same branch as o/a#1 (author not trusted)"}) {
		t.Errorf("key %q excluded %q", cs.Key, excluded(cs))
	}
	// From the reader's PR, the maintainer's joins by branch: it is trusted.
	cs, err = resolveTrusting(t, f, trusting("maint"), true, "o/b#5")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"o/a#1[a]: same branch as o/b#5", "o/b#5[b]: start; same branch as o/a#1"}
	if got := links(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("from the reader: %q, want %q", got, want)
	}
}

func TestTrustedMemberLinksAnUntrustedPR(t *testing.T) {
	// The maintainer names the outsider's PR: it joins, but its own lines
	// (another PR, a junk word, a PR that does not exist) do not count, and
	// cost no GitHub call.
	out := by("mallory", true, pr("b", 2, "x", "Depends-On: o/ws#4 junk o/ws#404 o/a#1"))
	f := newFake(by("maint", false, pr("a", 1, "feat", "Depends-On: o/b#2")), out, by("maint", false, pr("ws", 4, "y", "")))
	tr := trusting("maint")
	cs, err := resolveTrusting(t, f, tr, false, "o/a#1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"o/a#1[a]: start; depends on o/b#2", "o/b#2[b]: Depends-On in o/a#1"}
	if got := links(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("links %q, want %q", got, want)
	}
	if got := trustedOf(cs); !got["o/a#1"] || got["o/b#2"] {
		t.Errorf("trusted %v", got)
	}
	wantEx := []string{
		"o/ws#4: Depends-On in o/b#2 (named only by a PR whose author is not trusted)",
		"o/ws#404: Depends-On in o/b#2 (named only by a PR whose author is not trusted)",
	}
	if got := excluded(cs); !reflect.DeepEqual(got, wantEx) {
		t.Errorf("excluded %q, want %q", got, wantEx)
	}
	// The outsider also names the maintainer's PR (its own reverse link);
	// the maintainer's explicit link wins, so it is not listed as excluded.
	if f.gets != 0 {
		t.Errorf("%d PR reads for refs only an outsider named", f.gets)
	}
}

func TestTrustedReverseLinkJoins(t *testing.T) {
	// Another maintainer's PR names this one: it joins as before.
	f := newFake(by("maint", false, pr("a", 1, "feat", "")), by("other-maint", true, pr("b", 2, "g", "Depends-On: o/a#1")))
	cs, err := resolveTrusting(t, f, trusting("maint", "other-maint"), false, "o/a#1")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Key != "o/a#1,o/b#2" || len(cs.Excluded) != 0 {
		t.Errorf("key %q excluded %q", cs.Key, excluded(cs))
	}
}

func TestManyUntrustedPRsDoNotBoundATrustedChangeset(t *testing.T) {
	prs := maintainers()
	for i := 0; i < 60; i++ {
		prs = append(prs, by(fmt.Sprintf("spam%d", i), true, pr("b", 100+i, "x", "Depends-On: o/a#1")))
	}
	cs, err := resolveTrusting(t, newFake(prs...), trusting("maint"), false, "o/a#1")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Key != "o/a#1,o/b#2" || len(cs.Excluded) != 60 {
		t.Errorf("key %q, %d excluded", cs.Key, len(cs.Excluded))
	}
}

func TestTrustCheckFailureIsAnOutage(t *testing.T) {
	f := newFake(append(maintainers(), by("mallory", true, pr("c", 3, "x", "Depends-On: o/a#1")))...)
	tr := trusting("maint")
	tr.failFor = "mallory"
	_, err := resolveTrusting(t, f, tr, false, "o/a#1")
	var ce *Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "o/c#3") || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v; want the GitHub failure, naming the PR, and no resolution error", err)
	}
}
