package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with a config: where, which key, what, and the fix.
type Problem struct {
	File    string
	Line    int // 0 when unknown
	Key     string
	Message string
	Fix     string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Key != "" {
		fmt.Fprintf(&b, ": %s", p.Key)
	}
	fmt.Fprintf(&b, ": %s", p.Message)
	if p.Fix != "" {
		fmt.Fprintf(&b, " (fix: %s)", p.Fix)
	}
	return b.String()
}

// Warning is a Problem that does not stop the workspace from being built.
type Warning = Problem

// ValidationError holds every error found in a config, so a user fixes them
// all in one pass.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

type rawConfig struct {
	Workspace rawWorkspace `toml:"workspace"`
	Siblings  []rawSibling `toml:"siblings"`
}

type rawWorkspace struct {
	Name        string   `toml:"name"`
	Description string   `toml:"description"`
	Repo        string   `toml:"repo"`
	Python      Python   `toml:"python"`
	Layers      []string `toml:"layers"`
	CI          rawCI    `toml:"ci"`
	Bot         rawBot   `toml:"bot"`
	Release     Release  `toml:"release"`
}

type rawCI struct {
	Setup    []string          `toml:"setup"`
	Test     []string          `toml:"test"`
	Timeout  string            `toml:"timeout"`
	Checkout string            `toml:"checkout"`
	Env      map[string]string `toml:"env"`
}

type rawBot struct {
	Command      string   `toml:"command"`
	Context      string   `toml:"context"`
	Trusted      []string `toml:"trusted"`
	LinkByBranch *bool    `toml:"link_by_branch"`
}

type rawSibling struct {
	Name      string   `toml:"name"`
	Path      string   `toml:"path"`
	Repo      string   `toml:"repo"`
	Layer     string   `toml:"layer"`
	DependsOn []string `toml:"depends_on"`
	Branch    string   `toml:"branch"`
	Setup     []string `toml:"setup"`
}

// Load reads and validates a wrknv.toml file. Warnings do not make it fail.
func Load(file string) (*Config, []Warning, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, &ValidationError{Problems: []Problem{{
				File: file, Message: "file not found",
				Fix: "run from the workspace root or pass --config path/to/wrknv.toml",
			}}}
		}
		return nil, nil, fmt.Errorf("read %s: %w", file, err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	return Parse(abs, data)
}

// Parse decodes and validates config text; file names it in messages.
func Parse(file string, data []byte) (*Config, []Warning, error) {
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &ValidationError{Problems: []Problem{{
				File: file, Line: pe.Position.Line, Message: "not valid TOML: " + pe.Message,
				Fix: "correct the syntax on that line",
			}}}
		}
		return nil, nil, &ValidationError{Problems: []Problem{{
			File: file, Message: err.Error(), Fix: "check the value types against the documented wrknv.toml format",
		}}}
	}
	lines := newLocator(data)
	v := &validator{file: file, lines: lines}
	for _, k := range md.Undecoded() {
		v.warn(lines.key(k), k.String(), "unknown key, ignored", "remove it or check its spelling")
	}
	cfg := v.build(raw)
	if len(v.errs) > 0 {
		return nil, v.warnings, &ValidationError{Problems: v.errs}
	}
	return cfg, v.warnings, nil
}

type validator struct {
	file     string
	lines    *locator
	errs     []Problem
	warnings []Warning
}

func (v *validator) fail(line int, key, msg, fix string) {
	v.errs = append(v.errs, Problem{File: v.file, Line: line, Key: key, Message: msg, Fix: fix})
}

func (v *validator) warn(line int, key, msg, fix string) {
	v.warnings = append(v.warnings, Problem{File: v.file, Line: line, Key: key, Message: msg, Fix: fix})
}

