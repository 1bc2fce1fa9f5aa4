package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// queueWorld stores runs as the bot does, through the real store.
type queueWorld struct {
	t  *testing.T
	ts *testServer
}

func (w queueWorld) pr(repo string, n int, author string) *changeset.PR {
	return &changeset.PR{Repo: repo, Number: n, Author: author, HeadSHA: strings.Repeat(fmt.Sprint(n%10), 40), BaseRef: "main", State: "open"}
}

func csOf(prs ...*changeset.PR) *changeset.Changeset {
	cs := &changeset.Changeset{}
	var refs []string
	for _, pr := range prs {
		cs.Members = append(cs.Members, changeset.Member{PR: pr, Sibling: pr.Repo[strings.Index(pr.Repo, "/")+1:], Trusted: true})
		refs = append(refs, pr.Ref())
	}
	cs.Key = strings.Join(refs, ",")
	return cs
}

// enqueue queues a run of cs due after window.
func (w queueWorld) enqueue(cs *changeset.Changeset, window time.Duration) int64 {
	w.t.Helper()
	id, _, err := w.ts.Store.EnqueueRun(context.Background(), store.Run{Key: cs.Key, Heads: "h", Reason: "pull_request opened", Changeset: cs}, window)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// claim starts the oldest due run, as a worker does.
func (w queueWorld) claim(want int64) {
	w.t.Helper()
	r, err := w.ts.Store.ClaimRun(context.Background(), time.Now())
	if err != nil || r == nil || r.ID != want {
		w.t.Fatalf("claimed %v (%v), want run %d", r, err, want)
	}
}

// finished stores a run of cs that ended with ended.
func (w queueWorld) finished(cs *changeset.Changeset, ended lifecycle.Result) int64 {
	w.t.Helper()
	id := w.enqueue(cs, 0)
	w.claim(id)
	if err := w.ts.Store.FinishRun(context.Background(), id, ended, &ci.Result{Result: ended, DurationMS: 1500}); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// section is the part of page under the heading h2, up to the next.
func section(page, h2 string) string {
	i := strings.Index(page, "<h2>"+h2+"</h2>")
	if i < 0 {
		return ""
	}
	rest := page[i+len(h2)+9:]
	if j := strings.Index(rest, "<h2>"); j >= 0 {
		return rest[:j]
	}
	return rest
}

func TestQueuePageShowsWhatIsLive(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	ts := newTestServer(t, Options{Clock: clk})
	w := queueWorld{t, ts}
	ctx := context.Background()
	core := csOf(w.pr("acme/core", 12, "alice"))
	done := w.finished(csOf(w.pr("acme/lib", 3, "bob")), lifecycle.Success)

	// Building for a minute, at its setup of core for 20 seconds.
	building := w.enqueue(core, 0)
	if r, err := ts.Store.ClaimRun(ctx, clk.Now()); err != nil || r == nil || r.ID != building {
		t.Fatalf("claim %v %v", r, err)
	}
	clk.Advance(40 * time.Second)
	if err := ts.Store.SetRunStep(ctx, building, "setup core: uv pip install -e .", clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Second)
	// A push to core while it builds: queued behind it.
	blocked := w.enqueue(core, 0)
	// Another changeset, due in ten minutes (its coalescing window).
	later := w.enqueue(csOf(w.pr("acme/app", 5, "carol"), w.pr("acme/lib", 4, "carol")), 10*time.Minute)
	// A fork by eve that waits for an approval.
	// Mallory's head in it was approved already.
	fork := w.pr("acme/lib", 7, "eve")
	fork.Fork = true
	waits := csOf(fork, w.pr("acme/core", 13, "alice"), w.pr("acme/app", 8, "mallory"))
	waits.Members[0].Trusted, waits.Members[2].Trusted = false, false
	if err := ts.Store.SetWaiting(ctx, store.Waiting{Key: waits.Key, Changeset: waits, Needs: []string{"acme/lib#7"}, Reason: "pull_request opened", Command: "/ws"}); err != nil {
		t.Fatal(err)
	}

	code, hdr, page := get(t, ts.URL+"/runs")
	if code != http.StatusOK || hdr.Get("Content-Security-Policy") != pageCSP {
		t.Fatalf("GET /runs: %d %v", code, hdr)
	}
	for h2, wants := range map[string][]string{
		"Building": {
			fmt.Sprintf(`<a href="runs/%d">%d</a>`, building, building),
			`<a href="runs?repo=acme%2fcore">acme/core</a><a href="runs?repo=acme%2fcore&amp;pr=12">#12</a>`,
			`<a href="runs?author=alice">alice</a>`,
			"<code>setup core: uv pip install -e .</code> <span class=\"muted\">for 20s</span>",
			"<td>1m0s</td>",
		},
		"Queued": {
			fmt.Sprintf("waits for run %d of the same changeset to finish", building),
			"due in 10m0s (12:11:00 UTC), once more events",
			`<a href="runs?author=carol">carol</a>`,
		},
		"Waiting for an approval": {
			`<a href="runs?author=eve">eve</a>'s acme/lib#7 at <code>777777777777</code>`,
			"needs <code>/ws test</code> from someone with write permission",
			"<td>just now</td>",
		},
		"Finished": {fmt.Sprintf(`<a href="runs/%d">%d</a>`, done, done), `<span class="badge success">success</span>`},
	} {
		sec := section(page, h2)
		for _, want := range wants {
			if !strings.Contains(sec, want) {
				t.Errorf("%s lacks %q:\n%s", h2, want, sec)
			}
		}
	}
	for _, who := range []string{"alice", "mallory"} {
		if strings.Contains(section(page, "Waiting for an approval"), ">"+who+"</a>'s") {
			t.Errorf("%s, trusted or approved, is listed as waiting for an approval", who)
		}
	}
	if i, j := strings.Index(page, fmt.Sprintf(`href="runs/%d"`, blocked)), strings.Index(page, fmt.Sprintf(`href="runs/%d"`, later)); i < 0 || j < i {
		t.Error("queued runs are not in the order workers claim them")
	}
	for _, want := range []string{"<b>1</b> building, <b>2</b> queued, <b>1</b> waiting", `<meta http-equiv="refresh" content="10">`} {
		if !strings.Contains(page, want) {
			t.Errorf("GET /runs lacks %q", want)
		}
	}

	// After a reload, from the store alone: the step moved on. The run's
	// own page says it too.
	ts.Store.SetRunStep(ctx, building, "test workspace: pytest", clk.Now())
	if _, _, page := get(t, ts.URL+"/runs"); !strings.Contains(section(page, "Building"), "<code>test workspace: pytest</code>") {
		t.Errorf("the building run's new step is not shown:\n%s", section(page, "Building"))
	}
	if _, _, page := get(t, fmt.Sprintf("%s/runs/%d", ts.URL, building)); !strings.Contains(page, "Running, at <code>test workspace: pytest</code>.") {
		t.Error("the building run's page does not say its step")
	}
}

func TestQueuePageFilters(t *testing.T) {
	ts := newTestServer(t, Options{})
	w := queueWorld{t, ts}
	ctx := context.Background()
	a := w.finished(csOf(w.pr("acme/core", 12, "alice"), w.pr("acme/lib", 3, "bob")), lifecycle.Success)
	b := w.finished(csOf(w.pr("acme/core", 13, "bob")), lifecycle.Failure)
	q := w.enqueue(csOf(w.pr("acme/lib", 9, "bob")), time.Hour)
	waits := csOf(w.pr("acme/app", 7, "eve"))
	waits.Members[0].Trusted = false
	ts.Store.SetWaiting(ctx, store.Waiting{Key: waits.Key, Changeset: waits})

	runs := func(page string) []string {
		var out []string
		for _, part := range strings.Split(page, `<td><a href="runs/`)[1:] {
			out = append(out, part[:strings.Index(part, `"`)])
		}
		return out
	}
	for _, tc := range []struct {
		query   string
		runs    []int64
		waiting bool
		chips   []string
	}{
		{"", []int64{q, b, a}, true, nil},
		{"repo=acme/core", []int64{b, a}, false, []string{"repository <b>acme/core</b>"}},
		{"repo=ACME/core&pr=13", []int64{b}, false, []string{"repository <b>ACME/core</b>", "pull request <b>ACME/core#13</b>"}},
		{"author=bob", []int64{q, b, a}, false, []string{"author <b>bob</b>"}},
		{"repo=acme/core&author=bob", []int64{b}, false, nil},
		{"author=eve", nil, true, nil},
		{"changeset=" + url.QueryEscape("acme/core#12,acme/lib#3"), []int64{a}, false, []string{"changeset <b>acme/core#12,acme/lib#3</b>"}},
		{"repo=acme/nothing", nil, false, nil},
	} {
		code, _, page := get(t, ts.URL+"/runs?"+tc.query)
		if code != http.StatusOK {
			t.Fatalf("?%s: %d %s", tc.query, code, page)
		}
		want := []string{}
		for _, id := range tc.runs {
			want = append(want, fmt.Sprint(id))
		}
		if got := runs(page); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("?%s lists runs %v, want %v", tc.query, got, want)
		}
		if got := strings.Contains(page, `href="runs?author=eve"`); got != tc.waiting {
			t.Errorf("?%s shows eve's waiting changeset: %v, want %v", tc.query, got, tc.waiting)
		}
		for _, c := range tc.chips {
			if !strings.Contains(page, c) {
				t.Errorf("?%s does not say it filters by %s", tc.query, c)
			}
		}
	}
	// Each filter drops on its own: without the PR, the repository stays.
	_, _, page := get(t, ts.URL+"/runs?repo=acme/core&pr=13&author=bob")
	for _, want := range []string{`<a href="runs?author=bob&amp;repo=acme%2Fcore" title="without this filter">`, `<a href="runs?author=bob" title="without this filter">`, `<a href="runs">All runs</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the filtered page lacks the link %s", want)
		}
	}
}

func TestQueuePagePages(t *testing.T) {
	ts := newTestServer(t, Options{})
	ts.Handler.historyPage = 2
	w := queueWorld{t, ts}
	var ids []int64
	for i := 1; i <= 5; i++ {
		ids = append(ids, w.finished(csOf(w.pr("acme/core", i, "alice")), lifecycle.Success))
	}
	w.finished(csOf(w.pr("acme/lib", 1, "bob")), lifecycle.Success)
	next := "runs?author=alice"
	var seen []string
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than runs")
		}
		_, _, page := get(t, ts.URL+"/"+strings.ReplaceAll(next, "&amp;", "&"))
		for _, part := range strings.Split(section(page, "Finished"), `<td><a href="runs/`)[1:] {
			seen = append(seen, part[:strings.Index(part, `"`)])
		}
		next = ""
		if i := strings.Index(page, `">Older runs</a>`); i >= 0 {
			next = page[strings.LastIndex(page[:i], `href="`)+6 : i]
		}
		if pages > 0 && !strings.Contains(page, `<a href="runs?author=alice">Newest runs</a>`) {
			t.Errorf("page %d has no link back to the newest", pages+1)
		}
	}
	want := fmt.Sprint(ids[4], ids[3], ids[2], ids[1], ids[0])
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("alice's runs page by page: %s, want %s", got, want)
	}
}

