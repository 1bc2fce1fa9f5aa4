package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/actionstest"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// workflowRuns are the runs dispatched in the workspace repository.
func (w *world) workflowRuns() []githubtest.WorkflowRun { return w.gh.WorkflowRuns(wsRepo) }

// A passing run and a failing one, built by the real binary's run-job on
// the test runner: the statuses link the workflow run while it builds and
// the run page after; the page, the log and the summary show the job's
// log tail; the token is nowhere the service writes.
func TestActionsPassThenFail(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	w := newWorld(t, worldOptions{actions: &actionsWorld{}, logTo: logs})
	n := w.openPR("acme/core", "feature", "", map[string]string{"README": "core feature\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	final := w.waitState("acme/core", sha, "success")
	if !strings.HasPrefix(final.TargetURL, w.url+"/runs/") {
		t.Errorf("final status links %q, want the run page", final.TargetURL)
	}
	runs := w.workflowRuns()
	if len(runs) != 1 {
		t.Fatalf("%d workflow runs dispatched, want 1", len(runs))
	}
	wr := runs[0]
	if wr.Ref != "main" || wr.Inputs["service"] != w.url || wr.Inputs["run"] == "" || !strings.HasPrefix(wr.Inputs["token"], "wbrun_") {
		t.Errorf("dispatch %+v", wr)
	}
	building := false
	for _, s := range w.gh.Statuses("acme/core", sha) {
		if s.State == "pending" && s.TargetURL == wr.HTMLURL && strings.Contains(s.Description, "GitHub Actions") {
			building = true
		}
	}
	if !building {
		t.Errorf("no pending status linked the workflow run %s: %+v", wr.HTMLURL, w.gh.Statuses("acme/core", sha))
	}
	if log := w.logOf(final); !strings.Contains(log, "core ok") || !strings.Contains(log, "dispatched to GitHub Actions") {
		t.Errorf("the run's log lacks the job's output:\n%s", log)
	}
	w.idle()
	rs := w.runs()
	if len(rs) != 1 || rs[0].State != lifecycle.Done || rs[0].Ended != lifecycle.Success || rs[0].Attempts != 1 {
		t.Fatalf("runs %+v", rs)
	}

	// A failing test: the summary shows the job's failing tail.
	w.push("acme/core", "feature", map[string]string{"check.sh": "echo core is broken: want 42, got 41\nexit 1\n"})
	sha = w.head("acme/core", n)
	w.send("pull_request", w.prPayload("synchronize", "acme/core", n))
	final = w.waitState("acme/core", sha, "failure")
	w.waitFor("the summary", func() bool {
		s := w.summaries("acme/core", n)
		return len(s) == 1 && strings.Contains(s[0].Body, "want 42, got 41")
	})
	page := w.pageAt(final.TargetURL)
	if !strings.Contains(page, "want 42, got 41") {
		t.Errorf("the run page lacks the failing tail:\n%s", page)
	}
	if wrs := w.workflowRuns(); !strings.Contains(page, `built on <a href="`+wrs[len(wrs)-1].HTMLURL+`">GitHub Actions</a>`) {
		t.Errorf("the run page does not link its workflow run:\n%s", page)
	}
	w.idle()
	token := ""
	for _, r := range w.workflowRuns() {
		token = r.Inputs["token"]
		for where, text := range map[string]string{"the service's log": logs.String(), "the run page": w.pageAt(final.TargetURL),
			"the run log": w.logOf(final), "the queue page": w.pageAt(w.url + "/runs"), "the summary": w.summaries("acme/core", n)[0].Body} {
			if strings.Contains(text, token) {
				t.Errorf("a run token is in %s", where)
			}
		}
		if !strings.Contains(w.runner.Log(r.ID), "::add-mask::"+token) {
			t.Errorf("the job did not mask its token")
		}
	}
}

// A push while a run builds on a runner supersedes it: the workflow run
// is cancelled through the Actions API, and the new heads' run reports.
func TestActionsSupersedeCancelsTheWorkflowRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{}})
	n := w.openPR("acme/core", "slow", "", map[string]string{"check.sh": "echo core slow; sleep 120\n"})
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	w.waitFor("the first job to build", func() bool {
		rs := w.workflowRuns()
		// run-job prints each step as it starts.
		return len(rs) == 1 && strings.Contains(w.runner.Log(rs[0].ID), "test workspace: ")
	})
	w.push("acme/core", "slow", map[string]string{"check.sh": "echo core fast\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("synchronize", "acme/core", n))
	w.waitState("acme/core", sha, "success")
	w.idle()
	w.waitFor("the second workflow run to end", func() bool {
		rs := w.workflowRuns()
		return len(rs) == 2 && rs[1].Status == "completed"
	})
	rs := w.workflowRuns()
	if len(rs) != 2 || !rs[0].Cancelled || rs[0].Conclusion != "cancelled" || rs[1].Conclusion != "success" {
		t.Fatalf("workflow runs %+v, want the first cancelled and the second a success", rs)
	}
	runs := w.runs()
	if len(runs) != 2 || runs[0].Ended != lifecycle.Superseded || runs[1].Ended != lifecycle.Success {
		t.Fatalf("runs %+v", runs)
	}
}

// A runner that dies mid-job: the workflow_run event finds the job lost,
// the members get an error that says so, the run is dispatched once more,
// and the second job's result is the run's.
func TestActionsRunnerDiesAndTheRunIsRetriedOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{modes: []actionstest.Mode{actionstest.Die}}})
	// The test takes a moment, so the first job is killed while it
	// builds however slow the machine, never after it posted.
	n := w.openPR("acme/core", "feature", "", map[string]string{"check.sh": "sleep 2; echo core ok\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	w.waitState("acme/core", sha, "success")
	w.idle()
	w.waitFor("the second workflow run to end", func() bool {
		rs := w.workflowRuns()
		return len(rs) == 2 && rs[1].Status == "completed"
	})
	lost := false
	for _, s := range w.gh.Statuses("acme/core", sha) {
		if s.State == "error" && strings.Contains(s.Description, "retrying once") {
			lost = true
		}
	}
	if !lost {
		t.Errorf("no error status said the job was lost and retried: %+v", w.gh.Statuses("acme/core", sha))
	}
	rs := w.workflowRuns()
	if len(rs) != 2 || rs[0].Conclusion != "failure" || rs[1].Conclusion != "success" {
		t.Fatalf("workflow runs %+v", rs)
	}
	if runs := w.runs(); len(runs) != 1 || runs[0].Ended != lifecycle.Success {
		t.Fatalf("runs %+v", runs)
	}
}

// A job that never starts (no runner has its labels) is lost at the
// deadline, twice: the run ends in an error that says so.
func TestActionsJobThatNeverStarts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{modes: []actionstest.Mode{actionstest.NeverStart, actionstest.Hang},
		startDeadline: 2e9}})
	n := w.openPR("acme/core", "feature", "", map[string]string{"README": "x\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	st := w.waitState("acme/core", sha, "error")
	if !strings.Contains(st.Description, "did not start within") || !strings.Contains(st.Description, "retrying once") {
		t.Errorf("first error %q", st.Description)
	}
	w.waitFor("the run to end", func() bool {
		rs := w.runs()
		return len(rs) == 1 && rs[0].Final()
	})
	w.idle()
	rs := w.runs()
	if rs[0].Ended != lifecycle.Error || rs[0].Result == nil || !strings.Contains(rs[0].Result.Error, "did not start within") {
		t.Fatalf("run %+v %+v", rs[0], rs[0].Result)
	}
	if wrs := w.workflowRuns(); len(wrs) != 2 || !wrs[0].Cancelled || !wrs[1].Cancelled {
		t.Errorf("workflow runs %+v, want both cancelled once lost", wrs)
	}
}

// A dispatch GitHub refuses ends the run at once in an error that names
// the fix, for a workflow that is missing and one that is disabled.
func TestActionsDispatchRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		aw   actionsWorld
		want string
	}{
		{"missing", actionsWorld{noWorkflow: true}, "add it as .github/workflows/workspace-run.yml"},
		{"disabled", actionsWorld{disabled: true}, "enable the workflow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{actions: &c.aw})
			n := w.openPR("acme/core", "feature", "", map[string]string{"README": "x\n"})
			sha := w.head("acme/core", n)
			w.send("pull_request", w.prPayload("opened", "acme/core", n))
			w.waitState("acme/core", sha, "error")
			w.idle()
			rs := w.runs()
			if len(rs) != 1 || rs[0].Ended != lifecycle.Error || !strings.Contains(rs[0].Result.Error, c.want) {
				t.Fatalf("run %+v, want an error saying %q", rs[0].Result, c.want)
			}
			w.waitFor("the summary", func() bool {
				s := w.summaries("acme/core", n)
				return len(s) == 1 && strings.Contains(s[0].Body, c.want)
			})
		})
	}
}

