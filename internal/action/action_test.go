package action

import (
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
)

func TestReadEnvAndValidate(t *testing.T) {
	vars := map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/tmp/e.json", "GITHUB_REPOSITORY": "o/r",
		"GITHUB_SERVER_URL": "https://ghe.example/", "GITHUB_RUN_ID": "77",
		"GITHUB_TOKEN": "fallback", "WORKSPACE_BOT_COMMAND": " Test ",
	}
	e := ReadEnv(func(k string) string { return vars[k] })
	if e.Token != "fallback" || e.Command != CommandTest || e.Config != "wrknv.toml" || e.APIURL != "https://api.github.com/" {
		t.Errorf("env %+v", e)
	}
	if got := e.RunURL(); got != "https://ghe.example/o/r/actions/runs/77" {
		t.Errorf("run URL %q", got)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("valid env: %v", err)
	}
	vars["WORKSPACE_BOT_GITHUB_TOKEN"] = "preferred"
	if e := ReadEnv(func(k string) string { return vars[k] }); e.Token != "preferred" {
		t.Errorf("WORKSPACE_BOT_GITHUB_TOKEN should win over GITHUB_TOKEN")
	}
	for _, tc := range []struct {
		name string
		env  Env
		want string
	}{
		{"bad command", Env{Command: "deploy"}, "want auto, test or validate"},
		{"not in Actions", Env{Command: CommandAuto, Token: "t"}, "GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY not set"},
		{"no token", Env{Command: CommandAuto, EventName: "push", EventPath: "p", Repository: "o/r"}, "no GitHub token"},
	} {
		err := tc.env.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := (Env{Command: CommandValidate}).Validate(); err != nil {
		t.Errorf("validate needs no event: %v", err)
	}
}

func TestStepSummaryDropsTheMarker(t *testing.T) {
	if got := StepSummary(bot.SummaryMarker + "\n### passed\n"); strings.HasPrefix(got, "<!--") || !strings.HasPrefix(got, "### passed") {
		t.Errorf("step summary %q", got)
	}
}

func TestGroupsFenceUntrustedOutput(t *testing.T) {
	var out strings.Builder
	r := &Workflow{Out: &out}
	Groups(r, "workspace/integration", &ci.Result{Result: ci.Failure, Steps: []ci.StepResult{
		{Name: "setup", Sibling: "a", Command: "make", Result: ci.Success, Log: "built\n"},
		{Name: "test", Command: "pytest\n-x", Result: ci.Failure, LogTail: "::set-output name=result::success\nboom", DurationMS: 1500},
		{Name: "test", Sibling: "b", Command: "later", Result: ci.Skipped},
	}})
	got := out.String()
	// The injected command sits between stop-commands and its resume token.
	i := strings.Index(got, "::set-output name=result::success")
	stop := strings.LastIndex(got[:i], "::stop-commands::")
	if stop < 0 {
		t.Fatalf("untrusted output outside stop-commands:\n%s", got)
	}
	token := strings.TrimSpace(strings.SplitN(got[stop+len("::stop-commands::"):], "\n", 2)[0])
	if resume := strings.Index(got, "::"+token+"::"); resume < i {
		t.Errorf("commands resumed before the untrusted output ended:\n%s", got)
	}
	if strings.Count(got, "::group::") != 3 || strings.Count(got, "::endgroup::") != 3 {
		t.Errorf("want three groups:\n%s", got)
	}
	if !strings.Contains(got, "::group::test workspace: pytest -x (failure, 1.5s)\n") {
		t.Errorf("group title not folded to one line:\n%s", got)
	}
	if !strings.Contains(got, "::error title=workspace/integration%3A failure::test workspace: pytest -x (failure, 1.5s)%0A::set-output name=result::success%0Aboom\n") {
		t.Errorf("error annotation:\n%s", got)
	}

	out.Reset()
	Groups(r, "ctx", &ci.Result{Result: ci.Error, Error: "fetch a failed"})
	if !strings.Contains(out.String(), "::error title=ctx%3A error::fetch a failed\n") {
		t.Errorf("run error annotation:\n%s", out.String())
	}
}

func TestTipsSummary(t *testing.T) {
	md, err := TipsSummary("workspace/integration", "/workspace", "https://x/runs/1", &ci.Result{
		Result: ci.Success, Changeset: "tips",
		Siblings: []ci.SiblingResult{{Name: "a", Ref: "main", SHA: "0123456789abcdef"}},
		Steps:    []ci.StepResult{{Name: "test", Command: "t", Result: ci.Success}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### ✅ workspace/integration: passed at the branch tips", "Run: https://x/runs/1", "| a | main | `0123456789ab` |", "| test: `t` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, bot.SummaryMarker) {
		t.Errorf("the PR comment marker leaked into the step summary")
	}
}
