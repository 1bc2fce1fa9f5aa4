package ci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/workspace"
)

// toolTimeout bounds one "TOOL --version".
const toolTimeout = 10 * time.Second

// interpreter is the Python the shared venv of the default setup is made
// with, and how the run finds programs.
type interpreter struct {
	path    string // absolute, or "" when no sibling can take the default setup
	version string // "3.11.7"
	find    finder
}

// finder looks programs up as the steps will: on the PATH the build
// user can reach, and only programs it may run. The zero finder is the
// service's own PATH and user.
type finder struct {
	path string // "" for the service's PATH
	user *sandbox.User
	// versions, when set, keeps interpreters' versions between runs.
	versions *versionBook
}

func newFinder(u *sandbox.User) finder {
	return finder{path: stepPath(os.Getenv("PATH"), u), user: u}
}

func (f finder) pathList() string {
	if f.path == "" && f.user == nil {
		return os.Getenv("PATH")
	}
	return f.path
}

// look finds name on the finder's PATH.
func (f finder) look(name string) (string, error) {
	p, err := lookPath(name, []string{"PATH=" + f.pathList()})
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(p) {
		if p, err = filepath.Abs(p); err != nil {
			return "", err
		}
	}
	if !canRun(p, f.user) {
		return "", fmt.Errorf("%s: the build user %s cannot run it", p, f.user.Name)
	}
	return p, nil
}

// env is what a version query runs with: no variable of the service's
// but where programs are.
func (f finder) env() []string {
	return []string{"PATH=" + f.pathList(), "HOME=" + os.Getenv("HOME"), "LC_ALL=C"}
}

// preflight refuses, before anything is cloned, a run that cannot succeed
// or would prove nothing: no test command anywhere (no false green), an
// unknown task, a sibling without a repo to clone, a [workspace.tools]
// entry missing or at the wrong version, no interpreter matching
// [workspace.python].version. Each is an *InputError naming the fix.
func preflight(ctx context.Context, req Request, find finder) (interpreter, error) {
	cfg := req.Config
	if req.CheckoutOnly {
		for i := range cfg.Siblings {
			if _, err := cfg.CloneURL(&cfg.Siblings[i]); err != nil && !req.Local {
				return interpreter{}, inputErr(err.Error())
			}
		}
		return interpreter{}, nil
	}
	if req.Task != "" {
		if _, err := cfg.TaskPlan(workspace.Facts{}, req.Task); err != nil {
			return interpreter{}, inputErr(err.Error())
		}
	} else if !cfg.HasTests() {
		return interpreter{}, inputErr(workspace.NothingToTest)
	}
	if !req.Local {
		for i := range cfg.Siblings {
			if _, err := cfg.CloneURL(&cfg.Siblings[i]); err != nil {
				return interpreter{}, inputErr(err.Error())
			}
		}
	}
	for _, t := range cfg.Workspace.Tools {
		if err := checkTool(ctx, t, find); err != nil {
			return interpreter{}, err
		}
	}
	// A version to match is checked now; python3 is taken later, and only
	// when a sibling does take the default setup (see needPython).
	if cfg.Workspace.Python.Version.IsZero() || !mayTakeDefault(cfg) {
		return interpreter{find: find}, nil
	}
	return selectPython(ctx, cfg.Workspace.Python.Version, find)
}

func mayTakeDefault(cfg *workspace.Config) bool {
	for i := range cfg.Siblings {
		if !cfg.Siblings[i].HasOwnSetup() {
			return true
		}
	}
	return false
}

// needPython selects the interpreter once the checkouts show that a
// sibling takes the default setup, when preflight did not.
func needPython(ctx context.Context, cfg *workspace.Config, lay layout, py interpreter) (interpreter, error) {
	if py.path != "" {
		return py, nil
	}
	if facts(cfg, lay, py).Pyproject == nil {
		return py, nil
	}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		if s.HasOwnSetup() {
			continue
		}
		if _, err := os.Stat(filepath.Join(lay.dirs[s.Name], "pyproject.toml")); err == nil {
			return selectPython(ctx, cfg.Workspace.Python.Version, py.find)
		}
	}
	return py, nil
}

