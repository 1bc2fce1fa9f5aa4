package e2e

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// The fault matrix: a changeset of two PRs built by a real serve process
// against the emulator, each time with one fault: a 502, a 429 or a 403
// secondary rate limit on one GitHub call (every call of a reference run
// in turn), or kill -9 at one point of the run followed by a restart on
// the same data dir. After each, every member PR must end with exactly
// one final status (the last one of the context) or exactly one check
// run, completed, and exactly one summary comment.

// faultRun is one changeset run through serve, with one fault.
type faultRun struct {
	*world
	bin, addr, dataDir string
	logs               *syncBuffer
	flags              []string // serve flags past the common ones
	app                bool     // report as a GitHub App, with check runs
	ms                 []member
	heads              map[string]string

	mu  sync.Mutex
	cmd *exec.Cmd
}

type faultOptions struct {
	app bool
	// slow makes the build take a while, so a kill lands in it.
	slow bool
}

func newFaultRun(t *testing.T, o faultOptions) *faultRun {
	t.Helper()
	// Two siblings, both in the changeset: every repository the build
	// fetches is a member.
	w := newWorld(t, worldOptions{noServe: true, siblings: []string{"core", "lib"}})
	check := "echo core changed\n"
	if o.slow {
		check = "sleep 2\necho core changed\n"
	}
	f := &faultRun{world: w, bin: buildBot(t), addr: freeAddr(t), dataDir: t.TempDir(), logs: &syncBuffer{}, app: o.app, heads: map[string]string{},
		// One event: nothing to coalesce, so no reason to wait.
		flags: []string{"--coalesce-window", "20ms"}}
	f.ms = []member{
		{"acme/core", w.openPR("acme/core", "feat", "", map[string]string{"check.sh": check})},
		{"acme/lib", w.openPR("acme/lib", "feat", "", map[string]string{"README": "lib changed\n"})},
	}
	for _, m := range f.ms {
		f.heads[m.repo] = w.head(m.repo, m.n)
	}
	if o.app {
		app, _ := w.registerApp()
		f.flags = append(f.flags, app...)
	}
	f.start()
	return f
}

// start starts serve on the run's data dir. A restart listens on a new
// address: another test may have been given the old one meanwhile.
func (f *faultRun) start() {
	if f.cmd != nil {
		f.addr = freeAddr(f.t)
	}
	cmd := f.startServe(f.bin, f.addr, f.dataDir, f.logs, f.flags...)
	f.mu.Lock()
	f.cmd = cmd
	f.mu.Unlock()
}

// kill kills serve with SIGKILL and reaps it.
func (f *faultRun) kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd.ProcessState != nil {
		return
	}
	f.cmd.Process.Signal(syscall.SIGKILL)
	f.cmd.Wait()
}

// trigger delivers the opening of the core PR.
func (f *faultRun) trigger() {
	m := f.ms[0]
	if f.app {
		f.send("pull_request", f.prAppPayload("opened", m.repo, m.n))
		return
	}
	f.send("pull_request", f.prPayload("opened", m.repo, m.n))
}

// killAt kills serve when a call matching match is in flight; the call is
// then applied (GitHub acted, the answer is lost) or dropped (a 502). The
// returned channel closes after the kill.
func (f *faultRun) killAt(applied bool, match func(method, path, body string) bool) <-chan struct{} {
	killed := make(chan struct{})
	var fired atomic.Bool
	f.gh.SetHook(func(method, path string, body []byte) *githubtest.Fault {
		if !match(method, path, string(body)) || fired.Swap(true) {
			return nil
		}
		f.kill()
		close(killed)
		if applied {
			return nil
		}
		return &githubtest.Fault{Status: http.StatusBadGateway}
	})
	return killed
}

// restartAfter waits for the kill, then starts serve again.
func (f *faultRun) restartAfter(killed <-chan struct{}) {
	f.t.Helper()
	select {
	case <-killed:
	case <-time.After(time.Until(patience(f.t))):
		f.t.Fatalf("the call to kill at never came\n%s", f.logs.String())
	}
	f.gh.SetHook(nil)
	f.start()
}