// Bad parameters are refused with a message that says what is wanted
// and never repeats what was sent.
func TestQueuePageRefusesBadParameters(t *testing.T) {
	ts := newTestServer(t, Options{})
	long := strings.Repeat("a", 5000)
	for query, msg := range map[string]string{
		"repo=<script>alert(1)</script>":   "repo must be a repository as owner/name",
		"repo=javascript:alert(1)//x":      "repo must be",
		"repo=" + long + "/x":              "repo must be",
		"repo=acme/core&repo=acme/lib":     "given more than once",
		"pr=12":                            "pr needs repo",
		"repo=acme/core&pr=-1":             "pr must be a pull request number",
		"repo=acme/core&pr=99999999999":    "pr must be",
		"author=%22%3E%3Cimg%20src=x%3E":   "author must be a GitHub login",
		"author=" + long:                   "author must be",
		"changeset=acme/core%2312,%3Cb%3E": "changeset must be a changeset key",
		"changeset=" + strings.Repeat("acme/core%231,", 51) + "acme/core%232": "at most 50",
		"before=0":       "before must be a run id",
		"before=x":       "before must be",
		"%3Cscript%3E=1": "unknown query parameter",
	} {
		code, hdr, body := get(t, ts.URL+"/runs?"+query)
		if code != http.StatusBadRequest || !strings.Contains(body, msg) {
			t.Errorf("?%.60s: %d %q, want 400 saying %q", query, code, body, msg)
		}
		if strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("?%.60s: the refusal is served as HTML", query)
		}
		for _, bad := range []string{"<", "script", "javascript", long[:100]} {
			if strings.Contains(body, bad) {
				t.Errorf("?%.60s: the refusal repeats %.20q: %s", query, bad, body)
			}
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, ts.URL+"/runs", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /runs: %d, want 405: the page is read-only", method, resp.StatusCode)
		}
	}
}

