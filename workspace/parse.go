package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/provide-io/workspace-bot/internal/suggest"
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

// Load reads and validates a wrknv.toml file; a directory means the
// wrknv.toml in it. Messages name the file as given, so a relative path
// stays relative. Warnings do not make it fail.
func Load(file string) (*Config, []Warning, error) {
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		file = filepath.Join(file, DefaultFileName)
	}
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
	return Parse(file, data)
}

// Parse decodes and validates config text; file names it in messages and
// is where relative sibling paths start from.
func Parse(file string, data []byte) (*Config, []Warning, error) {
	if p := tooBig(file, data); p != nil {
		return nil, nil, &ValidationError{Problems: []Problem{*p}}
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		p := Problem{File: file, Message: "not valid TOML: " + err.Error(), Fix: "correct the syntax on that line"}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Message = pe.Position.Line, "not valid TOML: "+pe.Message
		}
		return nil, nil, &ValidationError{Problems: []Problem{p}}
	}
	v := &validator{file: file, lines: scanLines(string(data))}
	cfg := v.decode(tree)
	v.check(cfg)
	sortProblems(v.errs)
	sortProblems(v.warnings)
	if len(v.errs) > 0 {
		return nil, v.warnings, &ValidationError{Problems: v.errs}
	}
	return cfg, v.warnings, nil
}

// MaxFileSize bounds a wrknv.toml; real ones are a few kilobytes.
const MaxFileSize = 1 << 20

// deepKeyRe finds a key of more than 64 dotted parts: the TOML decoder
// takes time quadratic in a key's depth, so such a file is refused before
// it is decoded.
var deepKeyRe = regexp.MustCompile(`(?:(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*\.[ \t]*){64}`)

// tooBig refuses a config too large or too deeply nested to be a real one.
func tooBig(file string, data []byte) *Problem {
	if len(data) > MaxFileSize {
		return &Problem{File: file, Message: fmt.Sprintf("is %d bytes, more than a wrknv.toml needs (%d)", len(data), MaxFileSize),
			Fix: "point --config at the workspace's wrknv.toml"}
	}
	if loc := deepKeyRe.FindIndex(data); loc != nil {
		return &Problem{File: file, Line: 1 + bytes.Count(data[:loc[0]], []byte("\n")),
			Message: "a key of more than 64 dotted parts", Fix: "nest tables a few levels deep at most"}
	}
	return nil
}

// sortProblems orders problems by line, those without one last, so a
// user reads them top to bottom.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Line, ps[j].Line
		if (a == 0) != (b == 0) {
			return b == 0
		}
		return a < b
	})
}

type validator struct {
	file     string
	lines    *lines
	errs     []Problem
	warnings []Warning

	// What decode saw, for the checks and defaults that follow.
	sawWorkspace    bool
	sawSiblingsTypo bool // an unknown top-level key close to "siblings"
	venvPathGiven   bool
	linkByBranch    *bool
	bad             map[string]bool // keys whose value had the wrong type
}

func (v *validator) fail(line int, key, msg, fix string) {
	v.errs = append(v.errs, Problem{File: v.file, Line: line, Key: key, Message: msg, Fix: fix})
}

func (v *validator) warn(line int, key, msg, fix string) {
	v.warnings = append(v.warnings, Problem{File: v.file, Line: line, Key: key, Message: msg, Fix: fix})
}

func siblingLoc(i int, s *Sibling) loc {
	key := fmt.Sprintf("siblings[%d]", i)
	if s.Name != "" && validName(s.Name) {
		key = fmt.Sprintf("siblings[%s]", s.Name)
	}
	return loc{path: []string{"siblings", "#" + strconv.Itoa(i)}, key: key}
}

