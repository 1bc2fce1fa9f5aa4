// Package workspace reads wrknv.toml: the siblings of a meta-repository
// workspace, their dependencies and the order they are built in.
package workspace

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Default values for optional keys. They are applied once, when a config
// is read: every Config from Load or Parse carries them.
const (
	DefaultBranch   = "main"
	DefaultCommand  = "/workspace"
	DefaultContext  = "workspace/integration"
	DefaultTimeout  = 30 * time.Minute
	DefaultVenvPath = ".venv"
	DefaultMaxLog   = 50 << 20 // bytes of log kept per run
	CheckoutMerge   = "merge"
	CheckoutHead    = "head"
	DefaultFileName = "wrknv.toml"
)

// NothingToTest is the refusal of a workspace with no test command
// anywhere: a build that tests nothing must not report success.
const NothingToTest = "nothing to test: add [workspace.tasks].test or [workspace.ci].test"

// DefaultLayers is the layer order used when [workspace.layers] is absent.
var DefaultLayers = []string{"foundation", "framework", "tools"}

// DefaultTrusted are the author associations allowed to run commands.
var DefaultTrusted = []string{"OWNER", "MEMBER", "COLLABORATOR"}

// Config is a parsed and validated wrknv.toml.
type Config struct {
	// File is the path the config was read from, as the user gave it
	// ("" when parsed from memory); messages name it.
	File      string
	Workspace Workspace
	Siblings  []Sibling
	// Wrknv lists the top-level keys that belong to wrknv itself (its
	// task file shares wrknv.toml): "[tasks]", "[workenv]", "project_name".
	// They are passed over, not read.
	Wrknv []string

	dir string // absolute directory of File, fixed when it was read
}

// Workspace is the [workspace] table.
type Workspace struct {
	Name        string
	Description string
	// Version is the config's own version, as documented; nothing reads it.
	Version string
	Repo    string
	// Branch is the workspace repository's branch; "" means its default
	// branch, which ci resolves.
	Branch string
	Python Python
	// Tools are checked before anything is cloned, sorted by name.
	Tools []Tool
	// Tasks are named commands; "test" is the workspace test unless
	// [workspace.ci].test is set (see TestCommands).
	Tasks map[string][]string
	// Env is [workspace.env]; steps see StepEnv, which adds [workspace.ci].env.
	Env     map[string]string
	Hooks   Hooks
	Layers  []string
	CI      CI
	Bot     Bot
	Release Release
}

// Release is [workspace.release]: how coordinated releases are planned.
type Release struct {
	// Fixed lists groups of sibling names released together, at the
	// highest bump of any member.
	Fixed [][]string
	// Tag is the tag a released sibling gets at its merge commit once
	// its release lands, {version} standing for the version; "" is
	// DefaultTag.
	Tag string
	// GitHubReleases also publishes a GitHub release for each tag, with
	// the release PR's changelog section as its notes.
	GitHubReleases bool
}

// DefaultTag is the release tag format when [workspace.release].tag is
// not given.
const DefaultTag = "v{version}"

// TagFor is the tag of a release of version.
func (c *Config) TagFor(version string) string {
	f := c.Workspace.Release.Tag
	if f == "" {
		f = DefaultTag
	}
	return strings.ReplaceAll(f, "{version}", version)
}

// Python is [workspace.python]: the interpreter for the shared venv of
// the default setup, and where that venv lives.
type Python struct {
	// Version selects the interpreter; the zero Constraint takes any.
	Version Constraint
	// VenvPath is relative to the workspace root; default ".venv".
	VenvPath string
}

// Tool is one [workspace.tools] entry: a program that must be on PATH at
// a version the constraint allows.
type Tool struct {
	Name    string
	Version Constraint
}

// Hooks is [workspace.hooks]: commands run around the sibling setups.
type Hooks struct {
	PreInstall  []string
	PostInstall []string
}

// CI is [workspace.ci]: how a workspace is set up and tested.
type CI struct {
	Setup    []string
	Test     []string
	Timeout  time.Duration
	Checkout string
	Env      map[string]string
	Cache    Cache
	// MaxLog caps the log kept for one run, in bytes; default 50 MiB.
	MaxLog int64
	// Network is the steps' network: NetworkIsolated, NetworkEgress or
	// NetworkHost; "" leaves it to the runner (the machine's for trusted
	// code, isolated for untrusted).
	Network string
	// Limits bound each run's processes together; a zero field takes the
	// runner's default.
	Limits Limits
	// TestAll is affected = false: a PR run tests every sibling, not
	// only those its changeset affects (see Affected).
	TestAll bool
	// RetryFlaky is how many times a run that failed only at tests
	// known to be flaky is run again; 0, the default, never.
	RetryFlaky int
}

