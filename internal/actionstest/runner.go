// Package actionstest is a GitHub Actions runner for tests: it takes the
// workflow runs the emulator's dispatches make and runs the real
// workspace-bot binary's run-job in them, in an environment like a
// runner's (a checkout of the workspace, GITHUB_RUN_ID, RUNNER_TEMP), and
// ends each run as GitHub would. It can be told to let a job die midway,
// hang, or never start.
package actionstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// Mode is what the runner does with one dispatched run.
type Mode int

const (
	// Build runs the job to its end.
	Build Mode = iota
	// Die kills the job once it started building, as a runner that lost
	// its machine, and ends the run failed without a result.
	Die
	// Hang takes the run (in progress) and never runs the job.
	Hang
	// NeverStart leaves the run queued: no runner has its labels.
	NeverStart
)

// Runner runs the emulator's dispatched runs. Start it, Close it.
type Runner struct {
	GH  *githubtest.Server
	Bin string // the workspace-bot binary
	// Checkout is copied as the job's checkout of the workspace
	// repository.
	Checkout string
	// Modes says what to do with each dispatch in turn; Build once they
	// are used up.
	Modes []Mode
	// Env is added to the job's environment.
	Env []string
	// Service, when set, turns the service URL a run was dispatched with
	// into the one the job talks to: another replica's.
	Service func(string) string
	// StandIn, when set, makes each job a stand-in for a runner with a
	// machine of its own: it fetches its plan, takes StandIn as its
	// build, and posts a success naming the pinned heads, without
	// starting the binary. It costs the machine the service runs on
	// nothing while it builds, as a real runner's job does not.
	StandIn time.Duration

	mu      sync.Mutex
	n       int
	procs   map[int64]*exec.Cmd
	logs    map[int64]*bytes.Buffer
	started map[int64]time.Time
	wg      sync.WaitGroup
	closed  bool
	ctx     context.Context
	stop    context.CancelFunc
}

// Start hooks the runner to the emulator's dispatches and cancels.
func (r *Runner) Start() {
	r.procs, r.logs, r.started = map[int64]*exec.Cmd{}, map[int64]*bytes.Buffer{}, map[int64]time.Time{}
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.GH.OnDispatch(r.dispatched)
	r.GH.OnCancel(r.cancelled)
}

// Close kills the jobs still running and waits for them.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.GH.OnDispatch(nil)
	r.GH.OnCancel(nil)
	r.stop()
	r.wg.Wait()
}

// Log is everything run id's job printed, so far.
func (r *Runner) Log(id int64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.logs[id]; b != nil {
		return b.String()
	}
	return ""
}

// Started says when the runner started the job of workflow run id.
func (r *Runner) Started(id int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.started[id]
	return t, ok
}

func (r *Runner) dispatched(run githubtest.WorkflowRun) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	mode := Build
	if r.n < len(r.Modes) {
		mode = r.Modes[r.n]
	}
	r.n++
	r.wg.Add(1)
	r.mu.Unlock()
	// A runner picks the job up on its own time, not inside GitHub's
	// answer to the dispatch.
	go func() {
		defer r.wg.Done()
		r.run(run, mode)
	}()
}

func (r *Runner) cancelled(run githubtest.WorkflowRun) {
	r.mu.Lock()
	cmd := r.procs[run.ID]
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	// As a runner cancels a job: SIGINT to the step, then the kill.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-r.ctx.Done():
		}
	}()
}

func (r *Runner) run(run githubtest.WorkflowRun, mode Mode) {
	if mode == NeverStart {
		return
	}
	if !r.GH.StartWorkflowRun(run.ID) || mode == Hang {
		return
	}
	conclusion, err := r.job(run, mode)
	if err != nil {
		r.mu.Lock()
		fmt.Fprintf(r.logs[run.ID], "\nactionstest: %v\n", err)
		r.mu.Unlock()
	}
	r.GH.CompleteWorkflowRun(run.ID, conclusion)
}

