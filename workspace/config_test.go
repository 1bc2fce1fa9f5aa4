package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const base = `
[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"
`

func sib(name, layer string, deps ...string) string {
	q := make([]string, len(deps))
	for i, d := range deps {
		q[i] = `"` + d + `"`
	}
	return "\n[[siblings]]\nname = \"" + name + "\"\nrepo = \"https://github.com/acme/" + name + ".git\"\nlayer = \"" + layer +
		"\"\ndepends_on = [" + strings.Join(q, ", ") + "]\n"
}

func names(ss []*Sibling) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func TestRootConfigOrderAndPlatingWarning(t *testing.T) {
	cfg, warnings, err := Load(filepath.Join("..", "wrknv.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Siblings) != 13 {
		t.Fatalf("siblings = %d, want 13", len(cfg.Siblings))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "plating") || warnings[0].Line == 0 {
		t.Fatalf("want one located warning about plating, got %v", warnings)
	}
	order, err := cfg.Order()
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range order {
		pos[s.Name] = i
	}
	for _, s := range cfg.Siblings {
		for _, d := range s.DependsOn {
			if pos[d] >= pos[s.Name] {
				t.Errorf("%s built before its dependency %s", s.Name, d)
			}
		}
	}
	if order[0].Name != "provide-foundation" {
		t.Errorf("first = %s", order[0].Name)
	}
	if got := cfg.FullName(cfg.Sibling("pyvider")); got != "provide-io/pyvider" {
		t.Errorf("FullName = %q", got)
	}
	if cfg.Workspace.CI.Timeout != 30*time.Minute || cfg.Workspace.CI.Checkout != CheckoutMerge {
		t.Errorf("ci = %+v", cfg.Workspace.CI)
	}
}

func TestOrderTiesByLayerThenName(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte(base+sib("zeta", "foundation")+sib("tool", "tools")+sib("alpha", "framework")+sib("beta", "foundation")))
	if err != nil {
		t.Fatal(err)
	}
	order, _ := cfg.Order()
	if got, want := names(order), []string{"beta", "zeta", "alpha", "tool"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	stages, _ := cfg.Stages()
	if len(stages) != 1 {
		t.Errorf("independent siblings should share one stage, got %d", len(stages))
	}
}

func TestDefaults(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte("[workspace]\nname = \"ws\"\n[[siblings]]\nname = \"a\"\nlayer = \"foundation\"\nrepo = \"git@github.com:acme/a.git\"\n[[siblings]]\nname = \"b\"\nlayer = \"tools\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Sibling("b")
	if b.Branch != "main" || b.Path != "../b" {
		t.Errorf("defaults: %+v", b)
	}
	if got := cfg.RepoURL(b); got != "https://github.com/acme/b.git" {
		t.Errorf("missing repo should default from the owner, got %q", got)
	}
	if cfg.Workspace.Bot.Command != "/workspace" || cfg.Workspace.Bot.Context != "workspace/integration" || !cfg.Workspace.Bot.LinkByBranch {
		t.Errorf("bot defaults: %+v", cfg.Workspace.Bot)
	}
	if cfg.SiblingByRepo("ACME/A") == nil {
		t.Error("SiblingByRepo should ignore case")
	}
}

func TestOurKeysAndDefaults(t *testing.T) {
	text := base + `branch = "develop"

[workspace.ci]
max_log = "2MB"
cache = { paths = [".venv"], key = ["*/pyproject.toml", "*/uv.lock"] }
network = "egress"
limits = { memory = "4GB", pids = 2048, cpu = 1.5 }
` + sib("a", "foundation") + `branch = "trunk"
test = "pytest -q"
sparse = ["src", "tests"]
setup = []
setup_inputs = ["pyproject.toml", "requirements*.txt"]
` + sib("b", "tools")
	cfg, _, err := Parse("w.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ws := cfg.Workspace
	if ws.Branch != "develop" || ws.CI.MaxLog != 2<<20 || !reflect.DeepEqual(ws.CI.Cache, Cache{Paths: []string{".venv"}, Key: []string{"*/pyproject.toml", "*/uv.lock"}}) {
		t.Errorf("workspace = %+v", ws)
	}
	if ws.CI.Network != NetworkEgress || ws.CI.Limits != (Limits{Memory: 4 << 30, Pids: 2048, CPU: 1.5}) {
		t.Errorf("network %q, limits %+v", ws.CI.Network, ws.CI.Limits)
	}
	a, b := cfg.Sibling("a"), cfg.Sibling("b")
	if a.Branch != "trunk" || !reflect.DeepEqual(a.Test, []string{"pytest -q"}) || !reflect.DeepEqual(a.Sparse, []string{"src", "tests"}) || !a.HasOwnSetup() || len(a.Setup) != 0 ||
		!reflect.DeepEqual(a.SetupInputs, []string{"pyproject.toml", "requirements*.txt"}) {
		t.Errorf("a = %+v", a)
	}
	if b.Branch != DefaultBranch || b.HasOwnSetup() || b.Test != nil {
		t.Errorf("b = %+v", b)
	}

	cfg, _, err = Parse("w.toml", []byte(base+sib("a", "foundation")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workspace.Branch != "" || cfg.Workspace.CI.MaxLog != 50<<20 || cfg.Workspace.Python.VenvPath != ".venv" || !cfg.Workspace.Python.Version.IsZero() {
		t.Errorf("defaults = %+v", cfg.Workspace)
	}
	for in, want := range map[string]int64{`"50MB"`: 50 << 20, `"1 GiB"`: 1 << 30, `"512kb"`: 512 << 10, `"100"`: 100, `4096`: 4096} {
		cfg, _, err := Parse("w.toml", []byte(base+"[workspace.ci]\nmax_log = "+in+"\n"+sib("a", "foundation")))
		if err != nil || cfg.Workspace.CI.MaxLog != want {
			t.Errorf("max_log = %s: %v, %v; want %d", in, cfg, err, want)
		}
	}
}

func TestFullName(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/provide-io/pyvider.git":   "provide-io/pyvider",
		"https://github.com/provide-io/pyvider":       "provide-io/pyvider",
		"git@github.com:provide-io/pyvider.git":       "provide-io/pyvider",
		"ssh://git@github.com/provide-io/pyvider.git": "provide-io/pyvider",
		"file:///srv/git/acme/a.git":                  "acme/a",
		"/srv/git/acme/a.git":                         "acme/a",
		"http://127.0.0.1:8080/git/acme/a.git":        "acme/a",
		"a":                                           "",
	} {
		if got := FullName(in); got != want {
			t.Errorf("FullName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"syntax", "[workspace\nname = 1", []string{"w.toml:2", "not valid TOML"}},
		{"cycle", base + sib("a", "foundation", "c") + sib("b", "foundation", "a") + sib("c", "foundation", "b"),
			[]string{"dependency cycle: a -> c -> b -> a", "remove one"}},
		{"unknown dependency", base + sib("a", "foundation") + sib("b", "tools", "aa"),
			[]string{"w.toml:16", "siblings[b].depends_on", `unknown sibling "aa"`, "did you mean a?"}},
		{"self dependency", base + sib("a", "foundation", "a"), []string{"cannot depend on itself"}},
		{"duplicate name", base + sib("a", "foundation") + sib("a", "tools"), []string{"duplicate sibling name"}},
		{"escaping path", base + sib("a", "foundation") + "path = \"../../etc\"\n", []string{"siblings[a].path", "outside the build root"}},
		{"absolute path", base + sib("a", "foundation") + "path = \"/etc\"\n", []string{"is absolute"}},
		{"duplicate path", base + sib("a", "foundation") + "path = \"../x\"\n" + sib("b", "foundation") + "path = \"../x/\"\n", []string{"duplicate path"}},
		{"unknown layer", base + sib("a", "middle"), []string{`unknown layer "middle"`, "foundation, framework, tools"}},
		{"misspelled layer", base + sib("a", "fundation"), []string{`w.toml:9: siblings[a].layer: unknown layer "fundation" (fix: did you mean foundation? use one of`}},
		{"option-like branch", base + sib("a", "foundation") + "branch = \"--upload-pack=x\"\n", []string{"looks like a command-line option"}},
		{"bad timeout", base + "[workspace.ci]\ntimeout = \"soon\"\n" + sib("a", "foundation"), []string{"workspace.ci.timeout", "positive duration"}},
		{"bad checkout", base + "[workspace.ci]\ncheckout = \"rebase\"\n" + sib("a", "foundation"), []string{`"rebase" is not a checkout mode`}},
		{"no siblings", base, []string{"no [[siblings]]"}},
		{"deep key", base + sib("a", "foundation") + "\n[" + strings.Repeat("x.", 70) + "y]\n", []string{"w.toml:12: a key of more than 64 dotted parts"}},
		{"huge file", base + sib("a", "foundation") + "# " + strings.Repeat("x", MaxFileSize) + "\n", []string{"w.toml: is 10", "more than a wrknv.toml needs"}},
		{"reserved env", base + "[workspace.env]\nWORKSPACE_ROOT = \"/\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.env.WORKSPACE_ROOT: is set by workspace-bot"}},
		{"bad env name", base + "[workspace.ci]\nenv = { \"A-B\" = \"1\" }\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.env.A-B:", "not an environment variable name"}},
		{"env table value", base + "[workspace.env]\nA = [\"1\"]\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.env.A: want a string, got an array"}},
		{"venv outside", base + "[workspace.python]\nvenv_path = \"../../v\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.python.venv_path", "outside the build root"}},
		{"venv with quote", base + "[workspace.python]\nvenv_path = \"v\\\"; rm -rf /\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.python.venv_path", "not a plain relative path"}},
		{"cache path outside", base + "[workspace.ci]\ncache = { paths = [\"/tmp\"], key = [\"*/uv.lock\"] }\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.cache.paths", "is absolute"}},
		{"cache key glob", base + "[workspace.ci.cache]\npaths = [\".venv\"]\nkey = [\"[\"]\n" + sib("a", "foundation"), []string{"w.toml:7: workspace.ci.cache.key", "not a relative file glob"}},
		{"cache unknown key", base + "[workspace.ci.cache]\npath = [\".venv\"]\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.cache.path: unknown key (fix: did you mean paths?)"}},
		{"max_log", base + "[workspace.ci]\nmax_log = \"lots\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.max_log", `"lots" is not a size`}},
		{"network", base + "[workspace.ci]\nnetwork = \"none\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.network", `"none" is not a network`, `use "isolated"`}},
		{"limits memory", base + "[workspace.ci.limits]\nmemory = \"lots\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.limits.memory", `"lots" is not a size`, `"4GB"`}},
		{"limits pids", base + "[workspace.ci.limits]\npids = 10\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.limits.pids", "at least 64"}},
		{"limits cpu", base + "[workspace.ci]\nlimits = { cpu = \"two\" }\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.limits.cpu", "not a number of CPUs"}},
		{"limits unknown", base + "[workspace.ci.limits]\nmemroy = \"1GB\"\n" + sib("a", "foundation"), []string{"w.toml:6: workspace.ci.limits.memroy: unknown key (fix: did you mean memory?)"}},
		{"sparse escape", base + sib("a", "foundation") + "sparse = [\"src\", \"../b\"]\n", []string{"w.toml:11: siblings[a].sparse", `"../b" is not a directory inside the sibling`}},
		{"setup_inputs glob", base + sib("a", "foundation") + "setup_inputs = [\"req[.txt\"]\n", []string{"w.toml:11: siblings[a].setup_inputs", `"req[.txt" is not a valid glob`, `"requirements*.txt"`}},
		{"setup_inputs escape", base + sib("a", "foundation") + "setup_inputs = [\"../b/pyproject.toml\"]\n", []string{"w.toml:11: siblings[a].setup_inputs", "not a path inside the sibling"}},
		{"setup_inputs empty", base + sib("a", "foundation") + "setup_inputs = []\n", []string{"w.toml:11: siblings[a].setup_inputs", "would skip the setup whatever changed", "remove setup_inputs"}},
		{"setup_inputs misspelt", base + sib("a", "foundation") + "setup_input = [\"x\"]\n", []string{"w.toml:11: siblings[a].setup_input: unknown key (fix: did you mean setup_inputs?)"}},
		{"workspace branch", base + "branch = \"-x\"\n" + sib("a", "foundation"), []string{"w.toml:5: workspace.branch", "command-line option"}},
		{"empty command", base + sib("a", "foundation") + "test = [\"pytest\", \" \"]\n", []string{"w.toml:11: siblings[a].test: empty command"}},
		{"bad workspace repo", "[workspace]\nname = \"ws\"\nrepo = \"ws\"\n" + sib("a", "foundation"), []string{"w.toml:3: workspace.repo", "has no owner/name"}},
		{"no name", "[[siblings]]\nname = \"a\"\nlayer = \"tools\"\nrepo = \"https://github.com/acme/a\"\n", []string{"workspace.name", "missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("w.toml", []byte(c.text))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "w.toml") {
				t.Errorf("error does not name the file: %q", err)
			}
		})
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
		line             int
	}{
		{"misspelled sibling key", base + sib("a", "foundation") + sib("b", "tools") + "depend_on = [\"a\"]\n",
			`w.toml:17: siblings[b].depend_on: unknown key (fix: did you mean depends_on?)`, 17},
		{"workspace key", base + "nmae = \"x\"\n" + sib("a", "foundation"),
			`w.toml:5: workspace.nmae: unknown key (fix: did you mean name?)`, 5},
		{"workspace table", base + "[workspace.pyhton]\nversion = \"3\"\n" + sib("a", "foundation"),
			`w.toml:5: workspace.pyhton: unknown key (fix: did you mean python?)`, 5},
		{"ci key", base + "[workspace.ci]\ntests = [\"x\"]\n" + sib("a", "foundation"),
			`w.toml:6: workspace.ci.tests: unknown key (fix: did you mean test?)`, 6},
		{"far from anything", base + sib("a", "foundation") + "colour = \"blue\"\n",
			`w.toml:11: siblings[a].colour: unknown key (fix: remove it, or use one of name, path`, 11},
		{"top level", base + "[workspaces]\nx = 1\n" + sib("a", "foundation"),
			`w.toml:5: workspaces: unknown table (fix: did you mean [workspace]?)`, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("w.toml", []byte(c.text))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0].Error(), c.want) || ve.Problems[0].Line != c.line {
				t.Errorf("got %q, want one problem starting %q", err, c.want)
			}
		})
	}
}