// metric reads one unlabelled sample from serve's /metrics.
func (f *faultRun) metric(name string) (float64, error) {
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

// settled says whether every member has a final state and a summary and
// serve owes nothing more, or what is missing.
func (f *faultRun) settled() (bool, string) {
	for _, m := range f.ms {
		sha := f.heads[m.repo]
		if f.app {
			crs := f.ourChecks(m.repo, sha)
			if len(crs) == 0 || crs[len(crs)-1].Status != "completed" {
				return false, fmt.Sprintf("%s: check runs %+v", m.repo, crs)
			}
		} else if st := f.status(m.repo, sha); st.State == "" || st.State == "pending" {
			return false, fmt.Sprintf("%s: last status %+v", m.repo, st)
		}
		if len(f.summaries(m.repo, m.n)) == 0 {
			return false, m.repo + ": no summary"
		}
	}
	for _, name := range []string{"workspace_bot_reports_pending", "workspace_bot_queue_depth"} {
		if v, err := f.metric(name); err != nil || v != 0 {
			return false, fmt.Sprintf("%s %v %v", name, v, err)
		}
	}
	return true, ""
}

// await waits until the run has settled, then checks what every member
// shows: one final state, passed, and one summary.
func (f *faultRun) await() {
	f.t.Helper()
	deadline := patience(f.t)
	for {
		ok, why := f.settled()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("not settled in time: %s\nserve:\n%s", why, f.logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, m := range f.ms {
		sha := f.heads[m.repo]
		if f.app {
			if crs := f.ourChecks(m.repo, sha); len(crs) != 1 || crs[0].Conclusion != "success" {
				f.t.Errorf("%s: check runs %+v, want exactly one, success", m.repo, crs)
			}
			if sts := f.gh.Statuses(m.repo, sha); len(sts) != 0 {
				f.t.Errorf("%s: statuses %+v from an App", m.repo, sts)
			}
		} else if st := f.status(m.repo, sha); st.State != "success" || !strings.HasPrefix(st.Description, "passed") {
			f.t.Errorf("%s: last status %+v, want success", m.repo, st)
		}
		if sums := f.summaries(m.repo, m.n); len(sums) != 1 || !strings.Contains(sums[0].Body, "passed") {
			f.t.Errorf("%s: %d summaries %+v, want exactly one, passed", m.repo, len(sums), sums)
		}
	}
	if f.t.Failed() {
		f.t.Logf("serve:\n%s", f.logs.String())
	}
}

// faultCase is one fault: arm sets it up before the run is triggered
// and returns what to do while the run goes on (nil: nothing).
type faultCase struct {
	family string
	name   string
	opts   faultOptions
	arm    func(f *faultRun) func()
}

// Matchers of calls to kill at.
func finalState(method, path, body string) bool {
	return (method == "POST" && strings.Contains(path, "/statuses/") || method == "PATCH" && strings.Contains(path, "/check-runs/")) &&
		(strings.Contains(body, `"state":"success"`) || strings.Contains(body, `"conclusion":"success"`))
}

func running(method, path, body string) bool {
	return method == "POST" && strings.Contains(path, "/statuses/") && strings.Contains(body, `"description":"running`) ||
		method == "PATCH" && strings.Contains(path, "/check-runs/") && strings.Contains(body, `"in_progress"`)
}

func on(repo string, match func(method, path, body string) bool) func(method, path, body string) bool {
	return func(method, path, body string) bool {
		return strings.HasPrefix(path, "/repos/"+repo+"/") && match(method, path, body)
	}
}

func summaryCreate(method, path, _ string) bool {
	return method == "POST" && strings.HasSuffix(path, "/comments") && strings.Contains(path, "/issues/")
}

func checkRunCreate(method, path, _ string) bool {
	return method == "POST" && strings.HasSuffix(path, "/check-runs")
}

// killCase kills serve when match is in flight and starts it again.
func killCase(name string, opts faultOptions, applied bool, match func(method, path, body string) bool) faultCase {
	return faultCase{family: "kill", name: name, opts: opts, arm: func(f *faultRun) func() {
		killed := f.killAt(applied, match)
		return func() { f.restartAfter(killed) }
	}}
}

// callFaults are one fault at each call index of the reference run in at.
func callFaults(family string, o faultOptions, at []int, fault githubtest.Fault) []faultCase {
	var out []faultCase
	for _, k := range at {
		fl := fault
		fl.Skip = k
		out = append(out, faultCase{family: family, name: fmt.Sprintf("%s at call %d", family, k+1), opts: o, arm: func(f *faultRun) func() {
			f.gh.Fault(fl)
			return nil
		}})
	}
	return out
}

// faultWidth is how many fault runs go at once: each is mostly waiting
// (for the coalescing window, the build's processes, the emulator).
const faultWidth = 8

// fullSweep runs every fault family at every call; by default a fault
// hits only the first call of an endpoint, each endpoint one rate limit,
// to keep the suite fast (the client treats a failure alike on every
// call of an endpoint, and waits out both rate limits in one place;
// go test ./internal/e2e -run FaultMatrix -faults.full runs them all).
var fullSweep = flag.Bool("faults.full", false, "fault matrix: a 502, a 429 and a 403 secondary rate limit at every call of the reference run, not only the first of each endpoint")

// referenceCalls runs the changeset without a fault and returns its
// GitHub calls in order (method and path), from the webhook to the last
// report.
func referenceCalls(t *testing.T, o faultOptions) []string {
	ref := newFaultRun(t, o)
	var mu sync.Mutex
	var calls []string
	ref.gh.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, method+" "+path)
		return nil
	})
	ref.trigger()
	ref.await()
	ref.gh.SetHook(nil)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("a reference run (app %v) makes %d GitHub calls:\n%s", o.app, len(calls), strings.Join(calls, "\n"))
	return calls
}

