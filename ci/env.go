package ci

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/provide-io/workspace-bot/internal/sandbox"
)

// stepPassed are the variables of the service's environment a step gets:
// where programs are, the locale, the terminal, and how to reach the
// network (proxies, certificates). Nothing else reaches a step: the
// service's environment holds its tokens and webhook secret, and in the
// Action the runner's files (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, ...)
// and its ACTIONS_* tokens, which a step could use to change the job.
var stepPassed = map[string]bool{
	"PATH": true, "LANG": true, "LANGUAGE": true, "TZ": true, "TERM": true,
	"USER": true, "LOGNAME": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

// scratch is a run's own HOME and TMPDIR for its steps: fresh for every
// run, so nothing a step leaves in ~ (caches, config, credentials) reaches
// another run, and nothing of the service's home is needed.
type scratch struct {
	home, tmp string
	// reports holds each step's WORKSPACE_REPORTS.
	reports *reports
}

// newScratch makes the run's scratch directories, and a reports
// directory for each of its steps: in the build root, or for --local in a
// temporary directory removed by cleanup.
func newScratch(root string, steps int) (s scratch, cleanup func(), err error) {
	cleanup = func() {}
	dir := root
	if dir == "" {
		if dir, err = os.MkdirTemp("", "workspace-bot-steps-"); err != nil {
			return s, cleanup, err
		}
		cleanup = func() { removeTree(dir) }
	}
	s = scratch{home: filepath.Join(dir, ".home"), tmp: filepath.Join(dir, ".tmp")}
	for _, d := range []string{s.home, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			cleanup()
			return s, func() {}, err
		}
	}
	if s.reports, err = makeReports(dir, steps); err != nil {
		cleanup()
		return s, func() {}, err
	}
	removeDir := cleanup
	return s, func() { s.reports.close(); removeDir() }, nil
}

// stepEnv is every step's environment: the passed variables of the
// service's, HOME and TMPDIR in the run's scratch, the configured env
// ([workspace.env] and [workspace.ci].env; it may override anything
// above), then WORKSPACE_ROOT and WORKSPACE_CHANGESET.
func stepEnv(req Request, lay layout, sc scratch, user *sandbox.User) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if stepPassed[k] || strings.HasPrefix(k, "LC_") {
			env = append(env, kv)
		}
	}
	if user != nil {
		env = append(env, "USER="+user.Name, "LOGNAME="+user.Name)
	}
	env = append(env, "HOME="+sc.home, "TMPDIR="+sc.tmp)
	env = append(env, req.Config.StepEnv()...)
	return append(env, "WORKSPACE_ROOT="+lay.wsDir, "WORKSPACE_CHANGESET="+req.Changeset)
}

// proxyVars are the variables programs take their proxy from.
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"}

// netEnv points an egress step's programs at the sandbox's proxy (pip,
// uv, npm, cargo, go and git all read these); in other networks the
// environment is left as it is.
func netEnv(env []string, n sandbox.Net) []string {
	if n != sandbox.NetEgress {
		return env
	}
	out := make([]string, 0, len(env)+len(proxyVars))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(proxyVars, k) {
			out = append(out, kv)
		}
	}
	proxy := "http://" + sandbox.EgressProxy
	return append(out, "HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy,
		"NO_PROXY=localhost,127.0.0.1,::1", "no_proxy=localhost,127.0.0.1,::1")
}
