package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/workspace"
)

// DefaultParallel is how many repositories are fetched and checked out at
// once when Runner.Parallel is 0. Fetches wait on the network and
// checkouts on the disk, so a few more than the CPU count pays off.
const DefaultParallel = 8

// Runner materializes workspaces and runs their steps. One Runner may run
// many requests at once; they share its mirrors.
type Runner struct {
	// DataDir holds mirrors (DataDir/mirrors) and build roots
	// (DataDir/builds, removed after each run unless Keep).
	DataDir string
	// Progress, when set, is told when fetches, checkouts and steps start
	// and end. Calls are serialized, so it need not be safe for concurrent
	// use; it must return quickly.
	Progress func(Event)
	// Keep leaves the build root in place after the run (Result.BuildRoot).
	Keep bool
	// Parallel bounds concurrent fetches and checkouts (0: DefaultParallel).
	Parallel int
	// Heartbeat is how often a step still running is reported (an
	// EventHeartbeat, and a line in Request.Output); 0 means every 30 s.
	Heartbeat time.Duration
	// Authorization, when set, gives the HTTP Authorization header value
	// for fetching a repository URL ("" for none). It reaches git through
	// its environment, so no credential is written to a mirror's config
	// or shown on a command line.
	Authorization func(ctx context.Context, repoURL string) (string, error)
	// Secrets are values no build output may show (tokens, the webhook
	// secret, private keys): they, their base64 and their URL-encoded
	// forms are replaced by [redacted] in step logs, Request.Output and
	// Result before anything is stored, streamed or returned. Credentials
	// Authorization hands out are added on their own. Set before the
	// first Run.
	Secrets []string
	// MaxLog, when set, caps a run's step output in Request.Output over
	// the config's [workspace.ci].max_log (DefaultMaxLog when neither
	// says); MaxStepLog caps one step's (0: the run's cap). What is cut is replaced by a marker saying how
	// many bytes, keeping the head and the tail.
	MaxLog, MaxStepLog int64

	progressMu sync.Mutex
	secretsMu  sync.Mutex
	secrets    *secrets
}

// Request is one run: which workspace, at which refs.
type Request struct {
	Config *workspace.Config
	// Pins, keyed by sibling name (the workspace repo itself under
	// Config.Workspace.Name), say what to check out; a sibling without one
	// is built at its branch tip.
	Pins map[string]Pin
	// Local uses the checkouts already on disk at each path next to
	// Config.Dir(), in place: no mirrors, no build root.
	Local bool
	// Changeset labels the run and is exported as WORKSPACE_CHANGESET.
	Changeset string
	// Output, when set, receives the combined log as it is produced: a
	// header per step, then its output.
	Output io.Writer
}

// Event kinds.
const (
	EventFetch    = "fetch"
	EventCheckout = "checkout"
	EventStep     = "step"
	// EventHeartbeat says a step is still running, Duration into it.
	EventHeartbeat = "heartbeat"
)

// DefaultHeartbeat is Runner.Heartbeat's default.
const DefaultHeartbeat = 30 * time.Second

// Event is progress: something started (Done false) or ended (Done true).
type Event struct {
	Kind    string
	Done    bool
	Sibling string // the sibling (or workspace) concerned; "" for workspace-level steps
	Name    string // step name (setup, test) for EventStep
	Command string // the step's command
	// Detail says more: what a checkout is at, or why a fetch was skipped.
	Detail   string
	Result   string        // when Done
	Duration time.Duration // when Done, and for a heartbeat
}

func (r *Runner) emit(e Event) {
	if r.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.Progress(e)
}

// layout is where each part of the workspace lives for one run.
type layout struct {
	root  string            // the build root; "" in local mode
	wsDir string            // the workspace checkout: WORKSPACE_ROOT
	dirs  map[string]string // sibling name to its absolute directory
}

// Run builds and tests the workspace. A run that got as far as running
// steps returns its Result and a nil error, whatever the steps did; bad
// input returns an *InputError, and git, network or disk trouble another
// error, each with a Result whose Error says the same. Nothing returned
// shows a secret (see Runner.Secrets).
func (r *Runner) Run(ctx context.Context, req Request) (*Result, error) {
	res, err := r.run(ctx, req)
	return r.secretSet().result(res, err)
}

