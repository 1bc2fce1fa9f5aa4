package ci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/workspace"
)

// SandboxMode says whether a Runner's setup and test steps run in a
// sandbox (see internal/sandbox): PID, mount and IPC namespaces of their
// own, with a fresh /proc, the build root writable, the data dir hidden,
// no capabilities, and everything killed with the step.
type SandboxMode string

const (
	// SandboxAuto uses a sandbox when this machine can make one, and
	// otherwise runs steps in a process group of their own with a
	// warning (an EventWarning and Result.Warnings).
	SandboxAuto SandboxMode = ""
	// SandboxRequired fails a run, before anything is checked out, when
	// no sandbox can be made.
	SandboxRequired SandboxMode = "required"
	// SandboxOff never uses one (to measure what it costs, or to debug).
	SandboxOff SandboxMode = "off"
)

// EventWarning is something the person running the build should know,
// in Detail, one line.
const EventWarning = "warning"

// ThrowawayUID is the uid and gid steps run as when the service runs as
// root with Runner.Throwaway and no build user: no account has it, and
// nothing on the host is owned by it. The build root is shown to it
// through an ID mapping, so what it writes there lands as the service's.
const ThrowawayUID = 2147483000

// throwawayUser is the account ThrowawayUID stands for.
func throwawayUser() *sandbox.User {
	return &sandbox.User{Name: "workspace-bot-build", UID: ThrowawayUID, GID: ThrowawayUID, Home: "/nonexistent"}
}

// Needs a run can be refused for (RefusedError.Need).
const (
	NeedSandbox = "sandbox"
	NeedLimits  = "limits"
)

