package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

const key3 = "acme/app#3,acme/core#1,acme/lib#2"

func (h *harness) comment(repo string, n int, id int64, user, assoc, body string) {
	h.t.Helper()
	h.handle(commentEv(repo, n, id, user, assoc, body, true))
}

func (h *harness) replies(ref string) []string {
	var out []string
	for _, c := range h.gh.commentsOn(ref) {
		if !strings.HasPrefix(c.Body, SummaryMarker) {
			out = append(out, c.Body)
		}
	}
	return out
}

func TestCommentsIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	// An edit, a closed PR, a bot's own comment and a plain issue.
	edited := commentEv("acme/core", 1, 4, "alice", "MEMBER", "/workspace test", true)
	edited.Action = "edited"
	h.handle(edited)
	closed := commentEv("acme/core", 1, 5, "alice", "MEMBER", "/workspace test", true)
	closed.IssueState = "closed"
	h.handle(closed)
	h.handle(commentEv("acme/core", 1, 1, "ci[bot]", "NONE", "/workspace test", true))
	h.handle(commentEv("acme/core", 1, 2, "alice", "MEMBER", "/workspace test", false))
	h.comment("acme/core", 1, 3, "alice", "MEMBER", "> /workspace test\nagreed")
	// A command in a code block or an HTML comment,
	// and the bot's own comment (a token-mode bot is a plain user who can
	// push) carrying a command printed by code under test.
	h.gh.perms["workspace-bot"] = "write"
	h.comment("acme/core", 1, 8, "workspace-bot", "MEMBER", "log tail:\n/workspace link acme/app#3")
	h.comment("acme/core", 1, 9, "Workspace-Bot", "COLLABORATOR", "/workspace test")
	h.comment("acme/core", 1, 6, "alice", "MEMBER", "like this:\n```\n/workspace test\n```")
	h.comment("acme/core", 1, 7, "alice", "MEMBER", "<!--\n/workspace cancel\n-->")
	h.settle()
	if h.bld.callCount() != 0 || len(h.gh.commentsOn("acme/core#1")) != 0 || len(h.gh.reactions) != 0 {
		t.Fatalf("ignored comments acted on: builds %d, comments %v, reactions %v", h.bld.callCount(), h.gh.commentsOn("acme/core#1"), h.gh.reactions)
	}
}

// Without the bot's own login a comment cannot be told apart from the
// bot's: it is not read, and the delivery is retried.
func TestOwnLoginUnknownDefersComments(t *testing.T) {
	fail := errors.New("GitHub is down")
	h := newHarness(t, func(s *setup) {
		s.Self = func(context.Context) (string, error) { return "", fail }
	})
	h.threeSiblings()
	_, err := h.bot.Handle(context.Background(), commentEv("acme/core", 1, 3, "alice", "MEMBER", "/workspace test", true))
	if !errors.Is(err, fail) {
		t.Fatalf("handling with no login: %v, want %v", err, fail)
	}
	if h.bld.callCount() != 0 || len(h.gh.reactions) != 0 {
		t.Fatal("a comment was acted on before the bot knew its own login")
	}
}

func TestUntrustedCommenterRefusedOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.comment("acme/core", 1, 10, "mallory", "CONTRIBUTOR", "/workspace test")
	h.comment("acme/core", 1, 11, "mallory", "NONE", "/workspace cancel\n/workspace test")
	h.settle()
	rs := h.replies("acme/core#1")
	if len(rs) != 1 || !strings.Contains(rs[0], "@mallory") {
		t.Fatalf("replies %q, want one refusal", rs)
	}
	if h.bld.callCount() != 0 {
		t.Fatal("an untrusted command ran")
	}
	// Association says CONTRIBUTOR, but GitHub says they can push: the
	// association is not to be trusted blindly either way.
	h.gh.perms["bob"] = "write"
	h.comment("acme/core", 1, 12, "bob", "CONTRIBUTOR", "/workspace test")
	h.waitState("acme/core", "c1", "success")
}