// Branch names, titles, logins and steps are chosen by whoever opens a
// PR or writes the config: on the queue page each is text, never markup
// or a link of theirs.
func TestQueuePageEscapesWhatComesFromOutside(t *testing.T) {
	ts := newTestServer(t, Options{})
	w := queueWorld{t, ts}
	ctx := context.Background()
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	long := strings.Repeat("x", 20000)
	hostile := func(repo string, n int) *changeset.PR {
		pr := w.pr(repo, n, evil)
		pr.Title, pr.HeadRef, pr.BaseRef, pr.URL, pr.HeadSHA = evil+long, evil, evil, "javascript:alert(3)", evil
		return pr
	}
	cs := csOf(hostile("acme/core", 1))
	cs.Key = "acme/core#1" + evil
	id := w.enqueue(cs, 0)
	w.claim(id)
	ts.Store.SetRunStep(ctx, id, "test "+evil+": "+evil, time.Now())
	queued := csOf(hostile("acme/lib", 2))
	queued.Members[0].Sibling = evil
	w.enqueue(queued, time.Hour)
	waits := csOf(hostile("acme/app", 3))
	waits.Members[0].Trusted = false
	ts.Store.SetWaiting(ctx, store.Waiting{Key: waits.Key + evil, Changeset: waits, Command: evil, Reason: evil})
	w.finished(csOf(hostile("acme/x", 4)), lifecycle.Failure)

	_, _, page := get(t, ts.URL+"/runs")
	for _, bad := range []string{"<script>", "<img", "javascript:", "onerror=alert(2)>"} {
		if i := strings.Index(page, bad); i >= 0 {
			t.Errorf("GET /runs holds %q unescaped: %s", bad, page[max(0, i-80):i+40])
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		// A login is a filter link's value, escaped for the query.
		`href="runs?author=%22%3e%3cscript%3ealert%281%29%3c%2fscript%3e%3cimg%20src%3dx%20onerror%3dalert%282%29%3e"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("GET /runs lacks %s", want)
		}
	}
	// Titles are not shown, so a long one does not make a long page.
	if len(page) > 40000 {
		t.Errorf("the page is %d bytes: an outside string's length reaches it", len(page))
	}
}
