package webhook

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRunPage(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	// The changeset as the bot stores it: changeset.Changeset encoded
	// with encoding/json (no tags, so Go field names).
	const key = "emu/foundation#4,emu/tools#9"
	cs := &changeset.Changeset{Key: key, RunID: "r-abc", Members: []changeset.Member{
		{PR: &changeset.PR{Repo: "emu/foundation", Number: 4, State: "open", HeadSHA: "1111111111111111111111111111111111111111", BaseRef: "main", URL: "https://github.example/emu/foundation/pull/4", Title: "Add <b>things</b>"}, Sibling: "provide-foundation", Links: []changeset.Link{changeset.LinkStart}},
		{PR: &changeset.PR{Repo: "emu/tools", Number: 9, State: "open", HeadSHA: "2222222222222222222222222222222222222222", BaseRef: "main"}, Sibling: "provide-tools", Links: []changeset.Link{changeset.LinkDependsOnIn(changeset.Ref{Repo: "emu/foundation", Number: 4})}},
	}}
	res := ci.Result{
		Result: ci.Failure, Changeset: key, Started: time.Now(), DurationMS: 65700,
		Steps: []ci.StepResult{
			{Name: "setup", Sibling: "provide-foundation", Command: "uv pip install -e .", Result: ci.Success, DurationMS: 1500},
			{Name: "checkout", Sibling: "provide-foundation", Command: "git merge --no-ff feature (1111111) onto main", Result: ci.Success, DurationMS: 120, LogTail: "fetched in 80ms\nmerged"},
			{Name: "test", Command: "pytest tests/integration", Result: ci.Failure, DurationMS: 64000, LogTail: "E   assert 1 == 2\n<script>alert(1)</script>\n[exit status 1]\n"},
		},
	}
	id, _, err := ts.Store.EnqueueRun(ctx, store.Run{Key: key, Heads: "r-abc", Reason: "pull_request synchronize", Changeset: cs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.ClaimRun(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.AppendLog(ctx, id, []byte("$ pytest\n<b>not html</b>\n")); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.FinishRun(ctx, id, lifecycle.Failure, &res); err != nil {
		t.Fatal(err)
	}

	code, hdr, page := get(t, ts.URL+"/runs/1")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("run page: %d %s", code, hdr.Get("Content-Type"))
	}
	// The top says the result, where it failed and how, how long it
	// took, and shows the failing log tail, before anything else.
	top := page[:strings.Index(page, "<h2>Members")]
	for _, want := range []string{
		`<h1>Run 1 <span class="badge failure">failure</span></h1>`,
		`<b>2 PRs</b>: <a href="https://github.example/emu/foundation/pull/4">emu/foundation#4</a>, emu/tools#9`,
		"took <b>1m6s</b>", "finished just now",
		"<b>Failed at the workspace test</b>: <code>pytest tests/integration</code>, <b>exit status 1</b>, after 1m4s",
		"<div class=\"tail\"><pre>E   assert 1 == 2\n&lt;script&gt;alert(1)&lt;/script&gt;\n[exit status 1]\n</pre></div>",
		`<a href="1/log">Full log</a>`,
	} {
		if !strings.Contains(top, want) {
			t.Errorf("the top of the run page lacks %q:\n%s", want, top)
		}
	}
	for _, want := range []string{
		"provide-foundation", "111111111111<", // short SHA
		"Add &lt;b&gt;things&lt;/b&gt;",
		"uv pip install -e .", "1.5s",
		"pull_request synchronize",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(page, "http-equiv=\"refresh\"") {
		t.Error("a finished run's page reloads itself")
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(page, "<script>") {
		t.Error("log tail was not escaped")
	}

	code, hdr, log := get(t, ts.URL+"/runs/1/log")
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/plain; charset=utf-8" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("log: %d %v", code, hdr)
	}
	// The checkout steps come first, from the result, then the log.
	want := "==> checkout provide-foundation: git merge --no-ff feature (1111111) onto main\nfetched in 80ms\nmerged\n" +
		"<== checkout provide-foundation: success in 120ms\n$ pytest\n<b>not html</b>\n"
	if log != want {
		t.Fatalf("log %q, want %q", log, want)
	}

	for _, c := range []struct {
		path string
		want int
	}{
		{"/runs/2", http.StatusNotFound},
		{"/runs/2/log", http.StatusNotFound},
		{"/runs/abc", http.StatusBadRequest},
		{"/runs/-1/log", http.StatusBadRequest},
	} {
		if code, _, _ := get(t, ts.URL+c.path); code != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, code, c.want)
		}
	}
}

func TestRunPageQueuedAndUnreadableRecords(t *testing.T) {
	// A queued run has no result yet; records that cannot be read (written
	// by another version) are said, not a 500.
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	cs := &changeset.Changeset{Key: "o/a#3", Members: []changeset.Member{{Sibling: "a", PR: &changeset.PR{Repo: "o/a", Number: 3, HeadSHA: "abcdef0123456789", BaseRef: "main"}}}}
	if _, _, err := ts.Store.EnqueueRun(ctx, store.Run{Key: "o/a#3", Changeset: cs}, time.Hour); err != nil {
		t.Fatal(err)
	}
	id2, _, _ := ts.Store.EnqueueRun(ctx, store.Run{Key: "o/b#1"}, 0)
	ts.Store.ClaimRun(ctx, time.Now().Add(time.Second))
	if err := ts.Store.FinishRun(ctx, id2, lifecycle.Error, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", ts.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE runs SET changeset = '{', result = 'not json' WHERE id = ?", id2); err != nil {
		t.Fatal(err)
	}

	code, _, page := get(t, ts.URL+"/runs/1")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"queued", "o/a#3", "abcdef012345", ">a<"} {
		if !strings.Contains(page, want) {
			t.Errorf("queued run page lacks %q", want)
		}
	}
	if strings.Contains(page, "<h2>Steps") {
		t.Error("queued run page shows steps")
	}
	code, _, page = get(t, ts.URL+"/runs/2")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"the changeset record could not be read", "the result record could not be read", "No members recorded"} {
		if !strings.Contains(page, want) {
			t.Errorf("broken run page lacks %q", want)
		}
	}
}
