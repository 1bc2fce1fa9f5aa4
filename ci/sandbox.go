package ci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/provide-io/workspace-bot/internal/sandbox"
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

// SandboxAvailable says whether steps can be sandboxed on this machine,
// or why not; serve says so at start-up and refuses fork builds without.
func SandboxAvailable() error { return sandbox.Available() }

// isolation is how one run's steps are run.
type isolation struct {
	isolate bool
	user    *sandbox.User
}

// isolation decides, for a run, whether its steps are sandboxed and as
// whom; a warning goes to Progress and the Result.
func (r *Runner) isolation(req Request, res *Result) (isolation, error) {
	var iso isolation
	if r.BuildUser != "" {
		if os.Geteuid() != 0 {
			return iso, inputErr(fmt.Sprintf("build user %q: switching users needs the service to run as root (fix: run as root, or leave the build user unset: unprivileged, steps run as the service's user)", r.BuildUser))
		}
		u, err := sandbox.LookupUser(r.BuildUser)
		if err != nil {
			return iso, inputErr(err.Error() + " (fix: name an existing unprivileged user, or leave the build user unset)")
		}
		if u.UID == 0 {
			return iso, inputErr(fmt.Sprintf("build user %q is root; name an unprivileged user", r.BuildUser))
		}
		iso.user = u
	}
	mode := r.Sandbox
	if req.RequireSandbox && mode != SandboxOff {
		mode = SandboxRequired
	}
	switch mode {
	case SandboxOff:
		if req.RequireSandbox {
			return iso, errors.New("this run requires a sandbox and the runner has it turned off")
		}
		return iso, nil
	case SandboxAuto, SandboxRequired:
	default:
		return iso, fmt.Errorf("ci: unknown sandbox mode %q", mode)
	}
	if err := sandbox.Available(); err != nil {
		if mode == SandboxRequired {
			return iso, fmt.Errorf("steps must run in a sandbox and none can be made: %w", err)
		}
		w := "steps run without a sandbox: " + err.Error()
		res.Warnings = append(res.Warnings, w)
		r.emit(Event{Kind: EventWarning, Detail: w})
		return iso, nil
	}
	iso.isolate = true
	return iso, nil
}

// spec is the sandbox every step of the run gets: the build root (or, with
// --local, the checkouts and the run's scratch) writable; the data dir and
// Runner.Hide hidden; the objects of the mirrors the checkouts borrow
// (through alternates) readable. The build user must be able to write
// what it builds: the build root is handed to it.
func (r *Runner) spec(req Request, lay layout, sc scratch, iso isolation) (sandbox.Spec, error) {
	s := sandbox.Spec{Isolate: iso.isolate, User: iso.user}
	var writable []string
	if lay.root != "" {
		writable = []string{lay.root}
	} else {
		writable = append(writable, lay.wsDir, filepath.Dir(sc.home))
		for _, d := range lay.dirs {
			writable = append(writable, d)
		}
	}
	if iso.user != nil {
		owned := lay.root
		if owned == "" {
			owned = filepath.Dir(sc.home) // never hand over a developer's checkouts
		}
		if err := chownTree(owned, iso.user); err != nil {
			return s, fmt.Errorf("hand the build root to the build user %s: %w", iso.user.Name, err)
		}
	}
	if !iso.isolate {
		return s, nil
	}
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
				s.ReadOnly = append(s.ReadOnly, p)
			}
		}
	}
	return s, nil
}

// chownTree gives dir and everything in it to u.
func chownTree(dir string, u *sandbox.User) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.UID), int(u.GID))
	})
}