// jobPost posts body as run's result with token; it returns the status.
func (w *world) jobPost(run, token string, body []byte) int {
	w.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, w.url+"/runs/"+run+"/result", bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Results that are not the job's own are refused, each with its status:
// no token, a wrong one, another run's, a body over the bound, a result
// naming other SHAs than the pinned ones, and a second different result;
// the same result posted twice is one result.
func TestActionsForgedResultsAreRefused(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	w := newWorld(t, worldOptions{actions: &actionsWorld{modes: []actionstest.Mode{actionstest.NeverStart, actionstest.NeverStart}}, logTo: logs})
	a := w.openPR("acme/core", "one", "", map[string]string{"README": "one\n"})
	b := w.openPR("acme/app", "two", "", map[string]string{"README": "two\n"})
	w.send("pull_request", w.prPayload("opened", "acme/core", a))
	w.send("pull_request", w.prPayload("opened", "acme/app", b))
	w.waitFor("two dispatches", func() bool { return len(w.workflowRuns()) == 2 })
	byRun := map[string]string{}
	for _, r := range w.workflowRuns() {
		byRun[r.Inputs["run"]] = r.Inputs["token"]
	}
	var runA, runB string
	for _, r := range w.runs() {
		if strings.Contains(r.Key, "acme/core") {
			runA = fmt.Sprint(r.ID)
		} else {
			runB = fmt.Sprint(r.ID)
		}
	}
	tokA, tokB := byRun[runA], byRun[runB]
	sha := w.head("acme/core", a)
	result := func(sha, res string) []byte {
		key := ""
		for _, r := range w.runs() {
			if fmt.Sprint(r.ID) == runA {
				key = r.Changeset.Key
			}
		}
		return []byte(fmt.Sprintf(`{"result":{"result":%q,"changeset":%q,"siblings":[{"name":"core","repo":"acme/core","ref":"one","sha":%q}],"steps":[]},"log":"forged tail"}`, res, key, sha))
	}
	good := result(sha, "success")
	for _, c := range []struct {
		name, token string
		body        []byte
		want        int
	}{
		{"no token", "", good, http.StatusUnauthorized},
		{"a wrong token", "wbrun_" + strings.Repeat("0", 64), good, http.StatusUnauthorized},
		{"another run's token", tokB, good, http.StatusUnauthorized},
		{"a body over the bound", tokA, bytes.Repeat([]byte("x"), 5<<20), http.StatusRequestEntityTooLarge},
		{"not JSON", tokA, []byte("{"), http.StatusBadRequest},
		{"other SHAs than the pinned ones", tokA, result(strings.Repeat("a", 40), "success"), http.StatusBadRequest},
		{"a success without the pinned heads", tokA, []byte(`{"result":{"result":"success","changeset":"` + "x" + `"}}`), http.StatusBadRequest},
		{"the job's own result", tokA, good, http.StatusNoContent},
		{"the same result again", tokA, good, http.StatusNoContent},
		{"a different result after it", tokA, result(sha, "failure"), http.StatusConflict},
	} {
		if got := w.jobPost(runA, c.token, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	w.waitState("acme/core", sha, "success")
	if st := w.status("acme/app", w.head("acme/app", b)); st.State != "pending" {
		t.Errorf("the other run's status is %+v, want still pending", st)
	}
	// The plan is for the token's run only, and not once the result is in.
	req, _ := http.NewRequest(http.MethodGet, w.url+"/runs/"+runB+"/plan", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another run's plan with this token: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodGet, w.url+"/runs/"+runA+"/plan", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("the plan after the result: %v %v", resp, err)
	}
	for _, tok := range []string{tokA, tokB} {
		if strings.Contains(logs.String(), tok) {
			t.Error("a run token is in the service's log")
		}
	}
}

// /workspace cancel while a run builds on a runner cancels its workflow
// run, and the members say who cancelled it.
func TestActionsCancelCommandCancelsTheWorkflowRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{}})
	n := w.openPR("acme/core", "slow", "", map[string]string{"check.sh": "echo core slow; sleep 120\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	w.waitFor("the job to build", func() bool {
		rs := w.workflowRuns()
		return len(rs) == 1 && strings.Contains(w.runner.Log(rs[0].ID), "test workspace: ")
	})
	body, _ := w.comment("acme/core", n, "alice", "MEMBER", "/workspace cancel")
	w.send("issue_comment", body)
	st := w.waitState("acme/core", sha, "error")
	if !strings.Contains(st.Description, "cancelled by @alice") {
		t.Errorf("status %q does not say who cancelled", st.Description)
	}
	w.idle()
	w.waitFor("the workflow run to end", func() bool { return w.workflowRuns()[0].Status == "completed" })
	if wr := w.workflowRuns()[0]; !wr.Cancelled || wr.Conclusion != "cancelled" {
		t.Errorf("workflow run %+v, want cancelled", wr)
	}
	if rs := w.runs(); len(rs) != 1 || rs[0].Ended != lifecycle.Cancelled {
		t.Fatalf("runs %+v", rs)
	}
}

