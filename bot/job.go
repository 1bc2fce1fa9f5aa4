package bot

import (
	"fmt"
	"io"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/workspace"
)

// RemoteJob is what a remote executor's job is handed for one run: the
// plan pinned when the run was dispatched, with the trust decided then,
// so it builds exactly what the local executor would have built.
type RemoteJob struct {
	Run       int64  `json:"run"`
	Changeset string `json:"changeset"`
	// ConfigName and Config are the workspace config the run was
	// resolved with; ConfigRemote says it came from GitHub (the
	// workspace repository is then built at its pin or branch tip, not
	// used from the job's checkout).
	ConfigName     string            `json:"config_name"`
	Config         string            `json:"config"`
	ConfigRemote   bool              `json:"config_remote,omitempty"`
	Pins           map[string]ci.Pin `json:"pins"`
	Members        []string          `json:"members,omitempty"`
	Trusted        bool              `json:"trusted"`
	RequireSandbox bool              `json:"require_sandbox,omitempty"`
	RequireLimits  bool              `json:"require_limits,omitempty"`
	RunLabel       string            `json:"run_label,omitempty"`
	// Repository is the workspace repository whose workflow run builds
	// it: where the service looks for and cancels that run.
	Repository string `json:"repository,omitempty"`
	// RetriedFlaky is how many times the run was built again before
	// this job because every failing test was known to be flaky.
	RetriedFlaky int `json:"retried_flaky,omitempty"`
}

// remoteJob is the job for p.
func (b *Bot) remoteJob(p *Plan) RemoteJob {
	req := b.request(p)
	return RemoteJob{Run: p.Run, Changeset: req.Changeset, ConfigName: p.Config.Name, Config: string(p.Config.Text), ConfigRemote: p.Config.Remote,
		Pins: req.Pins, Members: req.Members, Trusted: req.Trusted, RequireSandbox: req.RequireSandbox, RequireLimits: req.RequireLimits, RunLabel: req.RunLabel}
}

// Request is what j asks ci to build, with cfg read from j.Config (at
// the job's checkout, for a local config), writing the log to out.
func (j *RemoteJob) Request(cfg *workspace.Config, out io.Writer, progress func(ci.Event)) ci.Request {
	return ci.Request{Config: cfg, Pins: j.Pins, Changeset: j.Changeset, Output: out, RunLabel: j.RunLabel, Members: j.Members,
		Trusted: j.Trusted, RequireSandbox: j.RequireSandbox, RequireLimits: j.RequireLimits, Progress: progress}
}

// JobResult is what a job posts back: the result, and the tail of its
// log, which the run page and the summary show.
type JobResult struct {
	Result *ci.Result `json:"result"`
	Log    string     `json:"log,omitempty"`
}

// Limits of what a job posts back.
const (
	// MaxJobResult bounds the body of POST /runs/{id}/result.
	MaxJobResult = 4 << 20
	// MaxJobLog is how much of its log's tail a job sends.
	MaxJobLog = 1 << 20
)

// check refuses a result that is not of j: another changeset, or a
// sibling built at other than its pinned SHA. A forged result could
// otherwise report green for code nobody built.
func (j *RemoteJob) check(res *ci.Result) error {
	if res == nil {
		return fmt.Errorf("the body has no result")
	}
	switch res.Result {
	case ci.Success, ci.Failure, ci.Error, ci.Cancelled:
	default:
		return fmt.Errorf("result %q is not how a run ends (success, failure, error or cancelled)", res.Result)
	}
	if res.Changeset != j.Changeset {
		return fmt.Errorf("the result is of changeset %q, not of this run's %q", res.Changeset, j.Changeset)
	}
	built := map[string]string{}
	for _, s := range res.Siblings {
		if _, dup := built[s.Name]; dup {
			return fmt.Errorf("the result names sibling %s twice", s.Name)
		}
		built[s.Name] = s.SHA
		if pin, ok := j.Pins[s.Name]; ok && pin.SHA != "" && s.SHA != "" && s.SHA != pin.SHA {
			return fmt.Errorf("the result says %s was built at %s, but the run pinned %s", s.Name, s.SHA, pin.SHA)
		}
	}
	if res.Result == ci.Success {
		for name, pin := range j.Pins {
			if pin.SHA != "" && built[name] != pin.SHA {
				return fmt.Errorf("a success must name every pinned head, and %s at %s is missing", name, pin.SHA)
			}
		}
	}
	res.Duration = time.Duration(res.DurationMS) * time.Millisecond
	return nil
}