func TestCommandReplies(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.comment("acme/lib", 2, 20, "alice", "MEMBER", "/workspace status")
	h.comment("acme/lib", 2, 21, "alice", "MEMBER", "/workspace frobnicate")
	h.comment("acme/lib", 2, 22, "alice", "MEMBER", "/workspace help")
	h.comment("acme/lib", 2, 23, "alice", "MEMBER", "/workspace cancel")
	rs := h.replies("acme/lib#2")
	if len(rs) != 4 {
		t.Fatalf("replies %q", rs)
	}
	if !strings.Contains(rs[0], "No run yet") || !strings.Contains(rs[1], "frobnicate") || !strings.Contains(rs[1], "`/workspace link <ref>...`") ||
		!strings.Contains(rs[2], "`/workspace unlink <ref>...`") || !strings.Contains(rs[3], "Nothing to cancel") {
		t.Fatalf("replies %q", rs)
	}
	if got := h.gh.reactions[21]; len(got) != 1 || got[0] != "confused" {
		t.Errorf("reaction to a bad command %v", got)
	}
	if got := h.gh.reactions[20]; len(got) != 1 || got[0] != "+1" {
		t.Errorf("reaction to status %v", got)
	}

	h.comment("acme/lib", 2, 24, "alice", "MEMBER", "/workspace retest")
	h.waitState("acme/app", "a1", "success")
	h.comment("acme/lib", 2, 25, "alice", "MEMBER", "/workspace status")
	rs = h.replies("acme/lib#2")
	if last := rs[len(rs)-1]; !strings.Contains(last, "**success**") || !strings.Contains(last, "https://bot.example/runs/") {
		t.Fatalf("status reply %q", last)
	}

	// cancel stops a running run and says so on every member.
	h.bld.set(func(f *fakeBuilder) { f.Block = make(chan struct{}) })
	h.comment("acme/lib", 2, 26, "alice", "MEMBER", "/workspace test")
	running := h.building()
	h.comment("acme/lib", 2, 27, "alice", "MEMBER", "/workspace cancel")
	<-running
	h.waitState("acme/core", "c1", "error")
	if d := h.gh.lastState("acme/app", "a1").Description; !strings.Contains(d, "cancelled by @alice") || !strings.Contains(d, "comment /workspace test to run again") {
		t.Errorf("cancel description %q", d)
	}
	r, _ := h.st.LatestRun(context.Background(), key3)
	if r.Ended != lifecycle.Cancelled {
		t.Errorf("run state %s", r.State)
	}
}

func TestLinkEditsBodyAndResolvesAgain(t *testing.T) {
	h := newHarness(t, nil)
	withBody := *prApp
	withBody.Body = "Adds a thing.\n\nDepends-On: acme/core#1\n"
	h.gh.addPR(&withBody)
	h.gh.addPR(prLib)
	h.gh.addPR(prCore)
	h.comment("acme/app", 3, 30, "alice", "MEMBER", "/workspace link lib#2 https://github.com/acme/core/pull/1")
	pr, _ := h.gh.PullRequest(context.Background(), "acme/app", 3)
	if got := changeset.ParseDependsOn(pr.Body, "acme"); len(got) != 2 || got[1].String() != "acme/lib#2" || !strings.HasPrefix(pr.Body, "Adds a thing.") {
		t.Fatalf("body after link %q", pr.Body)
	}
	h.waitState("acme/app", "a1", "success")
	h.comment("acme/app", 3, 31, "alice", "MEMBER", "/workspace unlink acme/core#1")
	pr, _ = h.gh.PullRequest(context.Background(), "acme/app", 3)
	if got := changeset.ParseDependsOn(pr.Body, "acme"); len(got) != 1 || got[0].String() != "acme/lib#2" {
		t.Fatalf("body after unlink %q", pr.Body)
	}
	h.comment("acme/app", 3, 32, "alice", "MEMBER", "/workspace link not-a-ref")
	rs := h.replies("acme/app#3")
	if len(rs) == 0 || !strings.Contains(rs[len(rs)-1], "not-a-ref") {
		t.Fatalf("replies %q", rs)
	}
}