func (r *Runner) run(ctx context.Context, req Request) (*Result, error) {
	res := &Result{
		Changeset: req.Changeset,
		Started:   time.Now(),
		Siblings:  []SiblingResult{},
		Steps:     []StepResult{},
	}
	done := func() {
		res.Duration = time.Since(res.Started)
		res.DurationMS = res.Duration.Milliseconds()
	}
	fail := func(err error) (*Result, error) {
		res.Result = Error
		res.Error = err.Error()
		done()
		return res, err
	}
	cfg := req.Config
	if cfg == nil {
		return fail(inputErr("no workspace config"))
	}
	stages, err := cfg.Stages()
	if err != nil {
		return fail(&InputError{Msg: "wrknv.toml: " + err.Error()})
	}
	if err := checkPins(cfg, req); err != nil {
		return fail(err)
	}
	timeout := cfg.Workspace.CI.Timeout
	if timeout <= 0 {
		timeout = workspace.DefaultTimeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// interrupted finishes a run cut short by the timeout or by ctx,
	// naming what it was doing.
	interrupted := func(during string) (*Result, error) {
		res.Result = Cancelled
		res.Error = "cancelled"
		if ctx.Err() == nil {
			res.TimedOut = true
			res.Error = fmt.Sprintf("timed out after %s", shortDuration(timeout))
			if during == "" {
				during = runningStep(res)
			}
			if during != "" {
				res.Error += " in " + during
			}
			res.Error += " (workspace.ci.timeout)"
		}
		done()
		return res, nil
	}

	var lay layout
	if req.Local {
		if lay, err = localLayout(runCtx, cfg, res); err != nil {
			return fail(err)
		}
	} else {
		dataDir, err := filepath.Abs(r.DataDir)
		if r.DataDir == "" || err != nil {
			return fail(errors.New("ci: Runner.DataDir is not set"))
		}
		builds := filepath.Join(dataDir, "builds")
		if err := os.MkdirAll(builds, 0o755); err != nil {
			return fail(fmt.Errorf("create build directory %s: %w", builds, err))
		}
		root, err := os.MkdirTemp(builds, "run-")
		if err != nil {
			return fail(fmt.Errorf("create build root in %s: %w", builds, err))
		}
		if r.Keep {
			res.BuildRoot = root
		} else {
			defer removeTree(root)
		}
		if lay, err = planLayout(cfg, req, root); err != nil {
			return fail(err)
		}
		ok, err := r.materializeAll(runCtx, req, lay, res)
		if runCtx.Err() != nil {
			r.plan(req, stages, lay, res)
			return interrupted("checkout")
		}
		if err != nil {
			r.plan(req, stages, lay, res)
			return fail(err)
		}
		if !ok {
			// A checkout failed (a merge conflict): nothing can be built.
			r.plan(req, stages, lay, res)
			res.Result = Failure
			done()
			return res, nil
		}
	}

	phases := r.plan(req, stages, lay, res)
	sc, cleanup, err := newScratch(lay.root)
	if err != nil {
		return fail(fmt.Errorf("create the steps' home and temporary directories: %w", err))
	}
	defer cleanup()
	r.runPhases(runCtx, req, lay, sc, phases, res)
	if runCtx.Err() != nil {
		return interrupted("")
	}
	res.Result = overall(res.Steps)
	done()
	return res, nil
}

// runningStep names the step a run was cut short in ("setup pyvider"),
// or "".
func runningStep(res *Result) string {
	for _, s := range res.Steps {
		if s.Result == Cancelled {
			if s.Sibling == "" {
				return s.Name + " workspace"
			}
			return s.Name + " " + s.Sibling
		}
	}
	return ""
}

// shortDuration prints 30m rather than 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// overall is the run's result from its steps: success only when every
// step succeeded.
func overall(steps []StepResult) string {
	has := map[string]bool{}
	for _, s := range steps {
		has[s.Result] = true
	}
	switch {
	case has[Cancelled]:
		return Cancelled
	case has[Error]:
		return Error
	case has[Failure], has[Skipped]:
		return Failure
	}
	return Success
}

// checkPins refuses pins that name no sibling and refs git could misread.
func checkPins(cfg *workspace.Config, req Request) error {
	if req.Local && len(req.Pins) > 0 {
		return inputErr("refs cannot be pinned with --local: the checkouts on disk are used as they are (check out the ref there, or drop --local)")
	}
	names := make([]string, 0, len(req.Pins))
	for n := range req.Pins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		pin := req.Pins[name]
		if name != cfg.Workspace.Name && cfg.Sibling(name) == nil {
			return inputErr(fmt.Sprintf("%q is not a sibling of %s; known: %s", name, cfg.Workspace.Name, strings.Join(KnownNames(cfg), ", ")))
		}
		if name == cfg.Workspace.Name && cfg.Workspace.Repo == "" {
			return inputErr(fmt.Sprintf("the workspace %s is pinned but [workspace] has no repo to fetch it from (set repo in wrknv.toml)", name))
		}
		for _, ref := range []string{pin.Ref, pin.Base} {
			if ref != "" {
				if err := checkRef(name, ref); err != nil {
					return err
				}
			}
		}
		if pin.SHA != "" && !isFullSHA(pin.SHA) {
			return inputErr(fmt.Sprintf("sibling %s: %q is not a full commit SHA", name, pin.SHA))
		}
		if pin.FetchRef != "" {
			if err := checkRef(name, pin.FetchRef); err != nil {
				return err
			}
			if !strings.HasPrefix(pin.FetchRef, "refs/") {
				return inputErr(fmt.Sprintf("sibling %s: fetch ref %q must be a full ref name (refs/...)", name, pin.FetchRef))
			}
		}
		if strings.HasPrefix(pin.URL, "-") {
			return inputErr(fmt.Sprintf("sibling %s: URL %q starts with '-'; refusing it", name, gitauth.Redact(pin.URL)))
		}
	}
	for _, s := range cfg.Siblings {
		if s.Branch != "" {
			if err := checkRef(s.Name, s.Branch); err != nil {
				return err
			}
		}
		if strings.HasPrefix(cfg.RepoURL(&s), "-") {
			return inputErr(fmt.Sprintf("sibling %s: repo %q starts with '-'; refusing it", s.Name, gitauth.Redact(cfg.RepoURL(&s))))
		}
	}
	return nil
}