// replica starts a second service on the world's database, as a second
// replica of serve behind the same webhook would be, and returns its URL.
func (w *world) replica() string {
	t := w.t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	o := w.opts
	o.DataDir, o.StorePath, o.PublicURL = t.TempDir(), store.Path(w.dataDir), url
	o.Actions.ServiceURL = ""
	srv, err := server.New(context.Background(), o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, 2*time.Second) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return url
}

// The replica that dispatched a run need not be the one its job talks
// to: the job fetches its plan from, and posts its result to, another
// replica on the same database, which finishes the run.
func TestActionsResultAtAnotherReplica(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{}})
	other := w.replica()
	asked := map[string]bool{}
	var mu sync.Mutex
	w.runner.Service = func(string) string {
		mu.Lock()
		defer mu.Unlock()
		asked[other] = true
		return other
	}
	n := w.openPR("acme/core", "feature", "", map[string]string{"README": "x\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	final := w.waitState("acme/core", sha, "success")
	w.idle()
	mu.Lock()
	defer mu.Unlock()
	if !asked[other] {
		t.Fatal("the job never talked to the other replica")
	}
	if rs := w.runs(); len(rs) != 1 || rs[0].Ended != lifecycle.Success {
		t.Fatalf("runs %+v", rs)
	}
	if log := w.pageAt(strings.Replace(final.TargetURL, w.url, other, 1) + "/log"); !strings.Contains(log, "core ok") {
		t.Errorf("the other replica's run log lacks the job's output:\n%s", log)
	}
}

// Private siblings: the job clones them with the token the workflow
// hands it, which its log never shows.
func TestActionsPrivateSiblings(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{}, private: true})
	w.runner.Env = []string{"WORKSPACE_BOT_GITHUB_TOKEN=" + botToken}
	n := w.openPR("acme/core", "feature", "", map[string]string{"README": "x\n"})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	w.waitState("acme/core", sha, "success")
	w.idle()
	for _, r := range w.workflowRuns() {
		if log := w.runner.Log(r.ID); strings.Count(log, botToken) != 1 || !strings.Contains(log, "::add-mask::"+botToken) {
			t.Errorf("the GitHub token is in the job's output other than where it is masked:\n%s", log)
		}
	}
}