func TestForkApprovalIsForExactHeads(t *testing.T) {
	h := newHarness(t, nil)
	fork := &changeset.PR{Repo: "acme/lib", Number: 2, HeadRef: "feat", HeadSHA: "f1", BaseRef: "main",
		Author: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR", Fork: true, HeadRepo: "eve/lib",
		HeadCloneURL: "https://github.example/eve/lib.git"}
	h.gh.addPR(fork)
	h.handle(prEvent("opened", fork, nil))
	st := h.gh.lastState("acme/lib", "f1")
	if st.State != "pending" || !strings.Contains(st.Description, "waiting for a trusted /workspace test") {
		t.Fatalf("fork status %+v", st)
	}
	h.settle()
	if h.bld.callCount() != 0 {
		t.Fatal("untrusted fork code ran")
	}
	// A MEMBER association is not enough for fork code: GitHub must
	// confirm push access.
	h.comment("acme/lib", 2, 40, "carol", "MEMBER", "/workspace test")
	h.settle()
	if h.bld.callCount() != 0 {
		t.Fatal("fork code ran on a comment from a user without push access")
	}
	h.gh.perms["alice"] = "maintain"
	h.comment("acme/lib", 2, 41, "alice", "MEMBER", "/workspace test")
	h.waitState("acme/lib", "f1", "success")
	if p := h.bld.calls[0].Pins["lib"]; p.URL != "" || p.FetchRef != "refs/pull/2/head" || p.SHA != "f1" {
		t.Errorf("fork pin %+v", p)
	}
	if h.bld.calls[0].Trusted {
		t.Error("an approved fork's run was built as trusted: it could reuse a warm root and write the cache")
	}
	pushed := *fork
	pushed.HeadSHA = "f2"
	h.gh.addPR(&pushed)
	h.handle(prEvent("synchronize", &pushed, nil))
	h.settle()
	if h.bld.callCount() != 1 || !strings.Contains(h.gh.lastState("acme/lib", "f2").Description, "waiting") {
		t.Fatalf("a push after approval ran: builds %d, status %+v", h.bld.callCount(), h.gh.lastState("acme/lib", "f2"))
	}
}

// An author_association alone never grants a write
// action. A COLLABORATOR whom GitHub gives read permission may ask for
// status and help, but may not build, cancel, link or unlink.
func TestWriteCommandsNeedWritePermission(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.gh.perms["rita"] = "read"
	withLink := *prApp
	withLink.Body = "Depends-On: acme/core#1\n"
	h.gh.addPR(&withLink)
	before, _ := h.gh.PullRequest(context.Background(), "acme/app", 3)
	h.comment("acme/app", 3, 50, "rita", "COLLABORATOR", "/workspace link acme/lib#2")
	h.comment("acme/app", 3, 51, "rita", "COLLABORATOR", "/workspace unlink acme/core#1")
	h.comment("acme/app", 3, 52, "rita", "COLLABORATOR", "/workspace test\n/workspace retest\n/workspace cancel")
	h.comment("acme/app", 3, 53, "rita", "COLLABORATOR", "/workspace status")
	h.settle()
	after, _ := h.gh.PullRequest(context.Background(), "acme/app", 3)
	if after.Body != before.Body {
		t.Errorf("a read-only collaborator edited the body: %q", after.Body)
	}
	if h.bld.callCount() != 0 {
		t.Error("a read-only collaborator started a build")
	}
	rs := h.replies("acme/app#3")
	if len(rs) != 4 {
		t.Fatalf("replies %q, want three refusals and a status", rs)
	}
	for i, verbs := range [][]string{{"link"}, {"unlink"}, {"test", "retest", "cancel"}} {
		for _, v := range verbs {
			if !strings.Contains(rs[i], "`/workspace "+v+"`") || !strings.Contains(rs[i], "yours is read") {
				t.Errorf("reply %d %q does not refuse %s for want of write permission", i, rs[i], v)
			}
		}
	}
	if !strings.Contains(rs[3], "No run yet") {
		t.Errorf("status reply %q", rs[3])
	}
	for id, want := range map[int64]string{50: "-1", 52: "-1", 53: "+1"} {
		if got := h.gh.reactions[id]; len(got) != 1 || got[0] != want {
			t.Errorf("reaction to comment %d: %v, want %s", id, got, want)
		}
	}
}

