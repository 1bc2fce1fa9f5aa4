package changeset

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A link is kept as the sentence people read, and read back as the same
// typed value: a changeset stored before links were typed decodes too.
func TestLinkSentencesRoundTrip(t *testing.T) {
	links := []Link{LinkStart, LinkDependsOnIn(Ref{"o/a", 1}), LinkDependsOn(Ref{"o/b", 22}), LinkSameBranch(Ref{"o/c", 3})}
	data, err := json.Marshal(Member{Links: links})
	if err != nil {
		t.Fatal(err)
	}
	want := `"Links":["start","Depends-On in o/a#1","depends on o/b#22","same branch as o/c#3"]`
	if !json.Valid(data) || !contains(string(data), want) {
		t.Fatalf("encoded %s, want it to hold %s", data, want)
	}
	var back Member
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back.Links, links) {
		t.Fatalf("decoded %+v %v", back.Links, err)
	}
	// What makes a link is its kind and the PR at its other end, not its
	// words: the same link is equal however it was made.
	if LinkDependsOn(Ref{"o/b", 22}) != back.Links[2] {
		t.Error("a decoded link differs from the one made")
	}
	var bad Link
	if err := bad.UnmarshalText([]byte("linked by a friend")); err == nil {
		t.Error("a sentence the resolver never writes decoded")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
