package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func TestCommentCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	core := w.openPR("acme/core", "cmd", "", map[string]string{"README": "core cmd\n"})
	lib := w.openPR("acme/lib", "other", "", map[string]string{"README": "lib other\n"})
	w.gh.SetPermission("acme/core", "alice", "write")

	// The real fixture is a comment on an issue, not a PR: ignored.
	raw, err := os.ReadFile(fixtures + "issue_comment/created.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	w.send("issue_comment", raw)

	say := func(user, assoc, body string) int64 {
		p, id := w.comment("acme/core", core, user, assoc, body)
		w.send("issue_comment", p)
		return id
	}
	waitReplies := func(n int) []string {
		w.waitFor("replies", func() bool { return len(w.replies("acme/core", core)) >= n })
		return w.replies("acme/core", core)
	}

	helpID := say("alice", "MEMBER", "/workspace help")
	rs := waitReplies(1)
	if !strings.Contains(rs[0], "`/workspace link <ref>...`") {
		t.Fatalf("help reply %q", rs[0])
	}
	badID := say("alice", "MEMBER", "/workspace deploy now")
	rs = waitReplies(2)
	if !strings.Contains(rs[1], "deploy") || !strings.Contains(rs[1], "`/workspace status`") {
		t.Fatalf("bad verb reply %q", rs[1])
	}
	say("alice", "MEMBER", "/workspace status")
	rs = waitReplies(3)
	if !strings.Contains(rs[2], "No run yet") {
		t.Fatalf("status reply %q", rs[2])
	}

	// link edits the body, the one source of truth, and the changeset
	// grows to hold lib's PR.
	say("alice", "MEMBER", "/workspace link lib#"+itoa(lib))
	w.waitFor("the body edit", func() bool {
		return strings.Contains(w.gh.PR("acme/core", core).Body, "Depends-On: acme/lib#"+itoa(lib))
	})
	w.waitState("acme/lib", w.head("acme/lib", lib), "success")
	w.waitState("acme/core", w.head("acme/core", core), "success")
	if got := changeset.ParseDependsOn(w.gh.PR("acme/core", core).Body, "acme"); len(got) != 1 {
		t.Fatalf("Depends-On after link: %v", got)
	}

	say("alice", "MEMBER", "> /workspace test\nthat quote is not a command")
	say("alice", "MEMBER", "/workspace status")
	rs = waitReplies(4)
	if !strings.Contains(rs[3], "**success**") || !strings.Contains(rs[3], w.url+"/runs/") {
		t.Fatalf("status reply %q", rs[3])
	}

	// A slow test, started and then cancelled by command.
	w.push("acme/core", "cmd", map[string]string{"check.sh": "sleep 20\n"})
	testID := say("alice", "MEMBER", "/workspace test")
	sha := w.head("acme/core", core)
	w.waitFor("the run to start", func() bool {
		return strings.HasPrefix(w.status("acme/core", sha).Description, "running")
	})
	say("alice", "MEMBER", "/workspace cancel")
	st := w.waitState("acme/core", sha, "error")
	if !strings.Contains(st.Description, "cancelled by @alice") {
		t.Errorf("cancelled status %+v", st)
	}
	// The other member is told too.
	w.waitState("acme/lib", w.head("acme/lib", lib), "error")

	say("alice", "MEMBER", "/workspace unlink acme/lib#"+itoa(lib))
	w.waitFor("the body edit", func() bool {
		return !strings.Contains(w.gh.PR("acme/core", core).Body, "Depends-On")
	})

	// Someone who may not run commands gets one polite answer.
	say("mallory", "CONTRIBUTOR", "/workspace test")
	say("mallory", "NONE", "/workspace retest")
	say("ci-helper[bot]", "NONE", "/workspace test")
	w.idle()
	var refusals int
	for _, r := range w.replies("acme/core", core) {
		if strings.Contains(r, "@mallory") {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("%d refusals to mallory, want 1", refusals)
	}

	for id, want := range map[int64]string{helpID: "+1", badID: "confused", testID: "+1"} {
		if got := w.gh.Reactions("acme/core", id); len(got) != 1 || got[0] != want {
			t.Errorf("reactions on comment %d: %v, want [%s]", id, got, want)
		}
	}
	for _, m := range []struct {
		repo string
		n    int
	}{{"acme/core", core}, {"acme/lib", lib}} {
		if n := len(w.summaries(m.repo, m.n)); n != 1 {
			t.Errorf("%s#%d has %d summaries, want 1", m.repo, m.n, n)
		}
	}
}

func TestForkNeedsApprovalForExactHeads(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	if err := w.gh.CreateRepo("eve/lib", githubtest.RepoOptions{ForkOf: "acme/lib"}); err != nil {
		t.Fatal(err)
	}
	w.push("eve/lib", "patch", map[string]string{"README": "eve was here\n"})
	n, err := w.gh.OpenPR(githubtest.NewPR{Repo: "acme/lib", Head: "patch", HeadRepo: "eve/lib", User: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR"})
	if err != nil {
		t.Fatal(err)
	}
	w.send("pull_request", w.prPayload("opened", "acme/lib", n))
	first := w.head("acme/lib", n)
	w.waitFor("the waiting status", func() bool {
		return strings.Contains(w.status("acme/lib", first).Description, "waiting for a trusted /workspace test")
	})
	w.idle()
	if runs := w.runs(); len(runs) != 0 {
		t.Fatalf("fork code ran without approval: %s", describeRuns(runs))
	}

	// A MEMBER association alone is not enough to run fork code: GitHub
	// must confirm push access.
	p, _ := w.comment("acme/lib", n, "carol", "MEMBER", "/workspace test")
	w.send("issue_comment", p)
	w.idle()
	if runs := w.runs(); len(runs) != 0 {
		t.Fatalf("fork code ran on the word of a user without push access: %s", describeRuns(runs))
	}

	w.gh.SetPermission("acme/lib", "alice", "maintain")
	p, _ = w.comment("acme/lib", n, "alice", "MEMBER", "/workspace test")
	w.send("issue_comment", p)
	w.waitFor("the approved run", func() bool { return w.status("acme/lib", first).State != "pending" })
	if st := w.status("acme/lib", first); st.State != "success" {
		t.Fatalf("approved run: %+v; result %s", st, w.lastResult())
	}

	// A push after the approval is not approved.
	w.push("eve/lib", "patch", map[string]string{"check.sh": "echo sneaky; exit 0\n"})
	second := w.head("acme/lib", n)
	if second == first {
		t.Fatal("the push did not move the PR head")
	}
	w.send("pull_request", w.prPayload("synchronize", "acme/lib", n))
	w.waitFor("the waiting status on the new head", func() bool {
		return strings.Contains(w.status("acme/lib", second).Description, "waiting")
	})
	w.idle()
	runs := w.runs()
	if len(runs) != 1 || runs[0].Ended != lifecycle.Success {
		t.Fatalf("runs after the unapproved push: %s", describeRuns(runs))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func (w *world) lastResult() string {
	rs := w.runs()
	if len(rs) == 0 {
		return ""
	}
	b, _ := json.Marshal(rs[len(rs)-1].Result)
	return string(b)
}
