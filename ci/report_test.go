package ci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// A sibling whose fetch fails is named as the error; the siblings never
// checked out because of it read skipped, not error with an empty SHA.
func TestFetchFailureSkipsTheOthers(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("gamma", nil)
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"}, sib{name: "gamma"})
	cfg.Workspace.CI.Test = []string{"true"}
	r := f.runner()
	// alpha is checked out before beta fails; gamma's server never
	// answers, so gamma is still fetching when beta fails.
	alphaDone := make(chan struct{})
	hook := func(req *http.Request) {
		switch {
		case strings.Contains(req.URL.Path, "/beta.git"):
			<-alphaDone
		case strings.Contains(req.URL.Path, "/gamma.git"):
			<-req.Context().Done()
		}
	}
	f.hook.Store(&hook)
	var mu sync.Mutex
	var events []Event
	r.Progress = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		if e.Kind == EventCheckout && e.Done && e.Sibling == "alpha" {
			close(alphaDone)
		}
	}
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "sibling beta") {
		t.Fatalf("error %v, want one naming beta", err)
	}
	want := map[string]lifecycle.Result{"alpha": Success, "beta": Error, "gamma": Skipped}
	for name, result := range want {
		co := stepsOf(res, "checkout", name)
		if len(co) != 1 || co[0].Result != result {
			t.Errorf("checkout %s: %+v, want %s", name, co, result)
		}
	}
	if co := stepsOf(res, "checkout", "gamma"); len(co) == 1 && !strings.Contains(co[0].LogTail, "beta failed") {
		t.Errorf("gamma's skip does not say why: %q", co[0].LogTail)
	}
	if co := stepsOf(res, "checkout", "beta"); len(co) == 1 && !strings.Contains(co[0].LogTail, f.url("beta")) {
		t.Errorf("beta's error does not say what failed: %q", co[0].LogTail)
	}
	if tests := stepsOf(res, "test", ""); len(tests) != 1 || tests[0].Result != Skipped {
		t.Errorf("test after a failed fetch: %+v", tests)
	}
	if sr := siblingResult(t, res, "gamma"); sr.SHA != "" || sr.Fetch != "" {
		t.Errorf("gamma %+v: never reached, yet it has a SHA or a fetch", sr)
	}
	if sr := siblingResult(t, res, "alpha"); len(sr.SHA) != 40 || sr.Fetch != fetchedNow {
		t.Errorf("alpha %+v", sr)
	}
	for _, e := range events {
		if e.Sibling == "gamma" && e.Result == Error {
			t.Errorf("gamma reported as an error: %+v", e)
		}
	}
}

// A run cut short by [workspace.ci].timeout says so and names the step it
// was in; Ctrl-C reads cancelled.
func TestTimeoutNamesTheStep(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Timeout = 700 * time.Millisecond
	cfg.Sibling("alpha").Setup = []string{"sleep 30"}
	cfg.Workspace.CI.Test = []string{"true"}
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.Result != Cancelled || res.Error != "timed out after 700ms in setup alpha (workspace.ci.timeout)" {
		t.Errorf("result %s timed out %v, error %q", res.Result, res.TimedOut, res.Error)
	}
	if shortDuration(30*time.Minute) != "30m" || shortDuration(2*time.Hour) != "2h" || shortDuration(90*time.Second) != "1m30s" {
		t.Errorf("durations print as %s, %s, %s", shortDuration(30*time.Minute), shortDuration(2*time.Hour), shortDuration(90*time.Second))
	}
}

