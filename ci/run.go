package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/cgroup"
	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// DefaultParallel is how many repositories are fetched and checked out at
// once when Runner.Parallel is 0. Fetches wait on the network and
// checkouts on the disk, so a few more than the CPU count pays off.
const DefaultParallel = 8

// Runner materializes workspaces and runs their steps. One Runner may run
// many requests at once; they share its mirrors.
type Runner struct {
	// DataDir holds mirrors (DataDir/mirrors), warm build roots
	// (DataDir/roots), the cache (DataDir/cache) and temporary build
	// roots (DataDir/builds, removed after each run unless Keep).
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
	// Clock times heartbeats; nil is the machine's.
	Clock clock.Clock
	// Slots is how many warm build roots a workspace keeps, one per run
	// that may go at once (0: DefaultSlots); a run finding every one in
	// use builds in a temporary root.
	Slots int
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
	// Sandbox says whether setup and test steps run in a sandbox
	// (SandboxAuto: when this machine can make one, else with a warning).
	Sandbox SandboxMode
	// BuildUser, when set, is the unprivileged user (name or uid) setup
	// and test steps run as; the build root is handed to it. Needs root.
	BuildUser string
	// Hide lists more paths no step may read (the service's config, its
	// App private key, a token file); the data dir is always hidden.
	// Only a sandbox can hide them.
	Hide []string
	// Confine gives steps what serve gives them: run as ThrowawayUID when
	// the service runs as root and BuildUser is unset ("root" keeps them
	// root); for untrusted code, no network of the machine unless
	// [workspace.ci].network says otherwise; and each run's steps in a
	// cgroup of their own, with [workspace.ci].limits or cgroup.Defaults,
	// where one can be made (elsewhere a run says so in one line).
	Confine bool
	// DiskReserve, when set, is free space on the data dir's disk that
	// steps may not take: a run that leaves less is stopped with an
	// error, so webhook deliveries can still be stored.
	DiskReserve int64
	// WatchEvery is how often a running run's limits and the disk are
	// looked at (0: every 50 ms).
	WatchEvery time.Duration
	// EgressAllow are addresses an egress step may reach although the
	// proxy refuses this machine's (a package index on it).
	EgressAllow []netip.AddrPort

	progressMu sync.Mutex
	secretsMu  sync.Mutex
	secrets    *secrets

	confMu  sync.Mutex
	idmaps  map[uint32]*sandbox.IDMap
	idmapFS map[string]string // file system to why it cannot be idmapped, "" when it can
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
	// Task, when set, runs [workspace.tasks].<Task> in place of the tests
	// (the siblings' own tests included).
	Task string
	// Trusted says every line of code the run builds comes from people
	// trusted with the machine: the bot sets it when no member of the
	// changeset is a fork by an untrusted author (an approved fork's run
	// is still untrusted). A trusted run may reuse a warm build root and
	// the cache, and save to the cache. An untrusted run gets a root of
	// its own, saves nothing, and makes the next trusted run start from a
	// new root and an empty cache. The zero value is the safe one.
	Trusted bool
	// Fresh makes a trusted run start from a new build root and restore
	// nothing from the cache (it still saves).
	Fresh bool
	// RunLabel names the run for later runs' logs ("run 41"): a setup
	// they skip says which run last did it. "" names it by the time it
	// started.
	RunLabel string
	// CheckoutOnly materializes the workspace and runs nothing: no
	// setup, no tests (release planning reads the checkouts).
	CheckoutOnly bool
	// RequireSandbox fails the run, before anything is checked out, when
	// its steps cannot be sandboxed (code from a fork, unless the service
	// was told to allow unsandboxed builds).
	RequireSandbox bool
	// Members, when set, are the siblings whose PRs the run builds (the
	// workspace repository under Config.Workspace.Name): only the tests
	// of the siblings they affect run (workspace.Config.Affected), and
	// the workspace tests always. Nil runs every test, as a run at branch
	// tips does; so does [workspace.ci].affected = false.
	Members []string
	// RequireLimits fails the run, before anything is checked out, when
	// its steps cannot be put in a cgroup with limits (code from a fork,
	// unless the service was told to allow unlimited builds).
	RequireLimits bool
	// Progress, when set, is told when this run's fetches, checkouts and
	// steps start and end, with secrets censored as in Output: the
	// service shows a building run's step from it. Calls are serialized
	// and must return quickly.
	Progress func(Event)
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
	Result   lifecycle.Result // when Done
	Duration time.Duration    // when Done, and for a heartbeat
}

