package action

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// actionFile is the part of action.yml the binary depends on.
type actionFile struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID  string            `yaml:"id"`
			Run string            `yaml:"run"`
			Env map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func loadActionFile(t *testing.T) (actionFile, string) {
	t.Helper()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a, string(raw)
}

var exprRe = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

func TestActionYAMLMatchesTheBinary(t *testing.T) {
	a, raw := loadActionFile(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"token", "config", "command"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		}
	}
	if !a.Inputs["token"].Required {
		t.Error("the token input must be required")
	}
	if d := a.Inputs["command"].Default; d != CommandAuto {
		t.Errorf("command defaults to %q, want %q", d, CommandAuto)
	}
	// Every input the file refers to exists.
	for _, m := range exprRe.FindAllStringSubmatch(raw, -1) {
		for _, ref := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(m[1], -1) {
			if _, ok := a.Inputs[ref[1]]; !ok {
				t.Errorf("%s refers to input %q, which action.yml does not declare", m[0], ref[1])
			}
		}
	}

	// The names the binary reads, found by reading them.
	read := map[string]bool{}
	ReadEnv(func(k string) string { read[k] = true; return "" })

	var run *struct {
		ID  string            `yaml:"id"`
		Run string            `yaml:"run"`
		Env map[string]string `yaml:"env"`
	}
	for i := range a.Runs.Steps {
		if strings.Contains(a.Runs.Steps[i].Run, "workspace-bot\" action") {
			run = &a.Runs.Steps[i]
		}
	}
	if run == nil {
		t.Fatal("no step runs `workspace-bot action`")
	}
	passed := map[string]string{} // input -> env name
	for name, value := range run.Env {
		if !strings.HasPrefix(name, "WORKSPACE_BOT_") {
			continue
		}
		if !read[name] {
			t.Errorf("the run step sets %s, which workspace-bot action never reads", name)
		}
		if m := regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindStringSubmatch(value); m != nil {
			passed[m[1]] = name
		}
	}
	// Inputs are data: they reach the binary through env, never the script.
	if strings.Contains(run.Run, "${{") {
		t.Errorf("the run script expands an expression; pass it through env instead:\n%s", run.Run)
	}
	for _, in := range []string{"token", "config", "command"} {
		if passed[in] == "" {
			t.Errorf("input %q is not passed to workspace-bot action", in)
		}
	}
	if passed["token"] != "WORKSPACE_BOT_GITHUB_TOKEN" {
		t.Errorf("the token reaches the binary as %q", passed["token"])
	}

	// Outputs map to the step outputs the binary writes.
	var outs []string
	for name, o := range a.Outputs {
		outs = append(outs, name)
		want := "${{ steps." + run.ID + ".outputs." + name + " }}"
		if run.ID == "" || o.Value != want {
			t.Errorf("output %s = %q, want %q", name, o.Value, want)
		}
	}
	sort.Strings(outs)
	if strings.Join(outs, ",") != "changeset,result" {
		t.Errorf("outputs %v, want changeset and result", outs)
	}
}

// workflowFile is the part of a workflow the examples are checked for.
type workflowFile struct {
	On   yaml.Node `yaml:"on"`
	Jobs map[string]struct {
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestExampleWorkflowsUseTheActionsInputs(t *testing.T) {
	a, _ := loadActionFile(t)
	files, err := filepath.Glob("../../examples/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example workflows (%v)", err)
	}
	for _, f := range files {
		if filepath.Base(f) == "workspace-run.yml" {
			continue // serve --executor actions's job, checked in cmd/workspace-bot
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "pull_request_target") {
			t.Errorf("%s uses pull_request_target, which hands secrets to fork code", f)
		}
		var wf workflowFile
		if err := yaml.Unmarshal(raw, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		uses := 0
		for job, j := range wf.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "provide-io/workspace-bot@") {
					continue
				}
				uses++
				for k := range s.With {
					if _, ok := a.Inputs[k]; !ok {
						t.Errorf("%s job %s passes %q, not an input of action.yml", f, job, k)
					}
				}
				if s.With["token"] == "" {
					t.Errorf("%s job %s passes no token", f, job)
				}
			}
		}
		if uses == 0 {
			t.Errorf("%s never uses the action", f)
		}
	}
}
