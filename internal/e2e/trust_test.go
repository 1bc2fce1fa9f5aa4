package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Through the real serve process: a failing test
// prints a command; the summary comment carrying that log tail comes back
// as an issue_comment by the bot's own user (a token-mode bot is a plain
// user who can push), and must not make the bot edit a PR body. Neither
// must any comment by that user, whatever it says.
func TestOwnCommentsAreNeverCommands(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	logs := &syncBuffer{}
	w.startServe(bin, freeAddr(t), t.TempDir(), logs)
	app := w.openPR("acme/app", "other", "", map[string]string{"README": "app other\n"})
	core := w.openPR("acme/core", "loop", "", map[string]string{
		"check.sh": "echo 'not ok 1'\necho '/workspace link acme/app#" + itoa(app) + "'\nexit 1\n",
	})
	w.gh.SetPermission("acme/core", "workspace-bot", "write")
	body := w.gh.PR("acme/core", core).Body
	w.send("pull_request", w.prPayload("opened", "acme/core", core))
	w.waitState("acme/core", w.head("acme/core", core), "failure")
	w.waitFor("the summary", func() bool { return len(w.summaries("acme/core", core)) == 1 })
	summary := w.summaries("acme/core", core)[0].Body
	if !strings.Contains(summary, "/workspace link acme/app#"+itoa(app)) {
		t.Fatalf("the summary does not carry the printed command:\n%s", summary)
	}

	before := len(w.gh.Comments("acme/core", core))
	echo, echoID := w.comment("acme/core", core, "workspace-bot", "COLLABORATOR", summary)
	w.send("issue_comment", echo)
	plain, plainID := w.comment("acme/core", core, "workspace-bot", "COLLABORATOR", "/workspace link acme/app#"+itoa(app))
	w.send("issue_comment", plain)
	w.idle()
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

// A COLLABORATOR whom GitHub gives read permission
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
	w.waitFor("four answers", func() bool { return len(w.replies("acme/core", core)) >= 4 })
	w.idle()
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

// forkPR opens a PR on repo from a fork owned by user (association
// NONE), pushing files to branch of the fork first.
func (w *world) forkPR(user, repo, branch, body string, files map[string]string) int {
	w.t.Helper()
	fork := user + "/" + strings.SplitN(repo, "/", 2)[1]
	if err := w.gh.CreateRepo(fork, githubtest.RepoOptions{ForkOf: repo}); err != nil && !strings.Contains(err.Error(), "exists") {
		w.t.Fatal(err)
	}
	w.push(fork, branch, files)
	n, err := w.gh.OpenPR(githubtest.NewPR{Repo: repo, Head: branch, HeadRepo: fork, Title: "change " + branch, Body: body, User: user, AuthorAssociation: "NONE"})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// statesOn lists every state of our context posted on repo@sha.
func (w *world) statesOn(repo, sha string) []string {
	var out []string
	for _, s := range w.gh.Statuses(repo, sha) {
		if s.Context == ctxName {
			out = append(out, s.State+": "+s.Description)
		}
	}
	return out
}

// An outsider's fork PR names a maintainer's PR, in
// a sibling the maintainer's changeset already has, with a junk word on
// its Depends-On line. It used to pull the maintainer's PRs into its
// changeset (waiting for approval) and make theirs fail with a
// "changeset error" they could not fix. Now its links speak only for it.
func TestOutsiderCannotJoinBlockOrBreakAMaintainersChangeset(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	lib := w.openPR("acme/lib", "api", "", map[string]string{"README": "lib api\n"})
	core := w.openPR("acme/core", "feature", "Depends-On: acme/lib#"+itoa(lib)+"\n", map[string]string{"README": "core feature\n"})
	evil := w.forkPR("mallory", "acme/lib", "evil", "Depends-On: acme/core#"+itoa(core)+" needs-the-new-api\n",
		map[string]string{"check.sh": "echo mallory ran; exit 0\n"})

	w.send("pull_request", w.prPayload("opened", "acme/lib", evil))
	w.waitFor("the outsider's own changeset error", func() bool {
		return strings.Contains(w.status("acme/lib", w.head("acme/lib", evil)).Description, "changeset error")
	})
	w.send("pull_request", w.prPayload("opened", "acme/core", core))
	w.waitState("acme/core", w.head("acme/core", core), "success")
	w.waitState("acme/lib", w.head("acme/lib", lib), "success")

	for _, m := range []struct {
		repo string
		n    int
	}{{"acme/core", core}, {"acme/lib", lib}} {
		for _, s := range w.statesOn(m.repo, w.head(m.repo, m.n)) {
			if !strings.HasPrefix(s, "pending: queued") && !strings.HasPrefix(s, "pending: running") && !strings.HasPrefix(s, "success") {
				t.Errorf("%s#%d showed %q", m.repo, m.n, s)
			}
		}
	}
	runs := w.runs()
	if len(runs) != 1 || runs[0].Key != "acme/core#"+itoa(core)+",acme/lib#"+itoa(lib) {
		t.Fatalf("runs %s, want the maintainer's changeset alone", describeRuns(runs))
	}
	want := "linked by acme/lib#" + itoa(evil) + " (author not trusted): not included; a maintainer can add it with `/workspace link`"
	for _, m := range []struct {
		repo string
		n    int
	}{{"acme/core", core}, {"acme/lib", lib}} {
		w.waitFor("the summary", func() bool { return len(w.summaries(m.repo, m.n)) == 1 })
		if s := w.summaries(m.repo, m.n)[0].Body; !strings.Contains(s, want) {
			t.Errorf("%s#%d summary does not say who was left out:\n%s", m.repo, m.n, s)
		}
	}
}

// The outsider's own changeset includes the
// maintainer's PR it names and waits for an approval, shown on the
// outsider's PR only. An approval covers only the heads the bot had seen
// by the comment's time: a push racing the comment needs a new one.
func TestOutsidersChangesetWaitsForAnExactApproval(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.gh.SetPermission("acme/app", "alice", "write")
	core := w.openPR("acme/core", "feature", "", map[string]string{"README": "core feature\n"})
	evil := w.forkPR("mallory", "acme/app", "evil", "Depends-On: acme/core#"+itoa(core)+"\n", map[string]string{"README": "v1\n"})
	coreHead := w.head("acme/core", core)

	w.send("pull_request", w.prPayload("opened", "acme/app", evil))
	v1 := w.head("acme/app", evil)
	w.waitFor("the waiting status", func() bool {
		return w.status("acme/app", v1).Description == "waiting for a trusted /workspace test: acme/app#"+itoa(evil)+" (author not trusted)"
	})
	// The queue page says whose code waits.
	if page := w.pageAt(w.url + "/runs?author=mallory"); !strings.Contains(page, `<a href="runs?author=mallory">mallory</a>'s acme/app#`+itoa(evil)+` at <code>`+v1[:12]+`</code>`) {
		t.Errorf("the queue page does not show the outsider's changeset waiting:\n%s", page)
	}
	w.send("pull_request", w.prPayload("opened", "acme/core", core))
	w.waitState("acme/core", coreHead, "success")
	w.waitFor("the maintainer's summary", func() bool { return len(w.summaries("acme/core", core)) == 1 })

	// GitHub gives a comment's time to the second: make it later than the
	// bot's first sight of v1, then push v2 before the bot reads it.
	time.Sleep(1100 * time.Millisecond)
	approve, _ := w.comment("acme/app", evil, "alice", "MEMBER", "/workspace test")
	w.push("mallory/app", "evil", map[string]string{"README": "v2\n"})
	v2 := w.head("acme/app", evil)
	w.send("issue_comment", approve)
	w.waitFor("the reply", func() bool { return len(w.replies("acme/app", evil)) == 1 })
	if r := w.replies("acme/app", evil)[0]; !strings.Contains(r, "Not approved: acme/app#"+itoa(evil)+" at `"+v2+"`") || !strings.Contains(r, "after your comment") {
		t.Fatalf("reply to the raced approval:\n%s", r)
	}
	w.idle()
	if runs := w.runs(); len(runs) != 1 {
		t.Fatalf("the raced head ran: %s", describeRuns(runs))
	}
	if st := w.status("acme/app", v2); !strings.HasPrefix(st.Description, "waiting for a trusted") {
		t.Errorf("v2: %+v, want waiting", st)
	}

	time.Sleep(1100 * time.Millisecond)
	again, _ := w.comment("acme/app", evil, "alice", "MEMBER", "/workspace test")
	w.send("issue_comment", again)
	w.waitState("acme/app", v2, "success")
	// The state goes out before the summary, and the reply after the run
	// is queued: wait for both.
	w.waitFor("the reply and the summary", func() bool {
		return len(w.replies("acme/app", evil)) == 2 && len(w.summaries("acme/app", evil)) == 1
	})
	rs := w.replies("acme/app", evil)
	if len(rs) != 2 || !strings.Contains(rs[1], "| acme/app#"+itoa(evil)+" | mallory | `"+v2+"` | alice |") {
		t.Fatalf("reply to the approval:\n%s", strings.Join(rs, "\n---\n"))
	}
	key := "acme/app#" + itoa(evil) + ",acme/core#" + itoa(core)
	runs := w.runs()
	if len(runs) != 2 || runs[1].Key != key || runs[1].Ended != lifecycle.Success {
		t.Fatalf("runs %s, want the outsider's changeset built once approved", describeRuns(runs))
	}

	// The maintainer's PR shows its own changeset only, never waiting.
	for _, s := range w.statesOn("acme/core", coreHead) {
		if strings.Contains(s, "waiting") {
			t.Errorf("acme/core#%d showed %q", core, s)
		}
	}
	if sums := w.summaries("acme/core", core); len(sums) != 1 || strings.Contains(sums[0].Body, "acme/app#"+itoa(evil)+"](") {
		t.Errorf("acme/core#%d summaries: %+v", core, sums)
	}
	sums := w.summaries("acme/app", evil)
	if len(sums) != 1 || !strings.Contains(sums[0].Body, "acme/core#"+itoa(core)) {
		t.Fatalf("the outsider's summary does not show the changeset it ran: %+v", sums)
	}
	// The summary links the queue page of its changeset: the run that
	// ran, and nothing waiting any more.
	u := queueURL(sums[0].Body)
	if u == "" {
		t.Fatalf("the summary links no queue page:\n%s", sums[0].Body)
	}
	page := w.pageAt(u)
	for _, want := range []string{`<a href="runs/` + strconv.FormatInt(runs[1].ID, 10) + `">`, "Nothing of these waits for an approval."} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue page the summary links lacks %q:\n%s", want, page)
		}
	}
}
