package workspace

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/suggest"
)

// The keys this package reads, table by table. Everything else in
// [workspace*] and [[siblings]] is an error, so that a typo cannot
// silently change a build.
var (
	workspaceKeys = []string{"name", "description", "version", "repo", "branch", "layers",
		"python", "tools", "tasks", "env", "hooks", "ci", "bot", "release"}
	pythonKeys  = []string{"version", "venv_path"}
	hooksKeys   = []string{"pre_install", "post_install"}
	ciKeys      = []string{"setup", "test", "timeout", "checkout", "env", "cache", "max_log", "network", "limits", "affected", "retry_flaky"}
	cacheKeys   = []string{"paths", "key"}
	limitsKeys  = []string{"memory", "pids", "cpu"}
	botKeys     = []string{"command", "context", "trusted", "link_by_branch", "merge_method", "executor"}
	releaseKeys = []string{"fixed", "tag", "github_releases"}
	siblingKeys = []string{"name", "path", "repo", "layer", "depends_on", "branch", "setup", "setup_inputs", "test", "sparse", "merge_method"}
)

// wrknvKeys are wrknv's own top-level keys: every provide.io repository's
// wrknv.toml is also wrknv's task and tool file. They are passed over.
// Taken from wrknv's configuration reference and its config schema
// and the modules that read the file (provide-io/wrknv:
// docs/reference/configuration.md, src/wrknv/config/core.py,
// src/wrknv/wenv/schema.py, src/wrknv/tasks/registry.py).
var wrknvKeys = []string{
	"project_name", "version", "description",
	"tools", "profiles", "workenv", "env", "tasks", "container", "package",
	"registry", "gitignore", "security",
	"install_dir", "cache_dir", "log_level", "telemetry_enabled", "auto_update",
	"task_runner_prefix", "task_auto_detect", "execution_mode", "environment", "scripts",
	"export",
}

// loc is where a value is: its path for the line finder (array tables
// indexed "#n") and its key as messages name it (siblings[b].depends_on).
type loc struct {
	path []string
	key  string
}

func (l loc) child(name string) loc {
	key := name
	if l.key != "" {
		key = l.key + "." + name
	}
	return loc{path: append(append([]string(nil), l.path...), name), key: key}
}

func (l loc) elem(i int) loc {
	return loc{path: append(append([]string(nil), l.path...), "#"+strconv.Itoa(i)), key: l.key}
}

// last is the key's own name, for fixes that show how to write it.
func (l loc) last() string {
	if len(l.path) == 0 {
		return ""
	}
	return l.path[len(l.path)-1]
}

func (v *validator) failAt(l loc, msg, fix string) {
	v.fail(v.lines.line(l.path...), l.key, msg, fix)
}

func (v *validator) warnAt(l loc, msg, fix string) {
	v.warn(v.lines.line(l.path...), l.key, msg, fix)
}

// wrongType reports a value of the wrong type and remembers its key, so
// that later checks do not also call it missing.
func (v *validator) wrongType(l loc, msg, fix string) {
	if v.bad == nil {
		v.bad = map[string]bool{}
	}
	v.bad[l.key] = true
	v.failAt(l, msg, fix)
}

func typeName(val any) string {
	switch val.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	case time.Time:
		return "a date-time"
	}
	return "a date or time"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// table checks val is a table and that it holds only the allowed keys.
func (v *validator) table(l loc, val any, allowed []string) (map[string]any, bool) {
	m, ok := val.(map[string]any)
	if !ok {
		v.wrongType(l, "want a table, got "+typeName(val), "write it as ["+l.key+"] with its keys on the lines below")
		return nil, false
	}
	for _, k := range sortedKeys(m) {
		if !contains(allowed, k) {
			v.unknownKey(l.child(k), k, allowed)
		}
	}
	return m, true
}

func (v *validator) unknownKey(l loc, k string, allowed []string) {
	fix := "remove it, or use one of " + strings.Join(allowed, ", ")
	if m := suggest.Closest(k, allowed); m != "" {
		fix = "did you mean " + m + "?"
	}
	v.failAt(l, "unknown key", fix)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *validator) str(l loc, val any) string {
	s, ok := val.(string)
	if !ok {
		v.wrongType(l, "want a string, got "+typeName(val), fmt.Sprintf(`write it in quotes: %s = "..."`, l.last()))
	}
	return s
}

func (v *validator) boolean(l loc, val any) bool {
	b, ok := val.(bool)
	if !ok {
		v.wrongType(l, "want true or false, got "+typeName(val), fmt.Sprintf("write %s = true or %s = false, without quotes", l.last(), l.last()))
	}
	return b
}