// checkTool finds a [workspace.tools] entry on PATH and checks its
// version.
func checkTool(ctx context.Context, t workspace.Tool, find finder) error {
	path, err := find.look(t.Name)
	if err != nil {
		return inputErr(fmt.Sprintf("[workspace.tools]: %s is not on PATH; the workspace requires %s %s (fix: install %s, or remove it from [workspace.tools])",
			t.Name, t.Name, want(t.Version), t.Name))
	}
	if t.Version.IsZero() {
		return nil
	}
	v := versionOf(ctx, path, find, "version")
	if v == "" {
		return inputErr(fmt.Sprintf("[workspace.tools]: %s at %s printed no version for \"%s --version\"; the workspace requires %s %s (fix: install a %s that reports its version)",
			t.Name, path, t.Name, t.Name, t.Version, t.Name))
	}
	if !t.Version.Allows(v) {
		return inputErr(fmt.Sprintf("[workspace.tools]: %s %s found at %s, but the workspace requires %s %s (fix: install a %s %s, or change [workspace.tools].%s)",
			t.Name, v, path, t.Name, t.Version, t.Name, t.Version, t.Name))
	}
	return nil
}

func want(c workspace.Constraint) string {
	if c.IsZero() {
		return "(any version)"
	}
	return c.String()
}

// versionOf runs "PROG --version" (then each of more, such as
// "version", as go wants it) and reads the first version it prints.
func versionOf(ctx context.Context, path string, find finder, more ...string) string {
	for _, arg := range append([]string{"--version"}, more...) {
		cctx, cancel := context.WithTimeout(ctx, toolTimeout)
		var out bytes.Buffer
		cmd := exec.CommandContext(cctx, path, arg)
		cmd.Stdout, cmd.Stderr = &out, &out
		// Only what finding and running a program needs: none of the
		// service's variables (tokens) reach it.
		cmd.Env = find.env()
		err := cmd.Run()
		cancel()
		if v := workspace.VersionIn(out.String()); err == nil && v != "" {
			return v
		}
	}
	return ""
}

// selectPython picks the interpreter for the shared venv: what
// "uv python find" answers when uv is on PATH, else python3 when it
// satisfies the constraint, else the newest python3.X on PATH that does.
func selectPython(ctx context.Context, c workspace.Constraint, find finder) (interpreter, error) {
	var tried []string
	consider := func(path string) (interpreter, bool) {
		if !canRun(path, find.user) {
			tried = append(tried, fmt.Sprintf("%s (the build user %s cannot run it)", path, find.user.Name))
			return interpreter{}, false
		}
		// Only --version: "python3 version" runs a file named version.
		v := versionFor(ctx, path, find)
		tried = append(tried, fmt.Sprintf("%s (%s)", path, orNone(v)))
		if v != "" && c.Allows(v) {
			return interpreter{path: path, version: v, find: find}, true
		}
		return interpreter{}, false
	}
	if uv, err := find.look("uv"); err == nil {
		args := []string{"python", "find"}
		if !c.IsZero() {
			args = append(args, c.String())
		}
		cctx, cancel := context.WithTimeout(ctx, toolTimeout)
		cmd := exec.CommandContext(cctx, uv, args...)
		cmd.Env = find.env()
		out, err := cmd.Output()
		cancel()
		if p := strings.TrimSpace(string(out)); err == nil && p != "" {
			if in, ok := consider(p); ok {
				return in, nil
			}
		}
	}
	if p, err := find.look("python3"); err == nil {
		if in, ok := consider(p); ok {
			return in, nil
		}
	}
	for _, p := range pythonsOnPath(find.pathList()) {
		if in, ok := consider(p); ok {
			return in, nil
		}
	}
	if len(tried) == 0 {
		tried = append(tried, "none on PATH")
	}
	return interpreter{}, inputErr(fmt.Sprintf("[workspace.python].version: no interpreter matches %s; tried %s (fix: install a matching Python, or change [workspace.python].version)",
		want(c), strings.Join(tried, ", ")))
}

func orNone(v string) string {
	if v == "" {
		return "does not run"
	}
	return v
}

// pythonsOnPath lists python3.X programs on PATH, newest minor first, the
// first of each name only.
func pythonsOnPath(path string) []string {
	seen := map[string]bool{}
	type found struct {
		path  string
		minor int
	}
	var all []found
	for _, dir := range filepath.SplitList(path) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			minor, err := strconv.Atoi(strings.TrimPrefix(name, "python3."))
			if !strings.HasPrefix(name, "python3.") || err != nil || seen[name] {
				continue
			}
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				continue
			}
			seen[name] = true
			all = append(all, found{p, minor})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].minor > all[j].minor })
	out := make([]string, len(all))
	for i, f := range all {
		out[i] = f.path
	}
	return out
}