// MaxRetryFlaky bounds [workspace.ci].retry_flaky: each retry is a whole
// run.
const MaxRetryFlaky = 3

// The networks [workspace.ci].network names.
const (
	// NetworkIsolated: test steps have only their own loopback; setup
	// steps reach the outside through the egress proxy.
	NetworkIsolated = "isolated"
	// NetworkEgress: every step reaches the outside through the egress
	// proxy, which refuses this machine and metadata addresses.
	NetworkEgress = "egress"
	// NetworkHost: every step has the machine's network.
	NetworkHost = "host"
)

// Limits is [workspace.ci].limits: what one run's processes may use
// together.
type Limits struct {
	Memory int64   // bytes
	Pids   int64   // processes and threads at once
	CPU    float64 // CPUs
}

// MinPids is the lowest process limit accepted: each sandboxed step's
// init holds a few threads of its own.
const MinPids = 64

// Cache is [workspace.ci].cache: paths kept between runs, keyed by a hash
// of the files the Key globs match. Paths are relative to the workspace
// root; Key globs are relative to the build root, the directory that
// holds the workspace checkout and the siblings, so "*/pyproject.toml"
// matches every sibling's.
type Cache struct {
	Paths []string
	Key   []string
}

// Bot is [workspace.bot]: how the bot talks on pull requests.
type Bot struct {
	Command      string
	Context      string
	Trusted      []string
	LinkByBranch bool
	// MergeMethod is how landing merges each PR: merge, squash or
	// rebase; "" takes the first the repository allows.
	MergeMethod string
	// Executor is where the service builds runs: local or actions; ""
	// leaves it to serve --executor (local by default).
	Executor string
}

// Sibling is one [[siblings]] entry.
type Sibling struct {
	Name string
	// Path is relative to the workspace root; default "../<name>".
	Path string
	// Repo is the git URL as written; "" when absent (see CloneURL).
	Repo string
	// Layer is "" when not given: the order then follows depends_on alone.
	Layer     string
	DependsOn []string
	// Branch defaults to "main".
	Branch string
	// Setup is the sibling's own setup. OwnSetup says the key was given:
	// without it the default setup applies (see Plan); setup = [] gives
	// OwnSetup with no commands, which turns setup off.
	Setup    []string
	OwnSetup bool
	// SetupInputs are globs, relative to the sibling's root, of the files
	// its setup is built from: a trusted run in a warm root skips the
	// setup while they (and the venv) are unchanged. Empty means
	// DefaultSetupInputs for the default setup, and never skipping a
	// setup of the sibling's own.
	SetupInputs []string
	// Test is the sibling's own tests, run in its directory against the
	// whole workspace once everything is set up.
	Test []string
	// Sparse lists cone-mode sparse checkout directories; empty means the
	// whole tree.
	Sparse []string
	// MergeMethod overrides [workspace.bot].merge_method for this
	// sibling's PRs.
	MergeMethod string

	// dependsOnLines are the lines DependsOn's names are written on, for
	// warnings about the graph (0 when unknown).
	dependsOnLines []int
}

// DefaultSetupInputs are the files an editable install is built from.
var DefaultSetupInputs = []string{"pyproject.toml", "setup.cfg", "setup.py", "uv.lock", "requirements*.txt"}

// HasOwnSetup reports whether the sibling's setup replaces the default.
func (s *Sibling) HasOwnSetup() bool { return s.OwnSetup || len(s.Setup) > 0 }

// MergeMethod is how landing merges the PRs of the sibling (or of the
// workspace repository) named name: its own merge_method, else
// [workspace.bot]'s; "" lets landing take the first the repository allows.
func (c *Config) MergeMethod(name string) string {
	for i := range c.Siblings {
		if c.Siblings[i].Name == name && c.Siblings[i].MergeMethod != "" {
			return c.Siblings[i].MergeMethod
		}
	}
	return c.Workspace.Bot.MergeMethod
}

// FullName is the GitHub identity owner/name of a git URL or path, taken
// from its last two path segments with ".git" stripped. It returns "" when
// the URL has fewer than two segments.
func FullName(repoURL string) string {
	p := repoURL
	if u, err := url.Parse(repoURL); err == nil && u.Scheme != "" && u.Host != "" {
		p = u.Path
	} else if i := strings.Index(p, ":"); i > 0 && !strings.Contains(p[:i], "/") && !filepath.IsAbs(p) {
		// scp-like ssh syntax: git@github.com:owner/name.git
		p = p[i+1:]
	}
	p = strings.TrimSuffix(strings.TrimRight(filepath.ToSlash(p), "/"), ".git")
	dir, name := path.Split(p)
	owner := path.Base(strings.TrimRight(dir, "/"))
	if name == "" || owner == "" || owner == "." || owner == "/" {
		return ""
	}
	return owner + "/" + name
}