// list reads an array of strings; what names what its strings are.
func (v *validator) list(l loc, val any, what string) []string {
	arr, ok := val.([]any)
	if !ok {
		fix := fmt.Sprintf(`write it as an array: %s = ["...", "..."]`, l.last())
		if s, isStr := val.(string); isStr {
			fix = fmt.Sprintf("write it as an array: %s = [%q]", l.last(), s)
		}
		v.wrongType(l, fmt.Sprintf("want an array of %s, got %s", what, typeName(val)), fix)
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			v.failAt(l.elem(i), fmt.Sprintf("want an array of %s, but element %d is %s", what, i+1, typeName(e)),
				"write each element in quotes")
			continue
		}
		out = append(out, s)
	}
	return out
}

// commands reads a command or an array of commands, as tasks, hooks and
// setups may be written.
func (v *validator) commands(l loc, val any) []string {
	if s, ok := val.(string); ok {
		v.command(l, s)
		return []string{s}
	}
	if _, ok := val.([]any); !ok {
		v.wrongType(l, "want a command or an array of commands, got "+typeName(val),
			fmt.Sprintf(`write %s = "command" or %s = ["command", "another"]`, l.last(), l.last()))
		return nil
	}
	cmds := v.list(l, val, "commands")
	for i, c := range cmds {
		v.command(l.elem(i), c)
	}
	return cmds
}

func (v *validator) command(l loc, c string) {
	switch {
	case strings.TrimSpace(c) == "":
		v.failAt(l, "empty command", "remove it, or write the command to run")
	case strings.ContainsRune(c, 0):
		v.failAt(l, "command contains a NUL character", "remove the \\u0000 from it")
	}
}