// A long step is reported while it runs, to Progress and to the run's log.
func TestHeartbeat(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	// The step runs until the test has seen its heartbeats: however
	// slow the machine, it beats exactly as often as the clock says.
	// The file that ends it is in the sibling's checkout, which the step
	// sees (its /tmp is its own).
	release := filepath.Join(filepath.Dir(cfg.Dir()), "alpha", "release")
	cfg.Sibling("alpha").Setup = []string{"while [ ! -e release ]; do sleep 0.01; done"}
	cfg.Workspace.CI.Test = []string{"true"}
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	beats := make(chan Event, 16)
	r := &Runner{DataDir: t.TempDir(), Heartbeat: 10 * time.Second, Clock: clk, Progress: func(e Event) {
		if e.Kind == EventHeartbeat {
			beats <- e
		}
	}}
	var out bytes.Buffer
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := r.Run(context.Background(), Request{Config: cfg, Local: true, Output: &out})
		done <- ran{res, err}
	}()
	clk.WaitTickers(1) // the setup step is running
	for i := 1; i <= 3; i++ {
		clk.Advance(10 * time.Second)
		b := <-beats
		if b.Sibling != "alpha" || b.Name != "setup" || b.Duration != time.Duration(i)*10*time.Second {
			t.Errorf("heartbeat %d: %+v", i, b)
		}
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.res.Result != Success {
		t.Fatalf("%v %+v", got.err, got.res)
	}
	// Run has returned, so every heartbeat it made is in the channel.
	if n := len(beats); n != 0 {
		t.Errorf("%d heartbeats more than the clock's 3 ticks: %+v", n, <-beats)
	}
	if !strings.Contains(out.String(), "setup alpha ... still running, 30s") {
		t.Errorf("the run's log has no heartbeat:\n%s", out.String())
	}
}

// A relative data dir still gives steps absolute paths, and the result
// carries the run's timings.
func TestRelativeDataDirAndTimings(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Sibling("alpha").Setup = []string{`echo "$WORKSPACE_ROOT" > root.txt; pwd > pwd.txt`}
	cfg.Workspace.CI.Test = []string{`case "$WORKSPACE_ROOT" in /*) cd "$WORKSPACE_ROOT/../alpha" && test -f root.txt;; *) echo "relative: $WORKSPACE_ROOT"; exit 1;; esac`}
	base := filepath.Dir(f.dataDir)
	// The process's working directory is shared: no t.Parallel here.
	t.Chdir(base)
	r := &Runner{DataDir: "data", Keep: true}
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if !filepath.IsAbs(res.BuildRoot) {
		t.Errorf("build root %q is relative", res.BuildRoot)
	}
	root := strings.TrimSpace(readFile(t, filepath.Join(res.BuildRoot, "alpha", "root.txt")))
	if !filepath.IsAbs(root) || !strings.HasPrefix(root, base) {
		t.Errorf("WORKSPACE_ROOT %q", root)
	}
	if res.DurationMS <= 0 || res.FetchMS <= 0 || res.CheckoutMS <= 0 {
		t.Errorf("timings: total %d ms, fetch %d ms, checkout %d ms", res.DurationMS, res.FetchMS, res.CheckoutMS)
	}
	sr := siblingResult(t, res, "alpha")
	if sr.FetchMS <= 0 || sr.CheckoutMS <= 0 || res.FetchMS > res.DurationMS {
		t.Errorf("sibling timings %+v of a %d ms run", sr, res.DurationMS)
	}
	data, _ := json.Marshal(res)
	for _, k := range []string{`"duration_ms":`, `"fetch_ms":`, `"checkout_ms":`, `"fetch":"fetched"`} {
		if !bytes.Contains(data, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, data)
		}
	}
}

