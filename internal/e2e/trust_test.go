package e2e

import (
	"strings"
	"testing"
	"time"
)

// Issue 12, finding 2: a failing test prints a command; the summary
// comment carrying that log tail comes back as an issue_comment by the
// bot's own user (a token-mode bot is a plain user who can push), and
// must not make the bot edit a PR body. Neither must any comment by that
// user, whatever it says.
func TestOwnCommentsAreNeverCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	app := w.openPR("acme/app", "other", "", map[string]string{"README": "app other\n"})
	core := w.openPR("acme/core", "loop", "", map[string]string{
		"check.sh": "echo 'not ok 1'\necho '/workspace link acme/app#" + itoa(app) + "'\nexit 1\n",
	})
	w.gh.SetPermission("acme/core", "workspace-bot", "write")
	body := w.gh.PR("acme/core", core).Body
	w.send("pull_request", w.prPayload("opened", "acme/core", core))
	w.waitState("acme/core", w.head("acme/core", core), "failure")
	w.waitFor(10*time.Second, "the summary", func() bool { return len(w.summaries("acme/core", core)) == 1 })
	summary := w.summaries("acme/core", core)[0].Body
	if !strings.Contains(summary, "/workspace link acme/app#"+itoa(app)) {
		t.Fatalf("the summary does not carry the printed command:\n%s", summary)
	}

	before := len(w.gh.Comments("acme/core", core))
	echo, echoID := w.comment("acme/core", core, "workspace-bot", "COLLABORATOR", summary)
	w.send("issue_comment", echo)
	plain, plainID := w.comment("acme/core", core, "workspace-bot", "COLLABORATOR", "/workspace link acme/app#"+itoa(app))
	w.send("issue_comment", plain)
	time.Sleep(time.Second)
	if got := w.gh.PR("acme/core", core).Body; got != body {
		t.Errorf("the bot's own comment edited the PR body:\n%q\nwas\n%q", got, body)
	}
	for _, id := range []int64{echoID, plainID} {
		if r := w.gh.Reactions("acme/core", id); len(r) != 0 {
			t.Errorf("the bot reacted %v to its own comment %d", r, id)
		}
	}
	if st := w.status("acme/app", w.head("acme/app", app)); st.State != "" {
		t.Errorf("acme/app#%d was pulled into a run: %+v", app, st)
	}
	if n := len(w.gh.Comments("acme/core", core)); n != before+2 {
		t.Errorf("%d comments after the bot's own two, want %d: it answered itself", n, before+2)
	}
}

// Issue 12, finding 4: a COLLABORATOR whom GitHub gives read permission
// rewrote another author's PR body through /workspace link. The
// association alone never grants a write action.
func TestReadOnlyCollaboratorCannotEditOthersPRs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	lib := w.openPR("acme/lib", "lib-change", "", map[string]string{"README": "lib\n"})
	core := w.openPR("acme/core", "core-change", "Depends-On: acme/lib#"+itoa(lib)+"\n", map[string]string{"README": "core\n"})
	w.gh.SetPermission("acme/core", "rita", "read")
	body := w.gh.PR("acme/core", core).Body
	for _, cmd := range []string{"/workspace link acme/app#1", "/workspace unlink acme/lib#" + itoa(lib), "/workspace test", "/workspace cancel"} {
		p, _ := w.comment("acme/core", core, "rita", "COLLABORATOR", cmd)
		w.send("issue_comment", p)
	}
	w.waitFor(10*time.Second, "four answers", func() bool { return len(w.replies("acme/core", core)) >= 4 })
	time.Sleep(300 * time.Millisecond)
	if got := w.gh.PR("acme/core", core).Body; got != body {
		t.Errorf("rita (read) edited alice's PR body:\n%q\nwas\n%q", got, body)
	}
	for _, r := range w.replies("acme/core", core) {
		if !strings.Contains(r, "@rita") || !strings.Contains(r, "write permission on acme/core") || !strings.Contains(r, "yours is read") {
			t.Errorf("reply %q does not say why", r)
		}
	}
	if runs := w.runs(); len(runs) != 0 {
		t.Errorf("rita (read) started runs: %s", describeRuns(runs))
	}
}
