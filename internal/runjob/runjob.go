// Package runjob is the job side of the actions executor: in a GitHub
// Actions workflow run, it fetches the plan the service pinned for one
// run, builds it exactly as the service would have (the same
// materialization, steps and limits, through ci), and posts the outcome
// back. `workspace-bot run-job` is its command.
package runjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/action"
	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/webhook"
	"github.com/provide-io/workspace-bot/workspace"
)

// TokenVar is the variable the job's run token comes in: never a flag,
// which any process on the runner could read from the command line.
const TokenVar = "WORKSPACE_BOT_RUN_TOKEN"

// Options are one job's.
type Options struct {
	// Service is the service's base URL, Run the run to build, Token its
	// one-time token.
	Service string
	Run     int64
	Token   string
	// WorkflowRun is the GitHub Actions run this job runs in
	// (GITHUB_RUN_ID), told to the service; 0 when unknown.
	WorkflowRun int64
	// Dir is the workspace repository's checkout: the workspace root of
	// a run whose config is a local file.
	Dir string
	// DataDir holds mirrors and build roots.
	DataDir string
	// GitHubToken, when set, fetches private siblings on the GitHub at
	// APIURL (the workflow's secret; the run token only reaches the
	// service). Secrets are censored out of the build's output, the
	// tokens with them.
	GitHubToken    string
	APIURL         string
	Secrets        []string
	Stdout, Stderr io.Writer
	// HTTP talks to the service; nil is a client with a timeout.
	HTTP *http.Client
	// Retry is the pause between tries of a request the service did not
	// answer (1s when 0).
	Retry time.Duration
}

// Validate checks o; its errors name the flag or variable to set.
func (o *Options) Validate() error {
	switch {
	case o.Service == "":
		return errors.New("--service is empty: give the service's URL, the service input of the workflow")
	case !strings.HasPrefix(o.Service, "http://") && !strings.HasPrefix(o.Service, "https://"):
		return fmt.Errorf("--service %q: want the service's http(s) URL", o.Service)
	case o.Run <= 0:
		return errors.New("--run: give the run's id, the run input of the workflow")
	case o.Token == "":
		return errors.New(TokenVar + " is empty: the workflow sets it from its token input")
	}
	return nil
}

// Run builds the job's run and posts its outcome; it returns the exit
// code: 0 for a success (or a run the service no longer wants), 1 for a
// failure, 3 when the service or the build could not be reached.
func Run(ctx context.Context, o Options) int {
	w := &action.Workflow{Out: o.Stdout}
	w.Mask(o.Token)
	if err := o.Validate(); err != nil {
		fmt.Fprintf(o.Stderr, "workspace-bot run-job: %s\n", err)
		return exitcode.Usage
	}
	o.Service = strings.TrimRight(o.Service, "/")
	job, err := o.plan(ctx)
	var gone *goneError
	if errors.As(err, &gone) {
		// Superseded or cancelled while the job waited for a runner.
		w.Notice(fmt.Sprintf("run %d is not to be built: %s", o.Run, gone.reason))
		return exitcode.OK
	}
	if err != nil {
		w.Error("workspace-bot run-job", err.Error())
		return exitcode.Infra
	}
	name := filepath.Join(o.Dir, filepath.Base(job.ConfigName))
	cfg, _, err := workspace.Parse(name, []byte(job.Config))
	if err != nil {
		return o.post(ctx, w, job, &ci.Result{Result: ci.Error, Changeset: job.Changeset, Error: "the run's workspace config cannot be read here: " + err.Error()}, "")
	}
	tail := &tailBuffer{max: bot.MaxJobLog}
	runner := &ci.Runner{DataDir: o.DataDir, Secrets: append([]string{o.Token, o.GitHubToken}, o.Secrets...), Confine: true}
	if o.GitHubToken != "" {
		w.Mask(o.GitHubToken)
		f, err := ghclient.New(ghclient.Options{APIURL: o.APIURL, Token: o.GitHubToken})
		if err != nil {
			fmt.Fprintf(o.Stderr, "workspace-bot run-job: %s\n", err)
			return exitcode.Usage
		}
		// Siblings on the same GitHub are fetched with the token, as the
		// service fetches them; the steps never see it.
		runner.Authorization = f.GitAuthorization
	}
	res, err := runner.Run(ctx, job.Request(cfg, tail, ci.NewProgress(o.Stdout, false)))
	if res == nil {
		res = &ci.Result{Result: ci.Error}
	}
	if err != nil && res.Result != ci.Cancelled {
		res.Result = ci.Error
		if res.Error == "" {
			res.Error = err.Error()
		}
	}
	res.Changeset = job.Changeset
	action.Groups(w, "workspace-bot run "+strconv.FormatInt(o.Run, 10), res)
	code := o.post(ctx, w, job, res, tail.String())
	if code != exitcode.OK {
		return code
	}
	return ci.ExitCode(res, err)
}