// job runs run-job for run in a fresh checkout and returns the run's
// conclusion.
func (r *Runner) job(run githubtest.WorkflowRun, mode Mode) (string, error) {
	if r.StandIn > 0 {
		return r.standIn(run)
	}
	dir, err := os.MkdirTemp("", "actionstest-job-*")
	if err != nil {
		return "failure", err
	}
	defer os.RemoveAll(dir)
	work := filepath.Join(dir, "work", "ws")
	if err := os.CopyFS(work, os.DirFS(r.Checkout)); err != nil {
		return "failure", err
	}
	temp := filepath.Join(dir, "temp")
	if err := os.MkdirAll(temp, 0o755); err != nil {
		return "failure", err
	}
	service := run.Inputs[bot.InputService]
	if r.Service != nil {
		service = r.Service(service)
	}
	cmd := exec.CommandContext(r.ctx, r.Bin, "run-job", "--service", service, "--run", run.Inputs[bot.InputRun])
	cmd.Dir = work
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + temp,
		"GITHUB_ACTIONS=true", "CI=true", "RUNNER_TEMP=" + temp,
		"GITHUB_RUN_ID=" + strconv.FormatInt(run.ID, 10), "GITHUB_WORKSPACE=" + work,
		"GITHUB_REPOSITORY=" + run.Repo, "GITHUB_SERVER_URL=" + r.GH.URL(), "GITHUB_API_URL=" + r.GH.APIURL(),
		"WORKSPACE_BOT_RUN_TOKEN=" + run.Inputs[bot.InputToken],
	}, r.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &bytes.Buffer{}
	building := make(chan struct{})
	w := &watch{mu: &r.mu, buf: out, after: "::add-mask::", seen: building}
	cmd.Stdout, cmd.Stderr = w, w
	r.mu.Lock()
	r.logs[run.ID], r.procs[run.ID], r.started[run.ID] = out, cmd, time.Now()
	r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return "failure", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if mode == Die {
		select {
		case <-building:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case err := <-done:
			return "failure", fmt.Errorf("the job ended before it could be killed: %v", err)
		}
	}
	err = <-done
	r.mu.Lock()
	delete(r.procs, run.ID)
	r.mu.Unlock()
	if err != nil {
		return "failure", nil
	}
	return "success", nil
}

// watch collects a job's output and closes seen at the first line
// after the one that starts with after: the job is past its start and
// building.
type watch struct {
	mu    *sync.Mutex
	buf   *bytes.Buffer
	after string
	seen  chan struct{}
	past  bool
	once  sync.Once
}

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.past {
		if i := strings.Index(w.buf.String(), w.after); i >= 0 {
			rest := w.buf.String()[i:]
			if j := strings.IndexByte(rest, '\n'); j >= 0 && len(strings.TrimSpace(rest[j+1:])) > 0 {
				w.past = true
				w.once.Do(func() { close(w.seen) })
			}
		}
	}
	return len(p), nil
}

var _ io.Writer = (*watch)(nil)

// standIn is a job that speaks the service's protocol and builds
// nothing (Runner.StandIn).
func (r *Runner) standIn(run githubtest.WorkflowRun) (string, error) {
	service := run.Inputs[bot.InputService]
	if r.Service != nil {
		service = r.Service(service)
	}
	base := fmt.Sprintf("%s/runs/%s", strings.TrimRight(service, "/"), run.Inputs[bot.InputRun])
	call := func(method, url string, body []byte, into any) error {
		req, err := http.NewRequestWithContext(r.ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+run.Inputs[bot.InputToken])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", method, url, resp.Status)
		}
		if into != nil {
			return json.NewDecoder(resp.Body).Decode(into)
		}
		return nil
	}
	r.mu.Lock()
	r.logs[run.ID], r.started[run.ID] = &bytes.Buffer{}, time.Now()
	r.mu.Unlock()
	var job bot.RemoteJob
	if err := call(http.MethodGet, base+"/plan", nil, &job); err != nil {
		return "failure", err
	}
	select {
	case <-time.After(r.StandIn):
	case <-r.ctx.Done():
		return "cancelled", nil
	}
	res := &ci.Result{Result: ci.Success, Changeset: job.Changeset, DurationMS: r.StandIn.Milliseconds()}
	for name, pin := range job.Pins {
		res.Siblings = append(res.Siblings, ci.SiblingResult{Name: name, SHA: pin.SHA})
	}
	body, err := json.Marshal(bot.JobResult{Result: res, Log: "stand-in job\n"})
	if err != nil {
		return "failure", err
	}
	if err := call(http.MethodPost, base+"/result", body, nil); err != nil {
		return "failure", err
	}
	return "success", nil
}