func (v *validator) build(raw rawConfig) *Config {
	w := raw.Workspace
	cfg := &Config{File: v.file, Workspace: Workspace{
		Name: w.Name, Description: w.Description, Repo: w.Repo, Python: w.Python, Layers: w.Layers,
		CI:      CI{Setup: w.CI.Setup, Test: w.CI.Test, Checkout: w.CI.Checkout, Env: w.CI.Env, Timeout: DefaultTimeout},
		Bot:     Bot{Command: w.Bot.Command, Context: w.Bot.Context, Trusted: w.Bot.Trusted, LinkByBranch: true},
		Release: w.Release,
	}}
	ws := &cfg.Workspace
	if ws.Name == "" {
		v.fail(v.lines.table("workspace"), "workspace.name", "missing", `add name = "my-workspace" under [workspace]`)
	}
	if len(ws.Layers) == 0 {
		ws.Layers = DefaultLayers
	}
	if w.CI.Timeout != "" {
		d, err := time.ParseDuration(w.CI.Timeout)
		if err != nil || d <= 0 {
			v.fail(v.lines.keyIn("workspace.ci", "timeout"), "workspace.ci.timeout",
				fmt.Sprintf("%q is not a positive duration", w.CI.Timeout), `use a Go duration such as "30m" or "1h30m"`)
		} else {
			ws.CI.Timeout = d
		}
	}
	switch ws.CI.Checkout {
	case "":
		ws.CI.Checkout = CheckoutMerge
	case CheckoutMerge, CheckoutHead:
	default:
		v.fail(v.lines.keyIn("workspace.ci", "checkout"), "workspace.ci.checkout",
			fmt.Sprintf("%q is not a checkout mode", ws.CI.Checkout), `use "merge" (PR merged onto its base) or "head"`)
	}
	if ws.Bot.Command == "" {
		ws.Bot.Command = DefaultCommand
	}
	if !strings.HasPrefix(ws.Bot.Command, "/") || strings.ContainsAny(ws.Bot.Command, " \t\n") {
		v.fail(v.lines.keyIn("workspace.bot", "command"), "workspace.bot.command",
			fmt.Sprintf("%q is not a slash command", ws.Bot.Command), `use one word starting with "/", such as "/workspace"`)
	}
	if ws.Bot.Context == "" {
		ws.Bot.Context = DefaultContext
	}
	if ws.Bot.Trusted == nil {
		ws.Bot.Trusted = DefaultTrusted
	}
	if w.Bot.LinkByBranch != nil {
		ws.Bot.LinkByBranch = *w.Bot.LinkByBranch
	}

	if len(raw.Siblings) == 0 {
		v.fail(0, "siblings", "no [[siblings]] entries", "add one [[siblings]] table per repository of the workspace")
	}
	names := map[string]int{}
	paths := map[string]string{}
	for i, rs := range raw.Siblings {
		s := Sibling{Name: rs.Name, Path: rs.Path, Repo: rs.Repo, Layer: rs.Layer,
			DependsOn: rs.DependsOn, Branch: rs.Branch, Setup: rs.Setup}
		key := fmt.Sprintf("siblings[%d]", i)
		line := v.lines.sibling(i, "")
		if s.Name == "" {
			v.fail(line, key+".name", "missing", `add name = "<repository name>"`)
		} else {
			key = fmt.Sprintf("siblings[%s]", s.Name)
			if !validName(s.Name) {
				v.fail(v.lines.sibling(i, "name"), key+".name", fmt.Sprintf("%q is not a valid name", s.Name),
					"use letters, digits, '.', '_' and '-', not starting with '-'")
			}
			if first, dup := names[s.Name]; dup {
				v.fail(v.lines.sibling(i, "name"), key+".name",
					fmt.Sprintf("duplicate sibling name (also at siblings[%d])", first), "give each sibling a unique name")
			}
			names[s.Name] = i
		}
		if s.Path == "" {
			s.Path = "../" + s.Name
		}
		if msg := escapes(s.Path); msg != "" {
			v.fail(v.lines.sibling(i, "path"), key+".path", fmt.Sprintf("%q %s", s.Path, msg),
				`use a relative path inside the workspace's parent, such as "../`+s.Name+`"`)
		} else {
			clean := filepath.Clean(s.Path)
			if other, dup := paths[clean]; dup {
				v.fail(v.lines.sibling(i, "path"), key+".path",
					fmt.Sprintf("duplicate path %q (also used by %s)", s.Path, other), "give each sibling its own directory")
			}
			paths[clean] = s.Name
		}
		if s.Layer == "" {
			v.fail(line, key+".layer", "missing", fmt.Sprintf("add layer = one of %s", strings.Join(ws.Layers, ", ")))
		} else if cfg.layerRank(s.Layer) == len(ws.Layers) {
			v.fail(v.lines.sibling(i, "layer"), key+".layer", fmt.Sprintf("unknown layer %q", s.Layer),
				fmt.Sprintf("use one of %s, or list it in [workspace] layers", strings.Join(ws.Layers, ", ")))
		}
		if s.Branch == "" {
			s.Branch = DefaultBranch
		} else if strings.HasPrefix(s.Branch, "-") {
			v.fail(v.lines.sibling(i, "branch"), key+".branch", fmt.Sprintf("%q looks like a command-line option", s.Branch),
				"branch names may not start with '-'")
		}
		if s.Repo != "" && FullName(s.Repo) == "" {
			v.fail(v.lines.sibling(i, "repo"), key+".repo", fmt.Sprintf("%q has no owner/name", s.Repo),
				`use a git URL ending in owner/name, such as "https://github.com/provide-io/`+s.Name+`.git"`)
		}
		cfg.Siblings = append(cfg.Siblings, s)
	}
	if len(v.errs) == 0 && cfg.Owner() == "" {
		v.fail(0, "siblings.repo", "no sibling has a repo, so the GitHub owner is unknown",
			"set repo on [workspace] or on the siblings")
	}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		for _, d := range s.DependsOn {
			dep := cfg.Sibling(d)
			switch {
			case dep == nil:
				v.fail(v.lines.sibling(i, "depends_on"), fmt.Sprintf("siblings[%s].depends_on", s.Name),
					fmt.Sprintf("unknown sibling %q", d), "name a sibling defined in this file: "+suggest(cfg, d))
			case d == s.Name:
				v.fail(v.lines.sibling(i, "depends_on"), fmt.Sprintf("siblings[%s].depends_on", s.Name),
					"a sibling cannot depend on itself", "remove "+d+" from its depends_on")
			case s.Layer != "" && dep.Layer != "" && cfg.layerRank(dep.Layer) > cfg.layerRank(s.Layer):
				v.warn(v.lines.sibling(i, "depends_on"), fmt.Sprintf("siblings[%s].depends_on", s.Name),
					fmt.Sprintf("%s (%s) depends on %s, which is in a later layer (%s)", s.Name, s.Layer, d, dep.Layer),
					"move one of them to another layer, or accept it: the build order still follows depends_on")
			}
		}
	}
	v.checkFixed(cfg)
	if len(v.errs) == 0 {
		if _, err := cfg.Order(); err != nil {
			var ce *CycleError
			line := 0
			if errors.As(err, &ce) {
				if i := indexOf(cfg, ce.Cycle[0]); i >= 0 {
					line = v.lines.sibling(i, "depends_on")
				}
			}
			v.fail(line, "depends_on", err.Error(), "remove one of the dependencies in the cycle")
		}
	}
	return cfg
}

