package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/provide-io/workspace-bot/bot"
)

// The example run workflow takes every input the service dispatches it
// with, titles its runs as the service looks for them, and runs run-job
// with flags that exist, the token through the environment only.
func TestExampleRunWorkflow(t *testing.T) {
	raw, err := os.ReadFile("../../examples/workspace-run.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		RunName string `yaml:"run-name"`
		On      struct {
			Dispatch struct {
				Inputs map[string]struct {
					Required bool   `yaml:"required"`
					Default  string `yaml:"default"`
				} `yaml:"inputs"`
			} `yaml:"workflow_dispatch"`
		} `yaml:"on"`
		Concurrency struct {
			Group string `yaml:"group"`
		} `yaml:"concurrency"`
		Jobs map[string]struct {
			RunsOn string `yaml:"runs-on"`
			Steps  []struct {
				Run string            `yaml:"run"`
				Env map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{bot.InputRun, bot.InputAttempt, bot.InputToken, bot.InputService, bot.InputRunsOn} {
		if _, ok := wf.On.Dispatch.Inputs[in]; !ok {
			t.Errorf("the workflow takes no %q input, which the service sends", in)
		}
	}
	if title := strings.NewReplacer("${{ inputs.run }}", "42", "${{ inputs.attempt }}", "2").Replace(wf.RunName); title != bot.Title(42, 2) {
		t.Errorf("run-name %q gives run 42's attempt 2 the title %q; the service looks for %q", wf.RunName, title, bot.Title(42, 2))
	}
	if !strings.Contains(wf.Concurrency.Group, "inputs.run") {
		t.Errorf("concurrency group %q is not per run", wf.Concurrency.Group)
	}
	_, help, errs := runCmd(t, "run-job", "--help")
	help += errs
	found := false
	for name, j := range wf.Jobs {
		if !strings.Contains(j.RunsOn, "inputs.runs-on") {
			t.Errorf("job %s runs on %q, not on the runs-on input", name, j.RunsOn)
		}
		for _, s := range j.Steps {
			if !strings.Contains(s.Run, "workspace-bot run-job") {
				if strings.Contains(s.Run, "inputs.") {
					t.Errorf("step %q pastes an input into its script", s.Run)
				}
				continue
			}
			found = true
			if strings.Contains(s.Run, "${{") {
				t.Errorf("run-job's step pastes an expression into its script: %q", s.Run)
			}
			if s.Env["WORKSPACE_BOT_RUN_TOKEN"] != "${{ inputs.token }}" {
				t.Errorf("run-job gets its token from %q, want WORKSPACE_BOT_RUN_TOKEN from the token input", s.Env["WORKSPACE_BOT_RUN_TOKEN"])
			}
			for _, flag := range regexp.MustCompile(`--[a-z-]+`).FindAllString(s.Run, -1) {
				if !strings.Contains(help, flag+" ") {
					t.Errorf("run-job has no flag %s", flag)
				}
			}
			for flag, input := range map[string]string{"--service": bot.InputService, "--run": bot.InputRun} {
				m := regexp.MustCompile(regexp.QuoteMeta(flag) + ` "\$([A-Z_]+)"`).FindStringSubmatch(s.Run)
				if m == nil || s.Env[m[1]] != "${{ inputs."+input+" }}" {
					t.Errorf("run-job's %s is not the %s input: %q %v", flag, input, s.Run, s.Env)
				}
			}
		}
	}
	if !found {
		t.Error("no step runs workspace-bot run-job")
	}
}

// run-job refuses what it cannot work with, each with the fix, before it
// asks the service anything.
func TestRunJobRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		args  []string
		token string
		want  string
	}{
		{[]string{"--run", "1"}, "t", "--service is empty"},
		{[]string{"--service", "https://bot.example", "--run", "x"}, "t", "run-job --service URL --run ID"},
		{[]string{"--service", "https://bot.example"}, "t", "--run: give the run's id"},
		{[]string{"--service", "https://bot.example", "--run", "1"}, "", "WORKSPACE_BOT_RUN_TOKEN is empty"},
	} {
		t.Setenv("WORKSPACE_BOT_RUN_TOKEN", c.token)
		code, out, errs := runCmd(t, append([]string{"run-job"}, c.args...)...)
		if code != exitUsage || !strings.Contains(out+errs, c.want) {
			t.Errorf("run-job %v: exit %d\n%s%s\nwant 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}