// goneError is the service saying the run is over: stop.
type goneError struct{ reason string }

func (g *goneError) Error() string { return g.reason }

// plan fetches the run's plan, trying again while the service does not
// answer.
func (o *Options) plan(ctx context.Context) (*bot.RemoteJob, error) {
	var body []byte
	err := o.try(ctx, func() (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/runs/%d/plan", o.Service, o.Run), nil)
		if err != nil {
			return 0, nil, err
		}
		o.auth(req)
		return o.do(req, &body)
	})
	if err != nil {
		return nil, err
	}
	var job bot.RemoteJob
	if err := json.Unmarshal(body, &job); err != nil {
		return nil, fmt.Errorf("the service's plan for run %d is not JSON of a job: %w", o.Run, err)
	}
	if job.Run != o.Run {
		return nil, fmt.Errorf("the service answered with the plan of run %d, not %d", job.Run, o.Run)
	}
	return &job, nil
}

// post posts res with the log's tail, trying again while the service
// does not answer; the same body again is the same result to it.
func (o *Options) post(ctx context.Context, w *action.Workflow, job *bot.RemoteJob, res *ci.Result, log string) int {
	body, err := json.Marshal(bot.JobResult{Result: res, Log: log})
	if err != nil {
		w.Error("workspace-bot run-job", "encoding the result failed: "+err.Error())
		return exitcode.Infra
	}
	// The result is posted even when the job was cancelled: the service
	// says whether it still wants it.
	pctx := context.WithoutCancel(ctx)
	err = o.try(pctx, func() (int, []byte, error) {
		req, err := http.NewRequestWithContext(pctx, http.MethodPost, fmt.Sprintf("%s/runs/%d/result", o.Service, job.Run), bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		o.auth(req)
		req.Header.Set("Content-Type", "application/json")
		return o.do(req, nil)
	})
	var gone *goneError
	if errors.As(err, &gone) {
		w.Notice(fmt.Sprintf("run %d's result is not wanted: %s", job.Run, gone.reason))
		return exitcode.OK
	}
	if err != nil {
		w.Error("workspace-bot run-job", "posting the result failed: "+err.Error())
		return exitcode.Infra
	}
	return exitcode.OK
}

func (o *Options) auth(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+o.Token)
	if o.WorkflowRun != 0 {
		req.Header.Set(webhook.HeaderWorkflowRun, strconv.FormatInt(o.WorkflowRun, 10))
	}
}

// do sends req and reads its answer into body (when not nil): 2xx is
// done, 409 is the run gone, other 4xx are refusals, the rest worth
// another try.
func (o *Options) do(req *http.Request, body *[]byte) (int, []byte, error) {
	client := o.HTTP
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		*body = data
	}
	return resp.StatusCode, data, nil
}

// defaultClient talks to the service when Options.HTTP is nil.
var defaultClient = &http.Client{Timeout: 2 * time.Minute}

// try runs call up to five times while it fails in a way another try may
// fix (no answer, 5xx, 429).
func (o *Options) try(ctx context.Context, call func() (int, []byte, error)) error {
	retry := o.Retry
	if retry <= 0 {
		retry = time.Second
	}
	var last error
	for i := 0; i < 5; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(retry * time.Duration(i)):
			}
		}
		status, data, err := call()
		reason := strings.TrimSpace(string(data))
		switch {
		case err != nil:
			last = fmt.Errorf("the service did not answer: %w", err)
			continue
		case status >= 200 && status < 300:
			return nil
		case status == http.StatusConflict:
			return &goneError{reason: reason}
		case status == http.StatusTooManyRequests || status >= 500:
			last = fmt.Errorf("the service answered %d: %s", status, reason)
			continue
		}
		return fmt.Errorf("the service refused (%d): %s", status, reason)
	}
	return last
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