func (r *Runner) emit(e Event) {
	if r.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.Progress(e)
}

// runProgress is a run's Request.Progress, serialized, in its context.
type runProgress struct {
	mu sync.Mutex
	fn func(Event)
}

type runProgressKey struct{}

// progress tells the Runner's Progress and the run's own of e; the
// run's gets e censored, as the run's log is.
func (r *Runner) progress(ctx context.Context, e Event) {
	r.emit(e)
	rp, _ := ctx.Value(runProgressKey{}).(*runProgress)
	if rp == nil {
		return
	}
	sec := r.secretSet()
	e.Command, e.Detail = sec.text(e.Command), sec.text(e.Detail)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.fn(e)
}

// layout is where each part of the workspace lives for one run.
type layout struct {
	root  string            // the build root; "" in local mode
	wsDir string            // the workspace checkout: WORKSPACE_ROOT
	dirs  map[string]string // sibling name to its absolute directory
	cache []string          // absolute paths kept between runs
	// stamps, in a warm root, prove clones the last run left untouched.
	stamps *stampBook
}

// keep lists what a reused checkout at dir keeps (relative to dir): the
// cache paths and the checkouts of siblings nested in it.
func (l layout) keep(dir string) []string {
	var out []string
	inside := func(p string) {
		if rel, err := filepath.Rel(dir, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			out = append(out, rel)
		}
	}
	for _, p := range l.cache {
		inside(p)
	}
	for _, d := range l.dirs {
		inside(d)
	}
	return out
}

// tidy removes from a reused root what this run's layout does not have:
// the checkouts of siblings no longer in the config, and whatever else an
// earlier run left at the top.
func (l layout) tidy() error {
	keep := []string{}
	for _, p := range append([]string{l.wsDir}, l.cache...) {
		if rel, err := filepath.Rel(l.root, p); err == nil {
			keep = append(keep, rel)
		}
	}
	for _, d := range l.dirs {
		if rel, err := filepath.Rel(l.root, d); err == nil {
			keep = append(keep, rel)
		}
	}
	return emptyBut(l.root, keep)
}