// env reads a table of environment variables; numbers and booleans are
// taken as their text, as a shell would see them.
func (v *validator) env(l loc, val any) map[string]string {
	m, ok := val.(map[string]any)
	if !ok {
		v.wrongType(l, "want a table of NAME = \"value\", got "+typeName(val), fmt.Sprintf(`write %s = { NAME = "value" }`, l.last()))
		return nil
	}
	out := map[string]string{}
	for _, k := range sortedKeys(m) {
		kl := l.child(k)
		switch {
		case !validEnvName(k):
			v.failAt(kl, fmt.Sprintf("%q is not an environment variable name", k), "use letters, digits and '_', not starting with a digit")
			continue
		case k == "WORKSPACE_ROOT" || k == "WORKSPACE_CHANGESET":
			v.failAt(kl, "is set by workspace-bot for every step", "remove it; steps read it as $"+k)
			continue
		}
		var s string
		switch x := m[k].(type) {
		case string:
			s = x
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		default:
			v.failAt(kl, "want a string, got "+typeName(x), fmt.Sprintf(`write %s = "value"`, k))
			continue
		}
		if strings.ContainsRune(s, 0) {
			v.failAt(kl, "value contains a NUL character", "remove the \\u0000 from it")
			continue
		}
		out[k] = s
	}
	return out
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// decode reads the TOML tree into a Config, refusing unknown keys and
// values of the wrong type where they are written.
func (v *validator) decode(tree map[string]any) *Config {
	cfg := &Config{File: v.file, dir: absDir(v.file)}
	ours := []string{"workspace", "siblings"}
	for _, k := range sortedKeys(tree) {
		l := loc{path: []string{k}, key: k}
		switch {
		case k == "workspace":
			v.workspace(cfg, l, tree[k])
		case k == "siblings":
			v.siblings(cfg, l, tree[k])
		case contains(wrknvKeys, k):
			cfg.Wrknv = append(cfg.Wrknv, wrknvLabel(k, tree[k]))
		default:
			fix := "remove it; wrknv.toml holds [workspace], [[siblings]] and wrknv's own sections"
			if m := suggest.Closest(k, append(append([]string(nil), ours...), wrknvKeys...)); m != "" {
				fix = "did you mean " + wrknvLabel(m, tree[m]) + "?"
				if m == "siblings" {
					fix = "did you mean [[siblings]]?"
					v.sawSiblingsTypo = true
				} else if m == "workspace" {
					fix = "did you mean [workspace]?"
				}
			}
			msg := "unknown key"
			if _, isTable := tree[k].(map[string]any); isTable {
				msg = "unknown table"
			} else if _, isArray := tree[k].([]map[string]any); isArray {
				msg = "unknown table"
			}
			v.failAt(l, msg, fix)
		}
	}
	return cfg
}

func wrknvLabel(k string, val any) string {
	switch val.(type) {
	case map[string]any:
		return "[" + k + "]"
	case []map[string]any:
		return "[[" + k + "]]"
	}
	return k
}

func (v *validator) workspace(cfg *Config, l loc, val any) {
	m, ok := v.table(l, val, workspaceKeys)
	if !ok {
		return
	}
	v.sawWorkspace = true
	ws := &cfg.Workspace
	for _, k := range sortedKeys(m) {
		kl, x := l.child(k), m[k]
		switch k {
		case "name":
			ws.Name = v.str(kl, x)
		case "description":
			ws.Description = v.str(kl, x)
		case "version":
			ws.Version = v.str(kl, x)
		case "repo":
			ws.Repo = v.str(kl, x)
		case "branch":
			ws.Branch = v.str(kl, x)
		case "layers":
			ws.Layers = v.list(kl, x, "layer names")
		case "python":
			v.python(ws, kl, x)
		case "tools":
			v.tools(ws, kl, x)
		case "tasks":
			v.tasks(ws, kl, x)
		case "env":
			ws.Env = v.env(kl, x)
		case "hooks":
			if h, ok := v.table(kl, x, hooksKeys); ok {
				if c, ok := h["pre_install"]; ok {
					ws.Hooks.PreInstall = v.commands(kl.child("pre_install"), c)
				}
				if c, ok := h["post_install"]; ok {
					ws.Hooks.PostInstall = v.commands(kl.child("post_install"), c)
				}
			}
		case "ci":
			v.ci(ws, kl, x)
		case "bot":
			v.bot(ws, kl, x)
		case "release":
			v.release(ws, kl, x)
		}
	}
}

func (v *validator) tasks(ws *Workspace, l loc, val any) {
	m, ok := val.(map[string]any)
	if !ok {
		v.failAt(l, "want a table of name = \"command\", got "+typeName(val), `write [workspace.tasks] with lines such as test = "pytest tests/"`)
		return
	}
	ws.Tasks = map[string][]string{}
	for _, name := range sortedKeys(m) {
		tl := l.child(name)
		if !validName(name) {
			v.failAt(tl, fmt.Sprintf("%q is not a task name", name), "use letters, digits, '.', '_' and '-', not starting with '-'")
			continue
		}
		ws.Tasks[name] = v.commands(tl, m[name])
	}
}

func (v *validator) python(ws *Workspace, l loc, val any) {
	m, ok := v.table(l, val, pythonKeys)
	if !ok {
		return
	}
	if x, ok := m["version"]; ok {
		vl := l.child("version")
		if s := v.str(vl, x); s != "" {
			c, err := ParseConstraint(s)
			if err != nil {
				v.failAt(vl, fmt.Sprintf("%q is not a version constraint: %s", s, err), `use a constraint such as ">=3.11" or "==3.11.*"`)
			}
			ws.Python.Version = c
		}
	}
	if x, ok := m["venv_path"]; ok {
		ws.Python.VenvPath = v.str(l.child("venv_path"), x)
		v.venvPathGiven = true
	}
}

func (v *validator) tools(ws *Workspace, l loc, val any) {
	m, ok := val.(map[string]any)
	if !ok {
		v.failAt(l, "want a table of tool = \"version\", got "+typeName(val), `write [workspace.tools] with lines such as uv = ">=0.1.0"`)
		return
	}
	for _, name := range sortedKeys(m) {
		tl := l.child(name)
		if !validToolName(name) {
			v.failAt(tl, fmt.Sprintf("%q is not a program name", name), "name the program as it is found on PATH, such as uv")
			continue
		}
		s, isStr := m[name].(string)
		if !isStr {
			v.failAt(tl, "want a version constraint, got "+typeName(m[name]), fmt.Sprintf(`write %s = ">=1.0" (or "*" for any version)`, name))
			continue
		}
		c, err := ParseConstraint(s)
		if err != nil {
			v.failAt(tl, fmt.Sprintf("%q is not a version constraint: %s", s, err), `use a constraint such as ">=0.1.0" or "==1.6.*"`)
			continue
		}
		ws.Tools = append(ws.Tools, Tool{Name: name, Version: c})
	}
}

func validToolName(s string) bool {
	return validName(s) && !strings.Contains(s, "..")
}

func (v *validator) ci(ws *Workspace, l loc, val any) {
	m, ok := v.table(l, val, ciKeys)
	if !ok {
		return
	}
	for _, k := range sortedKeys(m) {
		kl, x := l.child(k), m[k]
		switch k {
		case "setup":
			ws.CI.Setup = v.commands(kl, x)
		case "test":
			ws.CI.Test = v.commands(kl, x)
		case "timeout":
			if s := v.str(kl, x); s != "" {
				d, err := time.ParseDuration(s)
				if err != nil || d <= 0 {
					v.failAt(kl, fmt.Sprintf("%q is not a positive duration", s), `use a Go duration such as "30m" or "1h30m"`)
				} else {
					ws.CI.Timeout = d
				}
			}
		case "checkout":
			ws.CI.Checkout = v.str(kl, x)
		case "env":
			ws.CI.Env = v.env(kl, x)
		case "cache":
			if c, ok := v.table(kl, x, cacheKeys); ok {
				if p, ok := c["paths"]; ok {
					ws.CI.Cache.Paths = v.list(kl.child("paths"), p, "paths")
				}
				if k, ok := c["key"]; ok {
					ws.CI.Cache.Key = v.list(kl.child("key"), k, "file globs")
				}
			}
		case "max_log":
			n, err := parseSize(x)
			if err != nil {
				v.failAt(kl, err.Error(), `use a size such as "50MB" or "1GB"`)
			} else {
				ws.CI.MaxLog = n
			}
		case "network":
			switch n := v.str(kl, x); n {
			case NetworkIsolated, NetworkEgress, NetworkHost:
				ws.CI.Network = n
			default:
				v.failAt(kl, fmt.Sprintf("%q is not a network", n),
					`use "isolated" (loopback only; setup through the egress proxy), "egress" (the egress proxy for every step) or "host" (the machine's network)`)
			}
		case "limits":
			v.limits(&ws.CI.Limits, kl, x)
		case "affected":
			ws.CI.TestAll = !v.boolean(kl, x)
		case "retry_flaky":
			n, ok := x.(int64)
			if !ok || n < 0 || n > MaxRetryFlaky {
				v.failAt(kl, fmt.Sprintf("want a whole number from 0 to %d, got %v", MaxRetryFlaky, x),
					"write retry_flaky = 1 to run a run again once when only tests known to be flaky failed")
			} else {
				ws.CI.RetryFlaky = int(n)
			}
		}
	}
}

// limits reads [workspace.ci].limits.
func (v *validator) limits(lim *Limits, l loc, val any) {
	m, ok := v.table(l, val, limitsKeys)
	if !ok {
		return
	}
	if x, ok := m["memory"]; ok {
		n, err := parseSize(x)
		if err != nil {
			v.failAt(l.child("memory"), err.Error(), `use a size such as "4GB"`)
		} else {
			lim.Memory = n
		}
	}
	if x, ok := m["pids"]; ok {
		n, isInt := x.(int64)
		if !isInt || n < MinPids {
			v.failAt(l.child("pids"), fmt.Sprintf("%v is not a process limit", x), fmt.Sprintf("use a whole number of at least %d, such as 4096", MinPids))
		} else {
			lim.Pids = n
		}
	}
	if x, ok := m["cpu"]; ok {
		var cpu float64
		switch c := x.(type) {
		case int64:
			cpu = float64(c)
		case float64:
			cpu = c
		}
		if cpu < 0.01 || cpu > 4096 {
			v.failAt(l.child("cpu"), fmt.Sprintf("%v is not a number of CPUs", x), "use a number such as 2 or 1.5")
		} else {
			lim.CPU = cpu
		}
	}
}

func (v *validator) bot(ws *Workspace, l loc, val any) {
	m, ok := v.table(l, val, botKeys)
	if !ok {
		return
	}
	if x, ok := m["command"]; ok {
		ws.Bot.Command = v.str(l.child("command"), x)
	}
	if x, ok := m["context"]; ok {
		ws.Bot.Context = v.str(l.child("context"), x)
	}
	if x, ok := m["trusted"]; ok {
		ws.Bot.Trusted = v.list(l.child("trusted"), x, "author associations")
	}
	if x, ok := m["link_by_branch"]; ok {
		b := v.boolean(l.child("link_by_branch"), x)
		v.linkByBranch = &b
	}
	if x, ok := m["merge_method"]; ok {
		ws.Bot.MergeMethod = v.mergeMethod(l.child("merge_method"), x)
	}
	if x, ok := m["executor"]; ok {
		ws.Bot.Executor = v.str(l.child("executor"), x)
		if ws.Bot.Executor != "" && !slices.Contains(Executors, ws.Bot.Executor) {
			v.failAt(l.child("executor"), fmt.Sprintf("%q is not an executor", ws.Bot.Executor), `use "local" (build on the service's machine) or "actions" (dispatch a workflow in the workspace repository)`)
		}
	}
}

// Executors are where the service can build a run.
var Executors = []string{"local", "actions"}

// MergeMethods are the merge methods GitHub offers.
var MergeMethods = []string{"merge", "squash", "rebase"}

func (v *validator) mergeMethod(l loc, val any) string {
	s := v.str(l, val)
	if s != "" && !slices.Contains(MergeMethods, s) {
		v.failAt(l, fmt.Sprintf("%q is not a merge method", s), `use "merge", "squash" or "rebase"`)
	}
	return s
}

func (v *validator) release(ws *Workspace, l loc, val any) {
	m, ok := v.table(l, val, releaseKeys)
	if !ok {
		return
	}
	if x, ok := m["github_releases"]; ok {
		ws.Release.GitHubReleases = v.boolean(l.child("github_releases"), x)
	}
	if x, ok := m["tag"]; ok {
		tl := l.child("tag")
		ws.Release.Tag = v.str(tl, x)
		if !strings.Contains(ws.Release.Tag, "{version}") {
			v.failAt(tl, fmt.Sprintf("%q does not hold {version}", ws.Release.Tag), `write the tag with {version} where the version goes, such as tag = "v{version}"`)
		}
	}
	x, ok := m["fixed"]
	if !ok {
		return
	}
	fl := l.child("fixed")
	groups, ok := x.([]any)
	if !ok {
		v.failAt(fl, "want an array of groups, got "+typeName(x), `write fixed = [["a", "b"]]`)
		return
	}
	for i, g := range groups {
		ws.Release.Fixed = append(ws.Release.Fixed, v.list(fl.elem(i), g, "sibling names"))
	}
}

func (v *validator) siblings(cfg *Config, l loc, val any) {
	var tables []map[string]any
	switch x := val.(type) {
	case []map[string]any:
		tables = x
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				v.failAt(l.elem(i), "want a sibling table, got "+typeName(e), "write each sibling as an [[siblings]] table with name, path and repo")
				continue
			}
			tables = append(tables, m)
		}
	case map[string]any:
		v.failAt(l, "is a single table ([siblings]); each sibling is an [[siblings]] entry",
			"write [[siblings]], with double brackets, above each sibling's keys")
		return
	default:
		v.failAt(l, "want [[siblings]] tables, got "+typeName(val), "write one [[siblings]] table per repository")
		return
	}
	for i, m := range tables {
		sl := loc{path: []string{"siblings", "#" + strconv.Itoa(i)}, key: fmt.Sprintf("siblings[%d]", i)}
		var s Sibling
		if x, ok := m["name"]; ok {
			s.Name = v.str(sl.child("name"), x)
			if s.Name != "" && validName(s.Name) {
				sl.key = fmt.Sprintf("siblings[%s]", s.Name)
			}
		}
		for _, k := range sortedKeys(m) {
			kl, x := sl.child(k), m[k]
			switch k {
			case "name":
			case "path":
				s.Path = v.str(kl, x)
			case "repo":
				s.Repo = v.str(kl, x)
			case "layer":
				s.Layer = v.str(kl, x)
			case "depends_on":
				s.DependsOn = v.list(kl, x, "sibling names")
			case "branch":
				s.Branch = v.str(kl, x)
			case "setup":
				s.Setup = v.commands(kl, x)
				s.OwnSetup = true
			case "test":
				s.Test = v.commands(kl, x)
			case "setup_inputs":
				s.SetupInputs = v.list(kl, x, "globs")
				if len(s.SetupInputs) == 0 {
					v.failAt(kl, "an empty list would skip the setup whatever changed",
						`list the files the setup is built from, such as ["pyproject.toml", "requirements*.txt"], or remove setup_inputs to run the setup every time`)
				}
			case "sparse":
				s.Sparse = v.list(kl, x, "directories")
			case "merge_method":
				s.MergeMethod = v.mergeMethod(kl, x)
			default:
				v.unknownKey(kl, k, siblingKeys)
			}
		}
		cfg.Siblings = append(cfg.Siblings, s)
	}
}

var sizeRe = regexp.MustCompile(`^(\d{1,19})\s*(?:([KMGT])I?)?B?$`)

// parseSize reads a byte size: an integer, or a string such as "50MB".
// K, M, G and T count in powers of 1024, with or without "i", so "50MB"
// is 50 MiB.
func parseSize(val any) (int64, error) {
	if n, ok := val.(int64); ok {
		if n <= 0 {
			return 0, fmt.Errorf("%d is not a positive size", n)
		}
		return n, nil
	}
	s, ok := val.(string)
	if !ok {
		return 0, fmt.Errorf("want a size such as \"50MB\", got %s", typeName(val))
	}
	m := sizeRe.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := int64(1)
	if m[2] != "" {
		mult = 1 << (10 * (1 + strings.IndexByte("KMGT", m[2][0])))
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return n * mult, nil
}