// The outsider pushed between the maintainer's
// comment and the bot reading it, and the new head ran. An approval
// covers only heads the bot had seen by the comment's time, and its reply
// says exactly what it covered.
func TestApprovalCoversOnlyHeadsSeenBeforeTheComment(t *testing.T) {
	h := newHarness(t, nil)
	h.gh.addPR(prCore)
	fork := &changeset.PR{Repo: "acme/lib", Number: 2, HeadRef: "feat", HeadSHA: "f1", BaseRef: "main",
		Author: "eve", AuthorAssociation: "CONTRIBUTOR", Fork: true, HeadRepo: "eve/lib", Body: "Depends-On: acme/core#1"}
	h.gh.addPR(fork)
	h.res.groups = [][]string{{"acme/core#1", "acme/lib#2"}}
	h.handle(prEvent("opened", fork, nil))
	if st := h.gh.lastState("acme/lib", "f1"); !strings.Contains(st.Description, "waiting for a trusted /workspace test: acme/lib#2 (author not trusted)") {
		t.Fatalf("fork status %+v", st)
	}
	// Only the outsider's PR says so: the maintainer's is not theirs to
	// hold up.
	if st := h.gh.lastState("acme/core", "c1"); st.State != "" {
		t.Fatalf("the maintainer's PR was reported on: %+v", st)
	}

	// alice comments; eve pushes f2 before the bot reads the comment.
	ev := commentEv("acme/lib", 2, 60, "alice", "MEMBER", "/workspace test", true)
	ev.Comment.CreatedAt = h.clk.Now()
	h.clk.Advance(5 * time.Millisecond)
	pushed := *fork
	pushed.HeadSHA = "f2"
	h.gh.addPR(&pushed)
	h.handle(ev)
	h.settle()
	if h.bld.callCount() != 0 {
		t.Fatal("a head first seen after the approving comment ran")
	}
	rs := h.replies("acme/lib#2")
	if len(rs) != 1 || !strings.Contains(rs[0], "nothing is approved") || !strings.Contains(rs[0], "Not approved: acme/lib#2 at `f2` (eve) was first seen") ||
		!strings.Contains(rs[0], "after your comment") || !strings.Contains(rs[0], "comment `/workspace test` again") {
		t.Fatalf("replies %q", rs)
	}
	if st := h.gh.lastState("acme/lib", "f2"); !strings.Contains(st.Description, "waiting") {
		t.Fatalf("f2 status %+v, want waiting", st)
	}

	// Asked again, after the bot saw f2: f2 runs, with the maintainer's
	// PR it names, and the result goes to eve's PR only.
	h.comment("acme/lib", 2, 61, "alice", "MEMBER", "/workspace test")
	h.waitState("acme/lib", "f2", "success")
	rs = h.replies("acme/lib#2")
	golden(t, "reply_approval", rs[len(rs)-1])
	if req := h.bld.calls[0]; req.Pins["lib"].SHA != "f2" || req.Pins["core"].SHA != "c1" {
		t.Errorf("pins %+v", req.Pins)
	}
	if st := h.gh.lastState("acme/core", "c1"); st.State != "" {
		t.Errorf("the maintainer's PR got the outsider's result: %+v", st)
	}
}

// Replies show what the commenter wrote as the characters it is.
func TestRepliesEscapeWhatComesFromOutside(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.comment("acme/app", 3, 70, "alice", "MEMBER", "/workspace link a`@provide-io/security-team`|b")
	rs := h.replies("acme/app#3")
	if len(rs) != 1 {
		t.Fatalf("replies %q", rs)
	}
	golden(t, "reply_bad_ref", rs[0])
}