// RefusedError is a run refused before anything was fetched: it requires
// a sandbox or limits (Need) that this machine cannot give.
type RefusedError struct {
	Need string
	Err  error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// SandboxAvailable says whether steps can be sandboxed on this machine,
// or why not; serve says so at start-up and refuses fork builds without.
func SandboxAvailable() error { return sandbox.Available() }

// isolation is how one run's steps are run.
type isolation struct {
	isolate bool
	user    *sandbox.User
	// idmap hands the build root to user for each step; without it (no
	// sandbox, or a file system without idmapped mounts) the root is
	// chowned to user for the run and back after.
	idmap *sandbox.IDMap
	// setupNet and testNet are the setup and test steps' networks.
	setupNet, testNet sandbox.Net
	shown             Isolation
}

// isolation decides, for a run, whether its steps are sandboxed, as
// whom and with which network; a warning goes to Progress and the
// Result. It refuses, before anything is fetched, a run that requires a
// sandbox this machine cannot make.
func (r *Runner) isolation(req Request, res *Result) (isolation, error) {
	var iso isolation
	explicit, err := r.buildUser()
	if err != nil {
		return iso, err
	}
	iso.user = explicit
	mode := r.Sandbox
	if req.RequireSandbox && mode != SandboxOff {
		mode = SandboxRequired
	}
	switch mode {
	case SandboxOff:
		if req.RequireSandbox {
			return iso, errors.New("this run requires a sandbox and the runner has it turned off")
		}
	case SandboxAuto, SandboxRequired:
		if err := sandbox.Available(); err != nil {
			if mode == SandboxRequired {
				return iso, &RefusedError{Need: NeedSandbox, Err: fmt.Errorf("steps must run in a sandbox and none can be made: %w", err)}
			}
			r.warn(res, "steps run without a sandbox: "+err.Error())
		} else {
			iso.isolate = true
		}
	default:
		return iso, fmt.Errorf("ci: unknown sandbox mode %q", mode)
	}
	if iso.isolate && iso.user == nil && r.Confine && os.Geteuid() == 0 && r.BuildUser == "" {
		iso.user = throwawayUser()
	}
	if err := r.networks(req, &iso, res); err != nil {
		return iso, err
	}
	iso.shown = Isolation{Sandbox: iso.isolate, SetupNetwork: iso.setupNet.String(), TestNetwork: iso.testNet.String()}
	switch {
	case iso.user != nil && iso.user.UID == ThrowawayUID:
		iso.shown.User = fmt.Sprintf("uid %d (throwaway)", ThrowawayUID)
	case iso.user != nil:
		iso.shown.User = iso.user.Name
	case os.Geteuid() == 0:
		iso.shown.User = "root"
	}
	return iso, nil
}

// buildUser is Runner.BuildUser looked up: nil for none, and for "root",
// which runs steps as the service's own root on purpose.
func (r *Runner) buildUser() (*sandbox.User, error) {
	if r.BuildUser == "" {
		return nil, nil
	}
	if os.Geteuid() != 0 {
		return nil, inputErr(fmt.Sprintf("build user %q: switching users needs the service to run as root (fix: run as root, or leave the build user unset: unprivileged, steps run as the service's user)", r.BuildUser))
	}
	u, err := sandbox.LookupUser(r.BuildUser)
	if err != nil {
		return nil, inputErr(err.Error() + " (fix: name an existing unprivileged user, or leave the build user unset)")
	}
	if u.UID == 0 {
		return nil, nil
	}
	return u, nil
}

// networks decides the setup and test steps' networks: [workspace.ci].network
// when set, else the machine's, but for untrusted code in a confining
// runner none (loopback only), its setup steps reaching the outside
// through the egress proxy.
func (r *Runner) networks(req Request, iso *isolation, res *Result) error {
	want := req.Config.Workspace.CI.Network
	if want == "" {
		want = workspace.NetworkHost
		if !req.Trusted && r.Confine {
			want = workspace.NetworkIsolated
		}
	}
	switch want {
	case workspace.NetworkIsolated:
		iso.setupNet, iso.testNet = sandbox.NetEgress, sandbox.NetIsolated
	case workspace.NetworkEgress:
		iso.setupNet, iso.testNet = sandbox.NetEgress, sandbox.NetEgress
	default:
		iso.setupNet, iso.testNet = sandbox.NetHost, sandbox.NetHost
		return nil
	}
	err := sandbox.NetworkAvailable()
	if !iso.isolate {
		// Said already: steps run without a sandbox, so on the
		// machine's network.
		iso.setupNet, iso.testNet = sandbox.NetHost, sandbox.NetHost
		return nil
	}
	if err == nil {
		return nil
	}
	if req.RequireSandbox {
		return &RefusedError{Need: NeedSandbox, Err: fmt.Errorf("untrusted code must run without the machine's network, and no network namespace can be made here: %w", err)}
	}
	iso.setupNet, iso.testNet = sandbox.NetHost, sandbox.NetHost
	r.warn(res, fmt.Sprintf("steps have the machine's network, not %q: %v", want, err))
	return nil
}

// warn tells whoever runs the build something in one line, once.
func (r *Runner) warn(res *Result, w string) {
	res.Warnings = append(res.Warnings, w)
	r.emit(Event{Kind: EventWarning, Detail: w})
}

// spec is the sandbox every step of the run gets: the build root (or, with
// --local, the checkouts and the run's scratch) writable; the data dir and
// Runner.Hide hidden; the objects of the mirrors the checkouts borrow
// (through alternates) readable. A build user gets the build root handed
// to it: through an ID mapping where the sandbox and the file system
// allow, else by chown for the run (handBack undoes it).
func (r *Runner) spec(req Request, lay layout, sc scratch, iso *isolation) (s sandbox.Spec, handBack func() error, err error) {
	s = sandbox.Spec{Isolate: iso.isolate, User: iso.user}
	handBack = func() error { return nil }
	var writable []string
	if lay.root != "" {
		writable = []string{lay.root}
	} else {
		writable = append(writable, lay.wsDir, filepath.Dir(sc.home))
		for _, d := range lay.dirs {
			writable = append(writable, d)
		}
	}
	if iso.isolate {
		for _, w := range writable {
			if p, err := filepath.EvalSymlinks(w); err == nil {
				s.Writable = append(s.Writable, p)
			}
		}
		hidden := append([]string{r.DataDir}, r.Hide...)
		for _, h := range hidden {
			if p, err := filepath.Abs(h); err == nil {
				if p, err = filepath.EvalSymlinks(p); err == nil {
					s.Hidden = append(s.Hidden, p)
				}
			}
		}
		if !req.Local {
			s.ReadOnly = r.borrowedObjects(req)
		}
	}
	if iso.user == nil {
		return s, handBack, nil
	}
	if iso.isolate {
		m, why := r.idmapFor(iso.user, s)
		if m != nil {
			iso.idmap, s.IDMap = m, m
			return s, handBack, nil
		}
		if lay.root != "" {
			r.note(req, "the build root is handed to %s by chown for the run: %s", iso.user.Name, why)
		}
	}
	owned := lay.root
	if owned == "" {
		owned = filepath.Dir(sc.home) // never hand over a developer's checkouts
	}
	if err := chownTree(owned, int(iso.user.UID), int(iso.user.GID)); err != nil {
		return s, handBack, fmt.Errorf("hand the build root to the build user %s: %w", iso.user.Name, err)
	}
	return s, func() error { return chownTree(owned, os.Geteuid(), os.Getegid()) }, nil
}

// borrowedObjects are the objects directories of the mirrors the run's
// checkouts borrow through alternates.
func (r *Runner) borrowedObjects(req Request) []string {
	var out []string
	seen := map[string]bool{}
	urls := []string{}
	if _, pinned := req.Pins[req.Config.Workspace.Name]; pinned {
		urls = append(urls, req.Config.Workspace.Repo)
	}
	for i := range req.Config.Siblings {
		urls = append(urls, req.Config.RepoURL(&req.Config.Siblings[i]))
	}
	for _, u := range urls {
		objects, _ := filepath.Abs(filepath.Join(r.mirrorFor(u).dir, "objects"))
		if p, err := filepath.EvalSymlinks(objects); err == nil && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// idmapFor is the ID mapping that hands s's paths to u, made once per
// user and tried once per file system; nil and why when the kernel or a
// file system cannot.
func (r *Runner) idmapFor(u *sandbox.User, s sandbox.Spec) (*sandbox.IDMap, string) {
	r.confMu.Lock()
	defer r.confMu.Unlock()
	if r.idmaps == nil {
		r.idmaps, r.idmapFS = map[uint32]*sandbox.IDMap{}, map[string]string{}
	}
	m := r.idmaps[u.UID]
	if m == nil {
		var err error
		if m, err = sandbox.NewIDMap(u); err != nil {
			return nil, err.Error()
		}
		r.idmaps[u.UID] = m
	}
	for _, p := range append(append([]string{}, s.Writable...), s.ReadOnly...) {
		key := fsKey(p)
		why, tried := r.idmapFS[key]
		if !tried {
			why = ""
			if err := sandbox.Probe(sandbox.Spec{User: u, IDMap: m, Writable: []string{p}}); err != nil {
				why = err.Error()
			}
			r.idmapFS[key] = why
		}
		if why != "" {
			return nil, why
		}
	}
	return m, ""
}

// fsKey names the file system p is on.
func fsKey(p string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return p
	}
	return fmt.Sprint(st.Dev)
}

// chownTree gives dir and everything in it to uid and gid.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// canRun says whether u may run the program at path: every directory on
// the way searchable, the file executable, by their mode bits. With no
// user (the service's own), whatever the service can run.
func canRun(path string, u *sandbox.User) bool {
	if u == nil {
		return true
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	for _, p := range []string{path, real} {
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if !sandbox.Permits(d, u, 0o1) {
				return false
			}
			if d == "/" || d == "." {
				break
			}
		}
	}
	return sandbox.Permits(real, u, 0o1)
}

// stepPath is PATH as u can use it: the directories u cannot reach left
// out, so programs are looked up where the steps will find them.
func stepPath(path string, u *sandbox.User) string {
	if u == nil {
		return path
	}
	var keep []string
	for _, d := range filepath.SplitList(path) {
		if d != "" && canRun(d, u) {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}
