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

// Default values for optional keys.
const (
	DefaultBranch   = "main"
	DefaultCommand  = "/workspace"
	DefaultContext  = "workspace/integration"
	DefaultTimeout  = 30 * time.Minute
	CheckoutMerge   = "merge"
	CheckoutHead    = "head"
	DefaultFileName = "wrknv.toml"
)

// DefaultLayers is the layer order used when [workspace.layers] is absent.
var DefaultLayers = []string{"foundation", "framework", "tools"}

// DefaultTrusted are the author associations allowed to run commands.
var DefaultTrusted = []string{"OWNER", "MEMBER", "COLLABORATOR"}

// Config is a parsed and validated wrknv.toml.
type Config struct {
	// File is the path the config was read from ("" when parsed from memory).
	File      string
	Workspace Workspace
	Siblings  []Sibling
}

// Workspace is the [workspace] table.
type Workspace struct {
	Name        string
	Description string
	Repo        string
	Python      Python
	Layers      []string
	CI          CI
	Bot         Bot
	Release     Release
}

// Release is [workspace.release]: how coordinated releases are planned.
type Release struct {
	// Fixed lists groups of sibling names released together, at the
	// highest bump of any member.
	Fixed [][]string
}

// Python is [workspace.python]; kept because the documented format has it.
type Python struct {
	Version  string `toml:"version"`
	VenvPath string `toml:"venv_path"`
}

// CI is [workspace.ci]: how a workspace is set up and tested.
type CI struct {
	Setup    []string
	Test     []string
	Timeout  time.Duration
	Checkout string
	Env      map[string]string
}

// Bot is [workspace.bot]: how the bot talks on pull requests.
type Bot struct {
	Command      string
	Context      string
	Trusted      []string
	LinkByBranch bool
}

// Sibling is one [[siblings]] entry.
type Sibling struct {
	Name      string
	Path      string
	Repo      string
	Layer     string
	DependsOn []string
	Branch    string
	Setup     []string
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

// Owner is the GitHub owner of the workspace: the owner of its repo, or of
// the first sibling that has one.
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

// RepoURL is where a sibling is cloned from; a missing repo means
// https://github.com/<workspace owner>/<name>.git.
func (c *Config) RepoURL(s *Sibling) string {
	if s.Repo != "" {
		return s.Repo
	}
	return fmt.Sprintf("https://github.com/%s/%s.git", c.Owner(), s.Name)
}

// FullName is the sibling's GitHub owner/name.
func (c *Config) FullName(s *Sibling) string {
	return FullName(c.RepoURL(s))
}

// WorkspaceFullName is the workspace repository's owner/name, or "" when
// the workspace has no repo.
func (c *Config) WorkspaceFullName() string {
	return FullName(c.Workspace.Repo)
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

// Dir is the directory holding the config file: the workspace root when
// the CLI runs in place.
func (c *Config) Dir() string {
	if c.File == "" {
		d, _ := os.Getwd()
		return d
	}
	return filepath.Dir(c.File)
}

// layerRank returns the position of a layer in the configured order.
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