// KnownNames lists what can be pinned: the workspace name and every
// sibling's, sorted.
func KnownNames(cfg *workspace.Config) []string {
	var names []string
	for _, s := range cfg.Siblings {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}

// planLayout places the workspace checkout one level below root and each
// sibling at its path relative to it, refusing any that would leave root.
func planLayout(cfg *workspace.Config, req Request, root string) (layout, error) {
	base := filepath.Base(cfg.Dir())
	if _, pinned := req.Pins[cfg.Workspace.Name]; pinned {
		base = ""
		if fn := cfg.WorkspaceFullName(); fn != "" {
			base = fn[strings.LastIndex(fn, "/")+1:]
		}
	}
	if base == "" || base == "." || base == ".." || base == string(filepath.Separator) || strings.HasPrefix(base, "-") {
		base = cfg.Workspace.Name
	}
	lay := layout{root: root, wsDir: filepath.Join(root, base), dirs: map[string]string{}}
	for _, s := range cfg.Siblings {
		dir := filepath.Join(lay.wsDir, s.Path)
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) ||
			filepath.IsAbs(s.Path) || dir == lay.wsDir {
			return layout{}, inputErr(fmt.Sprintf("sibling %s: path %q would land outside the build root (use a path like \"../%s\" next to the workspace)", s.Name, s.Path, s.Name))
		}
		if d := filepath.Base(dir); filepath.Dir(dir) == root && (d == ".home" || d == ".tmp") {
			return layout{}, inputErr(fmt.Sprintf("sibling %s: path %q lands on the build root's %s, which holds the steps' HOME and TMPDIR (use a path like \"../%s\")", s.Name, s.Path, d, s.Name))
		}
		lay.dirs[s.Name] = dir
	}
	return lay, nil
}

// localLayout uses the checkouts on disk next to the config.
func localLayout(ctx context.Context, cfg *workspace.Config, res *Result) (layout, error) {
	wsDir, err := filepath.Abs(cfg.Dir())
	if err != nil {
		return layout{}, err
	}
	lay := layout{wsDir: wsDir, dirs: map[string]string{}}
	order, _ := cfg.Order()
	for _, s := range order {
		dir := filepath.Join(wsDir, s.Path)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return layout{}, inputErr(fmt.Sprintf("sibling %s: no checkout at %s (clone %s there, or run without --local to fetch it)", s.Name, dir, gitauth.Redact(cfg.RepoURL(s))))
		}
		lay.dirs[s.Name] = dir
		sr := SiblingResult{Name: s.Name, Repo: gitauth.Redact(cfg.RepoURL(s))}
		// Only a repository of its own: git would otherwise report the
		// enclosing workspace's HEAD.
		if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
			res.Siblings = append(res.Siblings, sr)
			continue
		}
		if sha, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD"); err == nil {
			sr.SHA = sha
			sr.Ref, _ = git(ctx, dir, "rev-parse", "--abbrev-ref", "HEAD")
		}
		res.Siblings = append(res.Siblings, sr)
	}
	return lay, nil
}
