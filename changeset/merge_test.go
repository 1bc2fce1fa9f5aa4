package changeset

import (
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
