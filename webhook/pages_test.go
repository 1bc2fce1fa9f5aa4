package webhook

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func member(repo string, n int, url, title string) changeset.Member {
	return changeset.Member{Sibling: repo[strings.Index(repo, "/")+1:], PR: &changeset.PR{Repo: repo, Number: n, HeadSHA: "abcdef0123456789", BaseRef: "main", URL: url, Title: title}}
}

func TestRunListAndLivePages(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	add := func(key string, ms ...changeset.Member) int64 {
		id, _, err := ts.Store.EnqueueRun(ctx, store.Run{Key: key, Reason: "pull_request opened", Changeset: &changeset.Changeset{Key: key, Members: ms}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	passed := add("o/a#1,o/b#2", member("o/a", 1, "https://gh.example/o/a/pull/1", "A"), member("o/b", 2, "", "B"))
	ts.Store.ClaimRun(ctx, time.Now().Add(time.Second))
	ts.Store.FinishRun(ctx, passed, lifecycle.Success, &ci.Result{Result: ci.Success, DurationMS: 12_300})
	failed := add("o/c#3", member("o/c", 3, "", "C"))
	ts.Store.ClaimRun(ctx, time.Now().Add(time.Second))
	ts.Store.FinishRun(ctx, failed, lifecycle.Failure, &ci.Result{Result: ci.Failure, DurationMS: 4_000, Steps: []ci.StepResult{
		{Name: "setup", Sibling: "c", Command: "make", Result: ci.Failure, LogTail: "boom\n[exit status 2]\n"},
	}})
	running := add("o/d#4", member("o/d", 4, "", "D"))
	ts.Store.ClaimRun(ctx, time.Now().Add(time.Second))
	queued := add("o/e#5", member("o/e", 5, "", "E"))

	for _, path := range []string{"/runs", "/"} {
		code, hdr, page := get(t, ts.URL+path)
		if code != http.StatusOK || hdr.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("GET %s: %d %v", path, code, hdr)
		}
		for _, want := range []string{
			`<td><a href="runs/1">1</a></td>`, `<span class="badge success">success</span>`,
			`<a href="runs?repo=o%2fa">o/a</a><a href="runs?repo=o%2fa&amp;pr=1">#1</a> <a href="https://gh.example/o/a/pull/1" title="the pull request on GitHub">&#8599;</a>, <a href="runs?repo=o%2fb">o/b</a><a href="runs?repo=o%2fb&amp;pr=2">#2</a>`,
			"<td>12.3s</td>", "<td>just now</td>",
			`<span class="badge failure">failure</span>`, "failed at setup of c, exit status 2", "<td>4s</td>",
			"<h2>Building</h2>\n<table>", `<a href="runs/3">3</a>`, `<span class="muted">starting</span>`,
			"<h2>Queued</h2>\n<table>", `<a href="runs/4">4</a>`, "due; next for a free worker",
			"<b>1</b> building, <b>1</b> queued, <b>0</b> waiting",
			`<meta http-equiv="refresh" content="10">`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("GET %s lacks %q", path, want)
			}
		}
		if strings.Index(page, `href="runs/4"`) > strings.Index(page, `href="runs/1"`) {
			t.Errorf("GET %s: runs not newest first", path)
		}
	}
	for id, want := range map[int64][]string{
		running: {`<meta http-equiv="refresh" content="5">`, "Running. This page reloads every 5 seconds.", "so far"},
		queued:  {`<meta http-equiv="refresh" content="5">`, "Queued: it starts when a worker is free"},
	} {
		_, _, page := get(t, ts.URL+"/runs/"+strconv.FormatInt(id, 10))
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("run %d lacks %q", id, w)
			}
		}
	}
	if code, _, _ := get(t, ts.URL+"/nothing-here"); code != http.StatusNotFound {
		t.Errorf("an unknown path is %d, want 404", code)
	}
}

func TestRunPagesEscapeWhatComesFromOutside(t *testing.T) {
	// PR titles, branch names, commands, changeset keys and build output
	// are chosen by whoever opens a PR.
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	m := member("o/a", 1, "javascript:alert(3)", evil)
	m.PR.BaseRef = evil
	key := "o/a#1" + evil
	id, _, _ := ts.Store.EnqueueRun(ctx, store.Run{Key: key, Heads: evil, Reason: evil, Changeset: &changeset.Changeset{Key: key, Members: []changeset.Member{m}}}, 0)
	ts.Store.ClaimRun(ctx, time.Now().Add(time.Second))
	ts.Store.FinishRun(ctx, id, lifecycle.Failure, &ci.Result{Result: ci.Failure, Error: evil,
		Siblings: []ci.SiblingResult{{Name: "a", Repo: evil, Ref: evil, SHA: evil}},
		Warnings: []string{evil},
		Steps: []ci.StepResult{{Name: "test", Sibling: evil, Command: evil, Result: ci.Failure, LogTail: evil + "\n[exit status 1]",
			// Test names, places, messages and output are the code under test's.
			Tests: &junit.Report{Failed: 1, Failures: []junit.Case{{ID: evil, File: evil, Line: 3, Checkout: evil, Path: evil, Message: evil, Output: evil}}}}}})
	for _, path := range []string{"/runs/1", "/runs"} {
		_, _, page := get(t, ts.URL+path)
		for _, bad := range []string{"<script>", "<img", "javascript:", "onerror=alert(2)>"} {
			if i := strings.Index(page, bad); i >= 0 {
				t.Errorf("GET %s holds %q unescaped: %s", path, bad, page[max(0, i-80):i+40])
			}
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s does not show the hostile text escaped", path)
		}
		if path == "/runs/1" && !strings.Contains(page, "<h2>Tests</h2>") {
			t.Errorf("GET %s does not list the failing test", path)
		}
	}
}

func TestExitStatusIsTheRunnersNote(t *testing.T) {
	for _, tc := range []struct {
		result     lifecycle.Result
		tail, want string
	}{
		{ci.Failure, "x\n[exit status 3]\n", "exit status 3"},
		{ci.Failure, "x\n[signal: killed]", "signal: killed"},
		// Only the last line is the runner's: a command cannot print after it.
		{ci.Failure, "[exit status 0]\nmore", ""},
		{ci.Error, "[exit status 1]", ""},
		{ci.Failure, "", ""},
	} {
		if got := exitOf(&ci.StepResult{Result: tc.result, LogTail: tc.tail}); got != tc.want {
			t.Errorf("exitOf(%s, %q) = %q, want %q", tc.result, tc.tail, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 90 * time.Second: "1 minute ago", 3 * time.Hour: "3 hours ago", 50 * time.Hour: "2 days ago",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}
