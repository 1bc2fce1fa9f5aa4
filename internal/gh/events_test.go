package gh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

func decodeFixture(t *testing.T, rel string) bot.Event {
	t.Helper()
	data, err := os.ReadFile(webhooktest.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := DecodeEvent(strings.SplitN(rel, "/", 2)[0], data)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return ev
}

// Every payload GitHub sent for an event the bot handles decodes, the
// check_run ones with their timestamps that are not RFC 3339 included.
func TestDecodeEveryFixture(t *testing.T) {
	handled := map[string]bool{}
	for _, e := range bot.Events() {
		handled[e] = true
	}
	files, err := filepath.Glob(filepath.Join(webhooktest.Dir, "*", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d fixtures (%v)", len(files), err)
	}
	for _, f := range files {
		event := filepath.Base(filepath.Dir(f))
		ev := decodeFixture(t, event+"/"+filepath.Base(f))
		if got := ev != nil; got != handled[event] {
			t.Errorf("%s: decoded %v, want an event %v", f, ev, handled[event])
		}
		if ev != nil && ev.Name() != event {
			t.Errorf("%s: event named %s", f, ev.Name())
		}
	}
}

func TestDecodeEvents(t *testing.T) {
	pr := decodeFixture(t, "pull_request/opened.payload.json").(*bot.PullRequestEvent)
	if pr.Action != "opened" || pr.PR == nil || pr.PR.Repo != "Codertocat/Hello-World" || pr.PR.Number != 2 || pr.PR.HeadSHA == "" || pr.BodyChanged || pr.Sender != "Codertocat" {
		t.Errorf("pull_request %+v %+v", pr, pr.PR)
	}
	// The fixture is a comment on a plain issue.
	c := decodeFixture(t, "issue_comment/created.payload.json").(*bot.CommentEvent)
	if c.Action != "created" || c.OnPR || c.Repo != "Codertocat/Hello-World" || c.Comment.ID == 0 || c.Comment.User != "Codertocat" ||
		!c.Comment.CreatedAt.Equal(time.Date(2019, 5, 15, 15, 20, 21, 0, time.UTC)) {
		t.Errorf("issue_comment %+v", c)
	}
	cr := decodeFixture(t, "check_run/rerequested.payload.json").(*bot.RerunEvent)
	if cr.Action != "rerequested" || cr.HeadSHA != "d6fde92930d4715a2b49857d24b940956b26d2d3" || len(cr.PRs) != 0 {
		t.Errorf("check_run %+v", cr)
	}
	cs := decodeFixture(t, "check_suite/rerequested.payload.json").(*bot.RerunEvent)
	if cs.Event != "check_suite" || cs.HeadSHA != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" || len(cs.PRs) != 1 || cs.PRs[0] != 2 {
		t.Errorf("check_suite %+v", cs)
	}
	edited, err := DecodeEvent("pull_request", []byte(`{"action":"edited","changes":{"body":{"from":"old"}},"pull_request":{"number":3,"base":{"repo":{"full_name":"o/r"}}},"repository":{"full_name":"o/r"}}`))
	if err != nil || !edited.(*bot.PullRequestEvent).BodyChanged {
		t.Errorf("edited body: %+v %v", edited, err)
	}
	if _, err := DecodeEvent("issue_comment", []byte(`{"action": 3}`)); err == nil {
		t.Error("a payload of the wrong shape decoded")
	}
}
