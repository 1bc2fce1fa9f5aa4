package changeset

import (
	"reflect"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	pr := func(repo string, n int, sha string) *PR { return &PR{Repo: repo, Number: n, HeadSHA: sha} }
	a := &Changeset{Members: []Member{{PR: pr("o/a", 1, "a1"), Sibling: "a"}, {PR: pr("o/b", 2, "b1"), Sibling: "b"}}}
	b := &Changeset{Members: []Member{{PR: pr("o/b", 2, "b1"), Sibling: "b"}, {PR: pr("o/c", 3, "c1"), Sibling: "c"}}}
	got, err := Merge([]*Changeset{a, b})
	if err != nil {
		t.Fatal(err)
	}
	key, runID := Identity(got.Members)
	if len(got.Members) != 3 || got.Key != "o/a#1,o/b#2,o/c#3" || got.Key != key || got.RunID != runID {
		t.Fatalf("merged %+v", got)
	}
	c := &Changeset{Members: []Member{{PR: pr("o/b", 9, "b9"), Sibling: "b"}}}
	if _, err := Merge([]*Changeset{a, c}); err == nil || !strings.Contains(err.Error(), "sibling b to both o/b#2 and o/b#9") {
		t.Fatalf("conflicting changesets: %v", err)
	}
}

func TestMergeKeepsTrustAndExclusions(t *testing.T) {
	pr := func(repo string, n int) *PR { return &PR{Repo: repo, Number: n, HeadSHA: "sha"} }
	// From a maintainer's PR the outsider's o/c#3 is left out; from another
	// start it is a member (a maintainer linked it), so the merge has it.
	a := &Changeset{
		Members: []Member{{PR: pr("o/a", 1), Sibling: "a", Trusted: true}},
		Excluded: []Exclusion{
			{PR: Ref{"o/c", 3}, Links: []Link{LinkDependsOn(Ref{"o/a", 1})}, Reason: ExcludedUntrustedAuthor},
			{PR: Ref{"o/d", 4}, Links: []Link{LinkDependsOn(Ref{"o/a", 1})}, Reason: ExcludedUntrustedAuthor},
		},
	}
	b := &Changeset{
		Members:  []Member{{PR: pr("o/c", 3), Sibling: "c"}, {PR: pr("o/b", 2), Sibling: "b", Trusted: true}},
		Excluded: []Exclusion{{PR: Ref{"o/d", 4}, Links: []Link{LinkDependsOnIn(Ref{"o/c", 3})}, Reason: ExcludedUntrustedLink}},
	}
	got, err := Merge([]*Changeset{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != "o/a#1,o/b#2,o/c#3" || got.Members[2].Trusted || !got.Members[0].Trusted || !got.Members[1].Trusted {
		t.Errorf("members %q %+v", got.Key, got.Members)
	}
	want := []Exclusion{{PR: Ref{"o/d", 4}, Links: []Link{LinkDependsOnIn(Ref{"o/c", 3}), LinkDependsOn(Ref{"o/a", 1})}, Reason: ExcludedUntrustedAuthor}}
	if !reflect.DeepEqual(got.Excluded, want) {
		t.Errorf("excluded %+v, want %+v", got.Excluded, want)
	}
}