// Run builds and tests the workspace. A run that got as far as running
// steps returns its Result and a nil error, whatever the steps did; bad
// input returns an *InputError, and git, network or disk trouble another
// error, each with a Result whose Error says the same. Nothing returned
// shows a secret (see Runner.Secrets).
func (r *Runner) Run(ctx context.Context, req Request) (*Result, error) {
	if req.Progress != nil {
		ctx = context.WithValue(ctx, runProgressKey{}, &runProgress{fn: req.Progress})
	}
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
	if _, err := cfg.Stages(); err != nil {
		return fail(&InputError{Msg: "wrknv.toml: " + err.Error()})
	}
	if err := checkPins(cfg, req); err != nil {
		return fail(err)
	}
	var (
		iso    isolation
		limits cgroup.Limits
		err    error
	)
	if !req.CheckoutOnly {
		if iso, err = r.isolation(req, res); err != nil {
			return fail(err)
		}
		if limits, err = r.limitsFor(req, iso, res); err != nil {
			return fail(err)
		}
	}
	find := newFinder(iso.user)
	if req.Trusted && !req.Fresh && !req.Local && r.DataDir != "" {
		// What earlier trusted runs learnt of this machine's interpreters.
		if d, err := filepath.Abs(r.DataDir); err == nil {
			find.versions = &versionBook{file: filepath.Join(d, "python-versions.json")}
		}
	}
	py, err := preflight(ctx, req, find)
	if err != nil {
		return fail(err)
	}
	timeout := cfg.Workspace.CI.Timeout
	if timeout <= 0 {
		timeout = workspace.DefaultTimeout
	}
	timed, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The runner stops a run itself when its steps hit a limit (see
	// watch): the cause says which.
	runCtx, stop := context.WithCancelCause(timed)
	defer stop(nil)
	// interrupted finishes a run cut short by the timeout, by ctx or by
	// a limit, naming what it was doing.
	interrupted := func(during string) (*Result, error) {
		var ls *limitStop
		if errors.As(context.Cause(runCtx), &ls) {
			res.Result, res.Error = ls.result, ls.msg
			done()
			return res, nil
		}
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
	// skipRest lists the steps that will not run, for the report.
	skipRest := func(lay layout) {
		if !req.CheckoutOnly {
			planSteps(req, lay, py, false, res)
		}
	}

	var (
		lay     layout
		br      *buildRoot
		epoch   int64
		dataDir string
	)
	if req.Local {
		if lay, err = localLayout(runCtx, cfg, res); err != nil {
			return fail(err)
		}
	} else {
		dataDir, err = filepath.Abs(r.DataDir)
		if r.DataDir == "" || err != nil {
			return fail(errors.New("ci: Runner.DataDir is not set"))
		}
		if br, err = r.acquireRoot(dataDir, cfg, req); err != nil {
			return fail(err)
		}
		if r.Confine && !req.Trusted && limits.Memory > 0 {
			if err := br.inMemory(limits.Memory); err != nil {
				r.note(req, "the build root stays on the data dir's disk: %v", err)
			} else {
				r.note(req, "the build root is in memory (%s, counted against the run's memory limit): untrusted code cannot fill the data dir's disk", sizeWords(limits.Memory))
			}
		}
		complete := false
		defer func() {
			// What filled the disk goes now, not when the root is next
			// used: also when something else stopped the run first (the
			// service, whose log could not be stored on the full disk).
			var ls *limitStop
			if errors.As(context.Cause(runCtx), &ls) && ls.disk || r.diskShort(dataDir) {
				complete = false
				removeTree(br.dir)
			}
			br.finish(complete)
		}()
		res.Root = br.how
		if br.warm || r.Keep {
			res.BuildRoot = br.dir
		}
		if epoch, err = readEpoch(filepath.Join(dataDir, "roots")); err != nil {
			return fail(err)
		}
		if lay, err = planLayout(cfg, req, br.dir); err != nil {
			return fail(err)
		}
		lay.stamps = br.stamps
		if br.how == RootReused {
			if err := lay.tidy(); err != nil {
				return fail(fmt.Errorf("tidy the reused build root %s: %w", br.dir, err))
			}
		}
		if br.why != "" {
			r.note(req, "build root %s: %s (%s)", br.dir, br.how, br.why)
		} else {
			r.note(req, "build root %s: %s", br.dir, br.how)
		}
		ok, err := r.materializeAll(runCtx, req, lay, res)
		if runCtx.Err() != nil {
			skipRest(lay)
			return interrupted("checkout")
		}
		if err != nil {
			skipRest(lay)
			return fail(err)
		}
		if !ok {
			// A checkout failed (a merge conflict): nothing can be built.
			skipRest(lay)
			res.Result = Failure
			done()
			return res, nil
		}
		complete = true
	}
	if req.CheckoutOnly {
		res.Result = overall(res.Steps)
		done()
		return res, nil
	}
	if py, err = needPython(runCtx, cfg, lay, py); err != nil {
		return fail(err)
	}

	// The cache: only in a build root (--local uses the checkouts and
	// their venv as they are).
	var c *runCache
	skipSetup := false
	if br != nil {
		if c, err = openCache(cfg, lay, py, dataDir); err != nil {
			return fail(err)
		}
	}
	if c != nil {
		if skipSetup, err = c.restore(lay, br, epoch, req.Fresh); err != nil {
			// An entry replaced while it was copied, say: build it anew.
			r.note(req, "cache not restored: %v", err)
			if err := c.clear(lay); err != nil {
				return fail(fmt.Errorf("clear the cache paths: %w", err))
			}
		}
		res.Cache = c.state
		r.note(req, "cache %s (key %s)", c.state, c.key[:12])
	}

	rp, err := planSteps(req, lay, py, skipSetup, res)
	if err != nil {
		return fail(err)
	}
	// Siblings whose setup inputs are unchanged since the last run here.
	var digests map[string]string
	skipped := map[string]bool{}
	if br != nil && br.warm && c != nil {
		digests = setupDigests(cfg, lay, res.Steps)
		skips := setupSkips(req, br, c, digests)
		for i := range res.Steps {
			s := &res.Steps[i]
			if since, ok := skips[s.Sibling]; ok && s.Name == "setup" && s.Sibling != "" {
				msg := "setup skipped: inputs unchanged since " + since
				s.Result, s.Cached, s.SkippedSince, s.LogTail, s.Log = Success, true, since, msg, msg+"\n"
				skipped[s.Sibling] = true
			}
		}
	}
	root := lay.root
	if root != "" {
		// A reused root's scratch is not reused: the steps' HOME and
		// TMPDIR start empty in every run.
		for _, d := range []string{".home", ".tmp", reportsDirName} {
			removeTree(filepath.Join(root, d))
		}
	}
	sc, cleanup, err := newScratch(root, len(res.Steps))
	if err != nil {
		return fail(fmt.Errorf("create the steps' home and temporary directories: %w", err))
	}
	defer cleanup()
	box, handBack, err := r.spec(req, lay, sc, &iso)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := handBack(); err != nil {
			r.note(req, "the build root could not be taken back from the build user: %v", err)
		}
	}()
	group, err := r.cgroupFor(limits, &iso)
	if err != nil {
		return fail(err)
	}
	box.Cgroup = group
	res.Isolation = &iso.shown
	stopWatch := r.watch(runCtx, stop, group, dataDir, br != nil && br.tmpfs)
	r.runPhases(runCtx, req, lay, sc, iso, box, rp, res, func() {
		if c != nil && req.Trusted && runCtx.Err() == nil {
			if err := c.save(lay, br, epoch); err != nil {
				r.note(req, "cache not saved: %v", err)
			}
			recordSetups(br, c, digests, skipped, runLabel(req, res.Started))
		}
	})
	stopWatch()
	if group != nil {
		if peak := group.PeakMemory(); peak > 0 {
			r.note(req, "the steps used at most %s of memory together (limit %s)", sizeWords(peak), sizeWords(group.Limits.Memory))
		}
		if err := group.Close(); err != nil {
			r.note(req, "%v", err)
		}
	}
	if runCtx.Err() != nil {
		return interrupted("")
	}
	res.Result = overall(res.Steps)
	done()
	return res, nil
}

// note writes a line of the runner's own to the run's log.
func (r *Runner) note(req Request, format string, args ...any) {
	if req.Output != nil {
		fmt.Fprintf(req.Output, "--- "+format+"\n", args...)
	}
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
func overall(steps []StepResult) lifecycle.Result {
	results := make([]lifecycle.Result, 0, len(steps))
	for _, s := range steps {
		// A test the changeset does not reach was left out on purpose; a
		// step skipped for any other reason means the run stopped short.
		if s.NotAffected == "" {
			results = append(results, s.Result)
		}
	}
	return lifecycle.Overall(results...)
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
	for _, p := range cachePaths(cfg) {
		dir := filepath.Join(lay.wsDir, p)
		if rel, err := filepath.Rel(root, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return layout{}, inputErr(fmt.Sprintf("[workspace.ci].cache path %q would land outside the build root (use a path inside the workspace or a sibling, such as \".venv\")", p))
		}
		lay.cache = append(lay.cache, dir)
	}
	// A cache path holds what the steps build, never a checkout: kept
	// over one, it would keep the old commit's files.
	for i, c := range lay.cache {
		if holds(c, lay.wsDir) {
			return layout{}, inputErr(fmt.Sprintf("[workspace.ci].cache path %q is the workspace root or holds it (fix: cache a directory the steps build, such as \".venv\")", cachePaths(cfg)[i]))
		}
	}
	for _, s := range cfg.Siblings {
		dir := filepath.Join(lay.wsDir, s.Path)
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) ||
			filepath.IsAbs(s.Path) || dir == lay.wsDir {
			return layout{}, inputErr(fmt.Sprintf("sibling %s: path %q would land outside the build root (use a path like \"../%s\" next to the workspace)", s.Name, s.Path, s.Name))
		}
		if d := filepath.Base(dir); filepath.Dir(dir) == root && (d == ".home" || d == ".tmp" || d == reportsDirName) {
			return layout{}, inputErr(fmt.Sprintf("sibling %s: path %q lands on the build root's %s, which holds the steps' HOME and TMPDIR (use a path like \"../%s\")", s.Name, s.Path, d, s.Name))
		}
		for i, c := range lay.cache {
			if holds(c, dir) {
				return layout{}, inputErr(fmt.Sprintf("[workspace.ci].cache path %q is sibling %s's checkout or holds it (fix: cache a directory the steps build, such as \".venv\")", cachePaths(cfg)[i], s.Name))
			}
		}
		lay.dirs[s.Name] = dir
	}
	return lay, nil
}

// holds says whether the directory c is d or an ancestor of it.
func holds(c, d string) bool {
	return c == d || strings.HasPrefix(d, c+string(filepath.Separator))
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
			from := "it"
			if u := cfg.RepoURL(s); u != "" {
				from = gitauth.Redact(u)
			}
			return layout{}, inputErr(fmt.Sprintf("sibling %s: no checkout at %s (clone %s there, or run without --local to fetch it)", s.Name, dir, from))
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