func TestSingularSiblingsIsOneError(t *testing.T) {
	text := base
	for _, n := range []string{"a", "b", "c"} {
		text += strings.Replace(sib(n, "foundation"), "[[siblings]]", "[[sibling]]", 1)
	}
	_, warnings, err := Parse("w.toml", []byte(text))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	want := "w.toml:6: sibling: unknown table (fix: did you mean [[siblings]]?)"
	if len(ve.Problems) != 1 || ve.Problems[0].Error() != want || len(warnings) != 0 {
		t.Errorf("got %q and warnings %v, want only %q", err, warnings, want)
	}
}

func TestWrongTypesAreLocated(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"string for array", base + sib("a", "foundation") + sib("b", "tools") + "\n[[siblings]]\nname = \"c\"\nrepo = \"https://github.com/acme/c\"\n",
			""},
		{"depends_on string", base + sib("a", "foundation") + "\n[[siblings]]\nname = \"b\"\ndepends_on = \"a\"\nrepo = \"https://github.com/acme/b\"\n\n[[siblings]]\nname = \"c\"\n",
			`w.toml:14: siblings[b].depends_on: want an array of sibling names, got a string (fix: write it as an array: depends_on = ["a"])`},
		{"number for name", base + "\n[[siblings]]\nname = 7\n", `w.toml:7: siblings[0].name: want a string, got an integer (fix: write it in quotes: name = "...")`},
		{"element of wrong type", base + sib("a", "foundation") + "\n[[siblings]]\nname = \"b\"\ndepends_on = [\n  \"a\",\n  3,\n]\n",
			`w.toml:16: siblings[b].depends_on: want an array of sibling names, but element 2 is an integer (fix: write each element in quotes)`},
		{"bool", base + "[workspace.bot]\nlink_by_branch = \"yes\"\n" + sib("a", "foundation"),
			`w.toml:6: workspace.bot.link_by_branch: want true or false, got a string`},
		{"setup table", base + sib("a", "foundation") + "setup = { run = \"x\" }\n",
			`w.toml:11: siblings[a].setup: want a command or an array of commands, got a table`},
		{"workspace not a table", "workspace = \"ws\"\n" + sib("a", "foundation"), `w.toml:1: workspace: want a table, got a string`},
		{"siblings single table", base + "[siblings]\nname = \"a\"\n", `w.toml:5: siblings: is a single table ([siblings]); each sibling is an [[siblings]] entry`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("w.toml", []byte(c.text))
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "toml:") && !strings.HasPrefix(err.Error(), "w.toml") {
				t.Errorf("raw decoder text leaked: %v", err)
			}
		})
	}
}

