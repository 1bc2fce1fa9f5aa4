package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/workspace"
)

const validateConfig = `[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"

[workspace.tasks]
test = "python -m unittest"

[[siblings]]
name = "b"
layer = "foundation"
depends_on = ["a", "c"]
setup = ["make"]

[[siblings]]
name = "a"
layer = "foundation"

[[siblings]]
name = "c"
layer = "tools"
`

func TestValidateGroupsByStageAndWarnsOnce(t *testing.T) {
	config := writeConfig(t, validateConfig)
	code, out, errs := runCmd(t, "validate", config)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if n := strings.Count(errs, "warning:"); n != 1 || !strings.Contains(errs, "siblings[b].depends_on: b (foundation) depends on c, which is in a later layer (tools)") {
		t.Errorf("want the layer warning once, got:\n%s", errs)
	}
	for _, want := range []string{
		"ws: 3 siblings, valid\n",
		"  stage 1\n    a  foundation\n    c  tools\n  stage 2\n    b  foundation  <- a, c\n",
		"  stage 2 setup\n    b: make\n",
		"  workspace tests\n    python -m unittest\n",
		"default setup, for a sibling with a pyproject.toml and no setup of its own:",
		"    a: default setup, when it has a pyproject.toml\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateArguments(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("ws", 0o755); err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(validateConfig, `depends_on = ["a", "c"]`, `depend_on = ["a", "c"]`, 1)
	if err := os.WriteFile(filepath.Join("ws", "broken.toml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("ws", "wrknv.toml"), []byte(validateConfig), 0o644); err != nil {
		t.Fatal(err)
	}

	// The argument is the file to check, named as typed in the errors.
	code, out, errs := runCmd(t, "validate", "ws/broken.toml")
	if code != exitUsage || out != "" || strings.TrimSpace(errs) != "error: ws/broken.toml:11: siblings[b].depend_on: unknown key (fix: did you mean depends_on?)" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	// A directory means its wrknv.toml, as --config or as the argument.
	for _, args := range [][]string{{"validate", "ws"}, {"validate", "--config", "ws"}} {
		if code, out, errs := runCmd(t, args...); code != exitOK || !strings.HasPrefix(out, "ws: 3 siblings, valid") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	for _, args := range [][]string{{"validate", "ws", "ws/broken.toml"}, {"validate", "--config", "ws", "ws/broken.toml"}} {
		if code, _, errs := runCmd(t, args...); code != exitUsage || !strings.Contains(errs, "error: two files given") {
			t.Errorf("%v: exit %d\n%s", args, code, errs)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	config := writeConfig(t, validateConfig)
	code, out, errs := runCmd(t, "validate", "--json", "--config", config)
	var rep workspace.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v:\n%s%s", code, err, out, errs)
	}
	if !rep.Valid || rep.Workspace != "ws" || !reflect.DeepEqual(rep.Order, []string{"a", "c", "b"}) ||
		!reflect.DeepEqual(rep.Stages, [][]string{{"a", "c"}, {"b"}}) || len(rep.Warnings) != 1 || rep.Warnings[0].Line != 11 || len(rep.Errors) != 0 || !rep.Tests {
		t.Errorf("report = %+v", rep)
	}
	if errs != "" {
		t.Errorf("--json writes its warnings into the report, not stderr:\n%s", errs)
	}

	broken := writeConfig(t, strings.Replace(validateConfig, `depends_on = ["a", "c"]`, `depends_on = "a"`, 1))
	code, out, _ = runCmd(t, "validate", "--json", broken)
	rep = workspace.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitUsage {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if rep.Valid || len(rep.Errors) != 1 || rep.Errors[0].Line != 11 || rep.Errors[0].Key != "siblings[b].depends_on" ||
		!strings.Contains(rep.Errors[0].Message, "want an array of sibling names, got a string") || rep.Errors[0].Fix != `write it as an array: depends_on = ["a"]` {
		t.Errorf("report = %+v", rep)
	}
}

func TestValidateWrknvSectionsAndNoTests(t *testing.T) {
	text := "project_name = \"ws\"\n\n[tasks]\ntest = \"pytest\"\n\n[workenv]\nauto_install = true\n\n" +
		strings.Replace(validateConfig, "[workspace.tasks]\ntest = \"python -m unittest\"\n", "", 1)
	config := writeConfig(t, text)
	code, out, errs := runCmd(t, "validate", config)
	if code != exitOK || strings.Contains(out, "wrknv") || !strings.Contains(errs, "warning: "+config+": nothing to test: add [workspace.tasks].test or [workspace.ci].test") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCmd(t, "validate", "-v", config)
	if code != exitOK || !strings.Contains(out, "passed over (wrknv's own): project_name, [tasks], [workenv]\n") {
		t.Errorf("-v should list wrknv's sections: exit %d\n%s", code, out)
	}
}

// TestValidateChecksTheGraphAgainstThePackages: with the siblings checked
// out beside the workspace, validate warns where a package depends on a
// sibling depends_on does not list, at its file and line.
func TestValidateChecksTheGraphAgainstThePackages(t *testing.T) {
	config := writeConfig(t, validateConfig)
	parent := filepath.Dir(filepath.Dir(config))
	for name, text := range map[string]string{
		"a": "[project]\nname = \"acme-a\"\n",
		"c": "[project]\nname = \"c\"\ndependencies = [\n  \"acme_a>=1\",\n]\n",
	} {
		os.MkdirAll(filepath.Join(parent, name), 0o755)
		os.WriteFile(filepath.Join(parent, name, "pyproject.toml"), []byte(text), 0o644)
	}
	code, _, errs := runCmd(t, "validate", config)
	want := "warning: " + filepath.Join(parent, "c", "pyproject.toml") + ":4: c depends on sibling a, which siblings[c].depends_on in " + config +
		" does not list (fix: add \"a\" to depends_on of sibling c"
	if code != exitOK || !strings.Contains(errs, want) {
		t.Errorf("exit %d, want a warning %q:\n%s", code, want, errs)
	}
}