// link and unlink edit the body where its lines count: a body ending inside an unclosed comment still gets a link that
// counts, a no-break space after a reference does not stop unlink, and a
// reference only quoted is not linked, which the reply says.
func TestLinkAndUnlinkWhereLinesCount(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	set := func(body string) {
		pr := *prApp
		pr.Body = body
		h.gh.addPR(&pr)
	}
	body := func() string {
		pr, _ := h.gh.PullRequest(context.Background(), "acme/app", 3)
		return pr.Body
	}
	links := func() []changeset.Ref { return changeset.ParseDependsOn(body(), "acme") }

	set("Adds a thing.\n<!-- template notes, never closed")
	h.comment("acme/app", 3, 80, "alice", "MEMBER", "/workspace link lib#2")
	if got := links(); len(got) != 1 || got[0].String() != "acme/lib#2" {
		t.Fatalf("after link into an unclosed comment: links %v, body %q", got, body())
	}

	set("Depends-On: acme/core#1\u00a0\r\nmore")
	h.comment("acme/app", 3, 81, "alice", "MEMBER", "/workspace unlink core#1")
	if got := links(); len(got) != 0 {
		t.Fatalf("after unlink past a no-break space: links %v, body %q", got, body())
	}

	set("> Depends-On: acme/lib#2\n")
	h.comment("acme/app", 3, 82, "alice", "MEMBER", "/workspace unlink acme/lib#2\n/workspace link acme/app#3")
	rs := h.replies("acme/app#3")
	if len(rs) < 2 || !strings.Contains(rs[len(rs)-2], "Not linked, so nothing to remove: acme/lib#2") ||
		!strings.Contains(rs[len(rs)-1], "acme/app#3 is this PR") {
		t.Fatalf("replies %q", rs)
	}
	if body() != "> Depends-On: acme/lib#2\n" {
		t.Errorf("the body changed: %q", body())
	}
}

// TestTestAllRunsEveryTest: a PR run names its changeset's members, so
// that ci runs only the affected siblings' tests, and its summary says
// which did not run and how to run them; /workspace test --all names
// none, so every test runs.
func TestTestAllRunsEveryTest(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.bld.mu.Lock()
	h.bld.Value = &ci.Result{Result: ci.Success, Steps: []ci.StepResult{
		{Name: "test", Sibling: "core", Index: 1, Result: ci.Success},
		{Name: "test", Sibling: "docs<b>", Index: 1, Result: ci.Skipped, NotAffected: "not affected: depends on no member"},
	}}
	h.bld.mu.Unlock()
	h.handle(prEvent("opened", prLib, nil))
	h.waitState(prLib.Repo, prLib.HeadSHA, "success")
	if got := strings.Join(h.bld.calls[0].Members, ","); got != "app,core,lib" {
		t.Errorf("a PR run's members: %q", got)
	}
	h.expect("summary", func() bool { return len(h.gh.commentsOn(prLib.Ref())) == 1 })
	body := h.gh.commentsOn(prLib.Ref())[0].Body
	for _, want := range []string{"**Not run:** the tests of docs\\<b\\>, not affected: depends on no member. `/workspace test --all` runs them.",
		"| ⏭️ not affected |"} {
		if !strings.Contains(body, want) {
			t.Errorf("the summary lacks %q:\n%s", want, body)
		}
	}

	h.comment("acme/lib", 2, 20, "alice", "MEMBER", "/workspace test --all")
	h.settle()
	if n := h.bld.callCount(); n != 2 {
		t.Fatalf("builds: %d, want 2", n)
	}
	if m := h.bld.calls[1].Members; m != nil {
		t.Errorf("test --all named members %v: only the affected tests would run", m)
	}
	h.comment("acme/lib", 2, 21, "alice", "MEMBER", "/workspace test --every")
	h.settle()
	if r := h.replies(prLib.Ref()); len(r) == 0 || !strings.Contains(r[len(r)-1], "test --all") {
		t.Errorf("a mistyped flag's reply does not show test --all: %q", r)
	}
}
