package workspace

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The examples of provide-workspace's docs validate as written.
func TestDocsExamplesValidate(t *testing.T) {
	for _, name := range []string{
		"configuration-reference.toml",
		"architecture-overview.toml",
		"wrknv-integration-structure.toml",
		"wrknv-integration-full.toml",
		"wrknv-integration-my-workspace.toml",
		"full-with-advanced.toml",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, warnings, err := Load(filepath.Join("testdata", "docs", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %v", warnings)
			}
			if _, err := cfg.Order(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFullWithAdvancedIsTheVerbatimBlocks(t *testing.T) {
	var want strings.Builder
	for _, part := range []string{"full", "tasks", "env", "hooks"} {
		want.WriteString(readTestdata(t, "docs/wrknv-integration-"+part+".toml"))
		want.WriteString("\n")
	}
	if got := readTestdata(t, "docs/full-with-advanced.toml"); got != want.String() {
		t.Error("full-with-advanced.toml is not the four docs blocks joined; regenerate it")
	}
}

func TestDocsFullExampleIsRead(t *testing.T) {
	cfg, _, err := Load(filepath.Join("testdata", "docs", "full-with-advanced.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ws := cfg.Workspace
	if ws.Version != "0.1.0" || ws.Python.VenvPath != ".venv" || ws.Python.Version.String() != ">=3.11" {
		t.Errorf("workspace = %+v", ws)
	}
	if !ws.Python.Version.Allows("3.12.1") || ws.Python.Version.Allows("3.10.9") {
		t.Error("python version constraint not read")
	}
	var tools []string
	for _, tl := range ws.Tools {
		tools = append(tools, tl.Name+" "+tl.Version.String())
	}
	if want := []string{"mypy >=1.0", "ruff >=0.1.0", "uv >=0.1.0"}; !reflect.DeepEqual(tools, want) {
		t.Errorf("tools = %v, want %v", tools, want)
	}
	if got := cfg.TestCommands(); !reflect.DeepEqual(got, []string{"pytest tests/"}) {
		t.Errorf("TestCommands = %v", got)
	}
	if lint, ok := cfg.Task("lint"); !ok || !reflect.DeepEqual(lint, []string{"ruff check ."}) {
		t.Errorf("lint = %v", lint)
	}
	if got := cfg.TaskNames(); !reflect.DeepEqual(got, []string{"format", "lint", "test"}) {
		t.Errorf("TaskNames = %v", got)
	}
	if got, want := cfg.StepEnv(), []string{"LOG_LEVEL=DEBUG", "PYTHONPATH=src:."}; !reflect.DeepEqual(got, want) {
		t.Errorf("StepEnv = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(ws.Hooks.PreInstall, []string{"scripts/pre_install.sh"}) || !reflect.DeepEqual(ws.Hooks.PostInstall, []string{"scripts/post_install.sh"}) {
		t.Errorf("hooks = %+v", ws.Hooks)
	}
	if !cfg.HasTests() {
		t.Error("the tasks' test is a test")
	}
	order, _ := cfg.Order()
	if got, want := names(order), []string{"provide-foundation", "provide-testkit", "pyvider-cty", "pyvider", "flavorpack"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

// A wrknv.toml is also wrknv's own task file: its sections are passed
// over and listed.
func TestWrknvSectionsArePassedOver(t *testing.T) {
	for file, want := range map[string][]string{
		"provide-workspace.toml": {"[tasks]"},
		"wrknv.toml":             {"[env]", "[profiles]", "project_name", "[tasks]", "[tools]", "version", "[workenv]"},
	} {
		t.Run(file, func(t *testing.T) {
			text := readTestdata(t, "wrknv/"+file) + "\n" + readTestdata(t, "docs/full-with-advanced.toml")
			cfg, warnings, err := Parse(file, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %v", warnings)
			}
			if !reflect.DeepEqual(cfg.Wrknv, want) {
				t.Errorf("Wrknv = %v, want %v", cfg.Wrknv, want)
			}
			// wrknv's [tasks].test is wrknv's, not the workspace test.
			if got := cfg.TestCommands(); !reflect.DeepEqual(got, []string{"pytest tests/"}) {
				t.Errorf("TestCommands = %v", got)
			}
		})
	}
}

func TestDocsExampleWithoutTestsHasNone(t *testing.T) {
	cfg, _, err := Load(filepath.Join("testdata", "docs", "wrknv-integration-full.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HasTests() {
		t.Error("the docs' full example has no test command anywhere")
	}
	cfg.Siblings[0].Test = []string{"pytest -q"}
	if !cfg.HasTests() {
		t.Error("a sibling's own test is a test")
	}
}

func TestSiblingsWithoutRepo(t *testing.T) {
	cfg, _, err := Load(filepath.Join("testdata", "docs", "architecture-overview.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sibling("provide-testkit")
	if u, err := cfg.CloneURL(s); err == nil || u != "" {
		t.Fatalf("CloneURL = %q, %v; want an error", u, err)
	} else if msg := err.Error(); !strings.Contains(msg, "sibling provide-testkit has no repo") ||
		!strings.Contains(msg, `repo = "https://github.com/<owner>/provide-testkit.git"`) || !strings.Contains(msg, "--local") ||
		!strings.Contains(msg, filepath.Join("testdata", "docs", "architecture-overview.toml")) {
		t.Errorf("error should name the sibling, the file and both fixes: %v", err)
	}
	if cfg.RepoURL(s) != "" || cfg.FullName(s) != "" {
		t.Errorf("RepoURL = %q, FullName = %q", cfg.RepoURL(s), cfg.FullName(s))
	}

	// With the workspace repo known, its owner gives the URL.
	text := strings.Replace(readTestdata(t, "docs/architecture-overview.toml"), "[workspace]\n",
		"[workspace]\nrepo = \"https://github.com/provide-io/provide-workspace.git\"\n", 1)
	cfg, _, err = Parse("wrknv.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := cfg.CloneURL(cfg.Sibling("provide-testkit")); err != nil || u != "https://github.com/provide-io/provide-testkit.git" {
		t.Errorf("CloneURL = %q, %v", u, err)
	}
}

func TestOrderWithoutLayers(t *testing.T) {
	text := base + "\n[[siblings]]\nname = \"z\"\n\n[[siblings]]\nname = \"b\"\ndepends_on = [\"z\"]\n\n[[siblings]]\nname = \"a\"\n"
	cfg, warnings, err := Parse("w.toml", []byte(text))
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	order, _ := cfg.Order()
	if got, want := names(order), []string{"a", "z", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v (depends_on, then name)", got, want)
	}
}