// Owner is the GitHub owner of the workspace: the owner of its repo, or,
// when the workspace names none, of the first sibling that has one.
func (c *Config) Owner() string {
	if fn := FullName(c.Workspace.Repo); fn != "" {
		return strings.SplitN(fn, "/", 2)[0]
	}
	for _, s := range c.Siblings {
		if fn := FullName(s.Repo); fn != "" {
			return strings.SplitN(fn, "/", 2)[0]
		}
	}
	return ""
}

// RepoURL is where a sibling is cloned from: its repo, or, when it has
// none, https://github.com/<workspace owner>/<name>.git. It is "" when
// the owner is unknown too; CloneURL says why.
func (c *Config) RepoURL(s *Sibling) string {
	u, _ := c.CloneURL(s)
	return u
}

// CloneURL is RepoURL for callers that must clone: without a URL the
// error names the sibling and how to give it one. Only --local, which
// uses the checkouts on disk, builds such a sibling.
func (c *Config) CloneURL(s *Sibling) (string, error) {
	if s.Repo != "" {
		return s.Repo, nil
	}
	if owner := c.Owner(); owner != "" {
		return fmt.Sprintf("https://github.com/%s/%s.git", owner, s.Name), nil
	}
	return "", fmt.Errorf("sibling %s has no repo to clone (fix: add repo = \"https://github.com/<owner>/%s.git\" to its [[siblings]] entry in %s, or set repo under [workspace] so every sibling defaults to its owner; or use --local to build the checkouts at each path)", s.Name, s.Name, c.fileName())
}

func (c *Config) fileName() string {
	if c.File == "" {
		return DefaultFileName
	}
	return c.File
}

// FullName is the sibling's GitHub owner/name, or "" when it has no repo
// and none can be derived.
func (c *Config) FullName(s *Sibling) string {
	return FullName(c.RepoURL(s))
}

// WorkspaceFullName is the workspace repository's owner/name, or "" when
// the workspace has no repo.
func (c *Config) WorkspaceFullName() string {
	return FullName(c.Workspace.Repo)
}

// SiblingDirs is where each sibling's checkout is on disk, by name: at
// its path from the workspace root.
func (c *Config) SiblingDirs() map[string]string {
	dirs := make(map[string]string, len(c.Siblings))
	for _, s := range c.Siblings {
		dirs[s.Name] = filepath.Join(c.Dir(), s.Path)
	}
	return dirs
}

// Sibling returns the sibling with the given name.
func (c *Config) Sibling(name string) *Sibling {
	for i := range c.Siblings {
		if c.Siblings[i].Name == name {
			return &c.Siblings[i]
		}
	}
	return nil
}

// SiblingByRepo returns the sibling whose GitHub identity is fullName
// (compared case-insensitively, as GitHub does).
func (c *Config) SiblingByRepo(fullName string) *Sibling {
	for i := range c.Siblings {
		if strings.EqualFold(c.FullName(&c.Siblings[i]), fullName) {
			return &c.Siblings[i]
		}
	}
	return nil
}

// Dir is the absolute directory holding the config file: the workspace
// root when the CLI runs in place.
func (c *Config) Dir() string {
	if c.dir != "" {
		return c.dir
	}
	return absDir(c.File)
}

func absDir(file string) string {
	if file == "" {
		d, _ := os.Getwd()
		return d
	}
	d, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return filepath.Dir(file)
	}
	return d
}

// layerRank returns the position of a layer in the configured order; a
// sibling without a layer ranks after every layer.
func (c *Config) layerRank(layer string) int {
	for i, l := range c.Workspace.Layers {
		if l == layer {
			return i
		}
	}
	return len(c.Workspace.Layers)
}

// CommandWord is the comment command prefix, "/workspace" by default.
func (c *Config) CommandWord() string {
	if c.Workspace.Bot.Command != "" {
		return c.Workspace.Bot.Command
	}
	return DefaultCommand
}

// StatusContext names the commit status or check run, by default
// "workspace/integration".
func (c *Config) StatusContext() string {
	if c.Workspace.Bot.Context != "" {
		return c.Workspace.Bot.Context
	}
	return DefaultContext
}

// Trusted lists the author associations that may run commands.
func (c *Config) Trusted() []string {
	if len(c.Workspace.Bot.Trusted) > 0 {
		return c.Workspace.Bot.Trusted
	}
	return DefaultTrusted
}