// The code under test runs inside the job that holds the run's token:
// with it, a failing test could post its own success before the job
// does, and the job's true result would then be refused as a second one.
// A test that looks for the token everywhere a process can look (its
// environment, every process's environment and command line it can
// read) finds nothing, and its failure is what is reported.
func TestActionsCodeUnderTestCannotReadTheRunToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{actions: &actionsWorld{}})
	hunt := `found=$( (env; cat /proc/*/environ /proc/*/cmdline) 2>/dev/null | tr '\0' '\n' | grep -ao 'wbrun_[A-Za-z0-9_-]\{16,\}' | head -n 1)
if [ -n "$found" ]; then echo "RUN-TOKEN-FOUND"; fi
echo "the hunt is over and this test fails"
exit 1
`
	n := w.openPR("acme/core", "hunt", "", map[string]string{"check.sh": hunt})
	sha := w.head("acme/core", n)
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	final := w.waitState("acme/core", sha, "failure")
	log := w.logOf(final)
	if !strings.Contains(log, "the hunt is over") {
		t.Fatalf("the hunting test did not run:\n%s", log)
	}
	if strings.Contains(log, "RUN-TOKEN-FOUND") {
		t.Errorf("the code under test found the run token:\n%s", log)
	}
	for _, wr := range w.workflowRuns() {
		if tok := wr.Inputs["token"]; tok == "" || strings.Contains(log, tok) {
			t.Errorf("the run's log holds its token")
		}
	}
}