func TestLoadKeepsThePathAsTypedAndFindsDirectories(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("ws", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("ws", "wrknv.toml"), []byte(base+sib("a", "foundation")+"depends_on = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load("ws")
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join("ws", "wrknv.toml")+":11: ") {
		t.Errorf("want the relative path as typed, got %v", err)
	}
	if err := os.WriteFile(filepath.Join("ws", "wrknv.toml"), []byte(base+sib("a", "foundation")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load("ws/")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != filepath.Join("ws", "wrknv.toml") || cfg.Dir() != filepath.Join(dir, "ws") {
		t.Errorf("File = %q, Dir = %q", cfg.File, cfg.Dir())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "wrknv.toml"))
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing file error should say how to point at one: %v", err)
	}
}

func TestMergeMethodIsChecked(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte(base+"[workspace.bot]\nmerge_method = \"squash\"\n"+sib("a", "foundation")+sib("b", "tools")+"merge_method = \"rebase\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MergeMethod("a"); got != "squash" {
		t.Errorf("a lands by %q, want the workspace's squash", got)
	}
	if got := cfg.MergeMethod("b"); got != "rebase" {
		t.Errorf("b lands by %q, want its own rebase", got)
	}
	_, _, err = Parse("w.toml", []byte(base+"[workspace.bot]\nmerge_method = \"fast-forward\"\n"+sib("a", "foundation")))
	if err == nil || !strings.Contains(err.Error(), `workspace.bot.merge_method: "fast-forward" is not a merge method (fix: use "merge", "squash" or "rebase")`) {
		t.Errorf("a bad method: %v", err)
	}
}

func TestReleaseTagFormat(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte(base+sib("a", "foundation")))
	if err != nil || cfg.TagFor("1.2.0") != "v1.2.0" {
		t.Fatalf("default tag: %q %v", cfg.TagFor("1.2.0"), err)
	}
	cfg, _, err = Parse("w.toml", []byte(base+"[workspace.release]\ntag = \"release-{version}\"\n"+sib("a", "foundation")))
	if err != nil || cfg.TagFor("1.2.0") != "release-1.2.0" {
		t.Fatalf("own tag: %q %v", cfg.TagFor("1.2.0"), err)
	}
	_, _, err = Parse("w.toml", []byte(base+"[workspace.release]\ntag = \"latest\"\n"+sib("a", "foundation")))
	if err == nil || !strings.Contains(err.Error(), `workspace.release.tag: "latest" does not hold {version}`) {
		t.Errorf("a tag without the version: %v", err)
	}
}

func TestExecutorIsChecked(t *testing.T) {
	cfg, _, err := Parse("w.toml", []byte(base+"[workspace.bot]\nexecutor = \"actions\"\n"+sib("a", "foundation")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workspace.Bot.Executor != "actions" {
		t.Errorf("executor %q, want actions", cfg.Workspace.Bot.Executor)
	}
	_, _, err = Parse("w.toml", []byte(base+"[workspace.bot]\nexecutor = \"k8s\"\n"+sib("a", "foundation")))
	if err == nil || !strings.Contains(err.Error(), `workspace.bot.executor: "k8s" is not an executor (fix: use "local"`) {
		t.Errorf("a bad executor: %v", err)
	}
}