// Branch tips are compared with the server's first: an unchanged tip is
// not fetched, a moved one is.
func TestTipsFetchedOnlyWhenMoved(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("beta", nil)
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"})
	r := f.runner()
	run := func() *Result {
		t.Helper()
		res, err := r.Run(context.Background(), Request{Config: cfg})
		if err != nil || res.Result != Success {
			t.Fatalf("%v %+v", err, res)
		}
		return res
	}
	run()
	before := f.requests.Load()
	res := run()
	for _, name := range []string{"alpha", "beta"} {
		if sr := siblingResult(t, res, name); sr.Fetch != fetchTipSame {
			t.Errorf("%s: fetch %q on an unchanged tip", name, sr.Fetch)
		}
	}
	// One ls-remote per sibling: git's smart HTTP asks for info/refs, and
	// with protocol v2 posts one ls-refs.
	if n := f.requests.Load() - before; n > 4 {
		t.Errorf("%d HTTP requests for two unchanged tips", n)
	}
	moved := f.commit("beta", "main", "", map[string]string{"new.txt": "x"})
	res = run()
	if sr := siblingResult(t, res, "beta"); sr.Fetch != fetchedNow || sr.SHA != moved {
		t.Errorf("beta after a push: %+v, want fetched at %s", sr, moved)
	}
	if sr := siblingResult(t, res, "alpha"); sr.Fetch != fetchTipSame {
		t.Errorf("alpha: %+v", sr)
	}
}

// The workspace repository, pinned without a ref, is built from its
// default branch, whatever it is called.
func TestWorkspaceRepoDefaultBranch(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	wsRepo := f.bare("ws")
	if err := gitfixture.InitBare(wsRepo, "trunk"); err != nil {
		t.Fatal(err)
	}
	tip := f.commit("ws", "trunk", "", map[string]string{"wrknv.toml": "# from the repo\n"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.Repo = f.url("ws")
	cfg.Workspace.CI.Test = []string{"grep -q 'from the repo' wrknv.toml"}
	for i := 0; i < 2; i++ { // a new mirror, then an existing one
		res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"ws": {}}})
		if err != nil || res.Result != Success {
			t.Fatalf("run %d: %v %+v", i, err, res)
		}
		if sr := siblingResult(t, res, "ws"); sr.Ref != "trunk" || sr.SHA != tip {
			t.Errorf("run %d: workspace built at %+v, want trunk at %s", i, sr, tip)
		}
	}
}

// [workspace].branch, when set, is what the pinned workspace repository
// is built from.
func TestWorkspaceRepoBranch(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	if err := gitfixture.InitBare(f.bare("ws"), "main"); err != nil {
		t.Fatal(err)
	}
	f.commit("ws", "main", "", map[string]string{"wrknv.toml": "# main\n"})
	tip := f.commit("ws", "release", "main", map[string]string{"wrknv.toml": "# release\n"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.Repo, cfg.Workspace.Branch = f.url("ws"), "release"
	cfg.Workspace.CI.Test = []string{"grep -q release wrknv.toml"}
	res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"ws": {}}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if sr := siblingResult(t, res, "ws"); sr.Ref != "release" || sr.SHA != tip {
		t.Errorf("workspace built at %+v, want release at %s", sr, tip)
	}
}

// A run's own Progress hears its steps start and end, with the Runner's
// secrets censored as in its log, while the Runner's Progress hears
// every run.
func TestRequestProgress(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Sibling("alpha").Setup = []string{"echo s3cret-token"}
	cfg.Workspace.CI.Test = []string{"true"}
	var all []Event
	r := &Runner{DataDir: t.TempDir(), Secrets: []string{"s3cret-token"}, Progress: func(e Event) { all = append(all, e) }}
	var mine []string
	res, err := r.Run(context.Background(), Request{Config: cfg, Local: true, Progress: func(e Event) {
		if e.Kind == EventStep {
			mine = append(mine, fmt.Sprintf("%s %s %s: %s done=%v", e.Name, e.Sibling, e.Command, e.Result, e.Done))
		}
	}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	want := []string{
		"setup alpha echo [redacted]:  done=false", "setup alpha echo [redacted]: success done=true",
		"test  true:  done=false", "test  true: success done=true",
	}
	if strings.Join(mine, "\n") != strings.Join(want, "\n") {
		t.Errorf("the run's progress:\n%s\nwant:\n%s", strings.Join(mine, "\n"), strings.Join(want, "\n"))
	}
	if len(all) < len(want) {
		t.Errorf("the Runner's Progress heard %d events, want at least %d", len(all), len(want))
	}
}
