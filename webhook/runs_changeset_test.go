package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
)

// The bot stores a run's changeset as changeset.Changeset encoded with
// encoding/json; the run page must read every member from it.
func TestRunPageReadsTheBotsChangeset(t *testing.T) {
	cs := changeset.Changeset{
		Key: "o/a#1,o/b#2",
		Members: []changeset.Member{
			{Sibling: "a", PR: &changeset.PR{Repo: "o/a", Number: 1, HeadSHA: "aaaa", BaseRef: "main", URL: "https://x/o/a/pull/1", Title: "A"}},
			{Sibling: "b", PR: &changeset.PR{Repo: "o/b", Number: 2, HeadSHA: "bbbb", BaseRef: "dev"}},
		},
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeChangeset(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []memberView{
		{Repo: "o/a", Number: 1, SHA: "aaaa", Base: "main", URL: "https://x/o/a/pull/1", Sibling: "a", Title: "A"},
		{Repo: "o/b", Number: 2, SHA: "bbbb", Base: "dev", Sibling: "b"},
	}
	if v.Key != cs.Key || len(v.Members) != len(want) {
		t.Fatalf("decoded %+v", v)
	}
	for i, m := range v.Members {
		m.PR, m.Links = nil, nil
		if !reflect.DeepEqual(m, want[i]) {
			t.Errorf("member %d = %+v, want %+v", i, m, want[i])
		}
	}
}
