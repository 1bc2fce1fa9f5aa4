package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/store"
)

// The bot stores a run's changeset as changeset.Changeset; the run page
// shows every member of it.
func TestRunPageReadsTheBotsChangeset(t *testing.T) {
	ts := newTestServer(t, Options{})
	cs := &changeset.Changeset{
		Key: "o/a#1,o/b#2",
		Members: []changeset.Member{
			{Sibling: "a", PR: &changeset.PR{Repo: "o/a", Number: 1, HeadSHA: "aaaa", BaseRef: "main", URL: "https://x/o/a/pull/1", Title: "A"}},
			{Sibling: "b", PR: &changeset.PR{Repo: "o/b", Number: 2, HeadSHA: "bbbb", BaseRef: "dev"}},
		},
	}
	if _, _, err := ts.Store.EnqueueRun(context.Background(), store.Run{Key: cs.Key, Changeset: cs}, time.Hour); err != nil {
		t.Fatal(err)
	}
	code, _, page := get(t, ts.URL+"/runs/1")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		"<td>a</td><td><a href=\"https://x/o/a/pull/1\">o/a#1</a> A</td><td><code>aaaa</code></td><td>main</td>",
		"<td>b</td><td>o/b#2</td><td><code>bbbb</code></td><td>dev</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q:\n%s", want, page)
		}
	}
}