// check validates what decode read and applies every default, once.
func (v *validator) check(cfg *Config) {
	ws := &cfg.Workspace
	wl := loc{path: []string{"workspace"}, key: "workspace"}
	if ws.Name == "" && !v.bad["workspace.name"] && !v.bad["workspace"] {
		fix := `add name = "my-workspace" under [workspace]`
		if !v.sawWorkspace {
			fix = `add a [workspace] table with name = "my-workspace"`
		}
		v.failAt(wl.child("name"), "missing", fix)
	}
	if ws.Repo != "" && FullName(ws.Repo) == "" {
		v.failAt(wl.child("repo"), fmt.Sprintf("%q has no owner/name", ws.Repo),
			`use a git URL ending in owner/name, such as "https://github.com/provide-io/provide-workspace.git"`)
	}
	if strings.HasPrefix(ws.Branch, "-") {
		v.failAt(wl.child("branch"), fmt.Sprintf("%q looks like a command-line option", ws.Branch), "branch names may not start with '-'")
	}
	if len(ws.Layers) == 0 {
		ws.Layers = DefaultLayers
	}
	v.checkPaths(cfg, wl)
	if ws.CI.Timeout == 0 {
		ws.CI.Timeout = DefaultTimeout
	}
	if ws.CI.MaxLog == 0 {
		ws.CI.MaxLog = DefaultMaxLog
	}
	switch ws.CI.Checkout {
	case "":
		ws.CI.Checkout = CheckoutMerge
	case CheckoutMerge, CheckoutHead:
	default:
		v.failAt(wl.child("ci").child("checkout"), fmt.Sprintf("%q is not a checkout mode", ws.CI.Checkout),
			`use "merge" (PR merged onto its base) or "head"`)
	}
	if ws.Bot.Command == "" {
		ws.Bot.Command = DefaultCommand
	}
	if !strings.HasPrefix(ws.Bot.Command, "/") || strings.ContainsAny(ws.Bot.Command, " \t\n") {
		v.failAt(wl.child("bot").child("command"), fmt.Sprintf("%q is not a slash command", ws.Bot.Command),
			`use one word starting with "/", such as "/workspace"`)
	}
	if ws.Bot.Context == "" {
		ws.Bot.Context = DefaultContext
	}
	if ws.Bot.Trusted == nil {
		ws.Bot.Trusted = DefaultTrusted
	}
	ws.Bot.LinkByBranch = true
	if v.linkByBranch != nil {
		ws.Bot.LinkByBranch = *v.linkByBranch
	}
	v.checkSiblings(cfg)
	v.checkFixed(cfg)
	if len(v.errs) == 0 {
		if _, err := cfg.Order(); err != nil {
			var ce *CycleError
			l := loc{key: "depends_on"}
			if errors.As(err, &ce) {
				if i := indexOf(cfg, ce.Cycle[0]); i >= 0 {
					l = siblingLoc(i, &cfg.Siblings[i]).child("depends_on")
				}
			}
			v.failAt(l, err.Error(), "remove one of the dependencies in the cycle")
		}
	}
}