// firstOfEach are the indexes of the first call to each endpoint not
// seen yet, which it marks seen.
func firstOfEach(calls []string, seen map[string]bool) []int {
	repo := regexp.MustCompile(`^(\S+ /repos)/[^/]+/[^/]+`)
	number := regexp.MustCompile(`/([0-9a-f]{40}|[0-9]+)(/|$)`)
	var out []int
	for i, c := range calls {
		ep := number.ReplaceAllString(repo.ReplaceAllString(c, "$1/{repo}"), "/{}$2")
		if !seen[ep] {
			seen[ep] = true
			out = append(out, i)
		}
	}
	return out
}

// inTurn deals at out in turn: the first, third... to a; the rest to b.
func inTurn(at []int) (a, b []int) {
	for i, k := range at {
		if i%2 == 0 {
			a = append(a, k)
		} else {
			b = append(b, k)
		}
	}
	return a, b
}

func everyCall(calls []string) []int {
	out := make([]int, len(calls))
	for i := range out {
		out[i] = i
	}
	return out
}

func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	app := faultOptions{app: true}
	calls, appCalls := referenceCalls(t, faultOptions{}), referenceCalls(t, app)
	// By default each endpoint gets one rate limit, a 429 and a 403
	// secondary in turn (the client waits out both in one place): as a
	// token calls it, and as an App for the endpoints only an App calls.
	seen := map[string]bool{}
	limited := firstOfEach(calls, seen)
	appLimited := firstOfEach(appCalls, seen)
	// A 502 hits the first call of each endpoint the run makes as a
	// token, and of each endpoint only an App calls.
	seen = map[string]bool{}
	errored := firstOfEach(calls, seen)
	appErrored := firstOfEach(appCalls, seen)
	tooManyAt, secondaryAt := inTurn(limited)
	appTooManyAt, appSecondaryAt := inTurn(appLimited)
	if *fullSweep {
		errored, appErrored = everyCall(calls), everyCall(appCalls)
		tooManyAt, secondaryAt, appTooManyAt, appSecondaryAt = errored, errored, appErrored, appErrored
	}
	tooMany := githubtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1}
	secondary := githubtest.Fault{Secondary: true, RetryAfter: 1}

	cases := callFaults("502", faultOptions{}, errored, githubtest.Fault{Status: http.StatusBadGateway})
	cases = append(cases, callFaults("app: 502", app, appErrored, githubtest.Fault{Status: http.StatusBadGateway})...)
	cases = append(cases, callFaults("429", faultOptions{}, tooManyAt, tooMany)...)
	cases = append(cases, callFaults("app: 429", app, appTooManyAt, tooMany)...)
	cases = append(cases, callFaults("403 secondary", faultOptions{}, secondaryAt, secondary)...)
	cases = append(cases, callFaults("app: 403 secondary", app, appSecondaryAt, secondary)...)
	cases = append(cases,
		killCase("claimed: the running state in flight", faultOptions{}, false, on("acme/core", running)),
		faultCase{family: "kill", name: "building", opts: faultOptions{slow: true}, arm: func(f *faultRun) func() {
			return func() {
				f.waitFor("the build to start", func() bool {
					return strings.HasPrefix(f.status("acme/lib", f.heads["acme/lib"]).Description, "running")
				})
				f.kill()
				f.start()
			}
		}},
		killCase("result recorded, no report sent", faultOptions{}, false, on("acme/core", finalState)),
		killCase("result recorded, the first report taken but its answer lost", faultOptions{}, true, on("acme/core", finalState)),
		killCase("reports half sent: the second state in flight", faultOptions{}, false, on("acme/lib", finalState)),
		killCase("reports half sent: the second summary created, its answer lost", faultOptions{}, true, on("acme/lib", summaryCreate)),
		killCase("app: a check run created, its answer lost", app, true, on("acme/core", checkRunCreate)),
		killCase("app: claimed", app, false, on("acme/core", running)),
		killCase("app: result recorded, no report sent", app, false, on("acme/core", finalState)),
		killCase("app: reports half sent", app, true, on("acme/lib", finalState)),
	)

	var mu sync.Mutex
	tried := map[string]int{}
	survived := map[string]int{}
	sem := make(chan struct{}, faultWidth)
	var wg sync.WaitGroup
	for _, c := range cases {
		mu.Lock()
		tried[c.family]++
		mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ran := false
			ok := t.Run(c.name, func(t *testing.T) {
				ran = true
				f := newFaultRun(t, c.opts)
				during := c.arm(f)
				f.trigger()
				if during != nil {
					during()
				}
				f.await()
			})
			mu.Lock()
			defer mu.Unlock()
			if !ran {
				tried[c.family]-- // left out by -run
			} else if ok {
				survived[c.family]++
			}
		}()
	}
	wg.Wait()
	for _, fam := range []string{"502", "app: 502", "429", "app: 429", "403 secondary", "app: 403 secondary", "kill"} {
		if tried[fam] == 0 {
			continue
		}
		what := fmt.Sprintf("%s at each of the %d calls", fam, tried[fam])
		switch {
		case fam == "kill":
			what = fmt.Sprintf("kill -9 at each of %d points", tried[fam])
		case *fullSweep:
		case fam == "502":
			what = fmt.Sprintf("%s at the first call to each of the %d endpoints", fam, tried[fam])
		case fam == "app: 502":
			what = fmt.Sprintf("%s at the first call to each of the %d endpoints only an App calls", fam, tried[fam])
		case strings.HasPrefix(fam, "app: "):
			what = fmt.Sprintf("%s at the first call to %d of the endpoints only an App calls (every other one)", fam, tried[fam])
		default:
			what = fmt.Sprintf("%s at the first call to %d of the endpoints (every other one)", fam, tried[fam])
		}
		t.Logf("%s: %d/%d survived", what, survived[fam], tried[fam])
	}
}