func indexOf(cfg *Config, name string) int {
	for i, s := range cfg.Siblings {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func suggest(cfg *Config, name string) string {
	var names []string
	for _, s := range cfg.Siblings {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.Contains(n, name) || strings.Contains(name, n) {
			return "did you mean " + n + "?"
		}
	}
	return strings.Join(names, ", ")
}

func validName(s string) bool {
	if s == "" || s[0] == '-' || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// escapes explains why a sibling path would land outside the build root,
// or returns "". Sibling paths are relative to the workspace checkout, which
// sits one level below the build root, so "../x" is the deepest way up.
func escapes(p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return "is absolute"
	}
	if strings.HasPrefix(p, "-") {
		return "looks like a command-line option"
	}
	rel := filepath.Clean(filepath.Join("ws", p))
	if rel == "." || rel == "ws" {
		return "is the workspace checkout itself"
	}
	if strings.HasPrefix(rel, "..") {
		return "would land outside the build root"
	}
	return ""
}

// checkFixed refuses release groups naming unknown siblings, or a sibling
// in two groups (it could not follow both).
func (v *validator) checkFixed(cfg *Config) {
	line := v.lines.keyIn("workspace.release", "fixed")
	seen := map[string]int{}
	for i, group := range cfg.Workspace.Release.Fixed {
		for _, name := range group {
			if cfg.Sibling(name) == nil {
				v.fail(line, "workspace.release.fixed", fmt.Sprintf("unknown sibling %q", name),
					"name siblings defined in this file: "+suggest(cfg, name))
				continue
			}
			if j, dup := seen[name]; dup && j != i {
				v.fail(line, "workspace.release.fixed", fmt.Sprintf("%s is in two fixed groups", name),
					"merge the groups or remove it from one")
			}
			seen[name] = i
		}
	}
}