// checkPaths checks the paths the workspace's steps use: the venv, the
// cache paths and their key globs.
func (v *validator) checkPaths(cfg *Config, wl loc) {
	py := &cfg.Workspace.Python
	if v.venvPathGiven {
		vl := wl.child("python").child("venv_path")
		switch {
		case !safePath(py.VenvPath):
			v.failAt(vl, fmt.Sprintf("%q is not a plain relative path", py.VenvPath), `use letters, digits, '.', '_', '-' and '/', such as ".venv"`)
		case escapes(py.VenvPath) != "" && escapes(py.VenvPath) != "is the workspace checkout itself":
			v.failAt(vl, fmt.Sprintf("%q %s", py.VenvPath, escapes(py.VenvPath)), `use a path inside the workspace, such as ".venv"`)
		case filepath.Clean(py.VenvPath) == ".":
			v.failAt(vl, "is the workspace checkout itself", `use a directory of its own, such as ".venv"`)
		}
	}
	if py.VenvPath == "" {
		py.VenvPath = DefaultVenvPath
	}
	cl := wl.child("ci").child("cache")
	for i, p := range cfg.Workspace.CI.Cache.Paths {
		if msg := escapes(p); msg != "" || p == "" {
			if p == "" {
				msg = "is empty"
			}
			v.failAt(cl.child("paths").elem(i), fmt.Sprintf("%q %s", p, msg), `use a path inside the build root, such as ".venv"`)
		}
	}
	for i, g := range cfg.Workspace.CI.Cache.Key {
		_, err := filepath.Match(g, "")
		if err != nil || g == "" || filepath.IsAbs(g) || strings.HasPrefix(g, "-") || hasDotDot(g) {
			v.failAt(cl.child("key").elem(i), fmt.Sprintf("%q is not a relative file glob", g), `use globs such as "*/pyproject.toml"`)
		}
	}
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// safePath allows the characters a path may hold when it is written
// into a shell command inside double quotes.
func safePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "-") {
		return false
	}
	for _, r := range p {
		if !(r == '/' || r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

func (v *validator) checkSiblings(cfg *Config) {
	ws := &cfg.Workspace
	if len(cfg.Siblings) == 0 && !v.sawSiblingsTypo {
		v.fail(0, "siblings", "no [[siblings]] entries", "add one [[siblings]] table per repository of the workspace")
	}
	names := map[string]int{}
	paths := map[string]string{}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		sl := siblingLoc(i, s)
		if s.Name == "" {
			if !v.bad[sl.key+".name"] {
				v.failAt(sl.child("name"), "missing", `add name = "<repository name>"`)
			}
			continue // the rest of its checks and defaults need a name
		}
		if !validName(s.Name) {
			v.failAt(sl.child("name"), fmt.Sprintf("%q is not a valid name", s.Name),
				"use letters, digits, '.', '_' and '-', not starting with '-'")
		}
		if first, dup := names[s.Name]; dup {
			v.failAt(sl.child("name"), fmt.Sprintf("duplicate sibling name (also at siblings[%d])", first), "give each sibling a unique name")
		} else {
			names[s.Name] = i
		}
		if s.Path == "" {
			s.Path = "../" + s.Name
		}
		if msg := escapes(s.Path); msg != "" {
			v.failAt(sl.child("path"), fmt.Sprintf("%q %s", s.Path, msg),
				`use a relative path inside the workspace's parent, such as "../`+s.Name+`"`)
		} else {
			clean := filepath.Clean(s.Path)
			if other, dup := paths[clean]; dup {
				v.failAt(sl.child("path"), fmt.Sprintf("duplicate path %q (also used by %s)", s.Path, other), "give each sibling its own directory")
			}
			paths[clean] = s.Name
		}
		if s.Layer != "" && cfg.layerRank(s.Layer) == len(ws.Layers) {
			fix := fmt.Sprintf("use one of %s, or list it in [workspace] layers", strings.Join(ws.Layers, ", "))
			if m := suggest.Closest(s.Layer, ws.Layers); m != "" {
				fix = "did you mean " + m + "? " + fix
			}
			v.failAt(sl.child("layer"), fmt.Sprintf("unknown layer %q", s.Layer), fix)
		}
		if s.Branch == "" {
			s.Branch = DefaultBranch
		} else if strings.HasPrefix(s.Branch, "-") {
			v.failAt(sl.child("branch"), fmt.Sprintf("%q looks like a command-line option", s.Branch), "branch names may not start with '-'")
		}
		if s.Repo != "" && (FullName(s.Repo) == "" || strings.HasPrefix(s.Repo, "-")) {
			v.failAt(sl.child("repo"), fmt.Sprintf("%q has no owner/name", s.Repo),
				`use a git URL ending in owner/name, such as "https://github.com/provide-io/`+s.Name+`.git"`)
		}
		for j, g := range s.SetupInputs {
			_, err := filepath.Match(g, "")
			switch {
			case err != nil:
				v.failAt(sl.child("setup_inputs").elem(j), fmt.Sprintf("%q is not a valid glob: %v", g, err),
					`use a glob relative to the sibling's root, such as "requirements*.txt" or "src/*/schema.json"`)
			case g == "" || hasDotDot(g) || strings.HasPrefix(g, "/"):
				v.failAt(sl.child("setup_inputs").elem(j), fmt.Sprintf("%q is not a path inside the sibling", g),
					`use a glob relative to the sibling's root, such as "requirements*.txt"`)
			}
		}
		for j, p := range s.Sparse {
			if !safePath(p) || hasDotDot(p) || strings.HasPrefix(p, "/") {
				v.failAt(sl.child("sparse").elem(j), fmt.Sprintf("%q is not a directory inside the sibling", p),
					`list directories relative to the sibling's root, such as "src"`)
			}
		}
	}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		dl := siblingLoc(i, s).child("depends_on")
		s.dependsOnLines = make([]int, len(s.DependsOn))
		for j, d := range s.DependsOn {
			s.dependsOnLines[j] = v.lines.line(dl.elem(j).path...)
			dep := cfg.Sibling(d)
			switch {
			case dep == nil:
				v.failAt(dl.elem(j), fmt.Sprintf("unknown sibling %q", d), "name a sibling defined in this file: "+suggestSibling(cfg, d))
			case d == s.Name:
				v.failAt(dl.elem(j), "a sibling cannot depend on itself", "remove "+d+" from its depends_on")
			case s.Layer != "" && dep.Layer != "" && cfg.layerRank(dep.Layer) > cfg.layerRank(s.Layer):
				v.warnAt(dl.elem(j),
					fmt.Sprintf("%s (%s) depends on %s, which is in a later layer (%s)", s.Name, s.Layer, d, dep.Layer),
					"move one of them to another layer, or accept it: the build order still follows depends_on")
			}
		}
	}
}

func indexOf(cfg *Config, name string) int {
	for i, s := range cfg.Siblings {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func suggestSibling(cfg *Config, name string) string {
	var names []string
	for _, s := range cfg.Siblings {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	if m := suggest.Closest(name, names); m != "" {
		return "did you mean " + m + "?"
	}
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
	fl := loc{path: []string{"workspace", "release", "fixed"}, key: "workspace.release.fixed"}
	seen := map[string]int{}
	for i, group := range cfg.Workspace.Release.Fixed {
		for j, name := range group {
			at := v.lines.line(fl.elem(i).elem(j).path...)
			if cfg.Sibling(name) == nil {
				v.fail(at, fl.key, fmt.Sprintf("unknown sibling %q", name),
					"name siblings defined in this file: "+suggestSibling(cfg, name))
				continue
			}
			if k, dup := seen[name]; dup && k != i {
				v.fail(at, fl.key, fmt.Sprintf("%s is in two fixed groups", name),
					"merge the groups or remove it from one")
			}
			seen[name] = i
		}
	}
}
