package ci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/workspace"
)

// A step's JUnit report, written where WORKSPACE_REPORTS says, is read
// after it: counted, its failures placed in the sibling's repository and
// censored. What the step links in from outside the build root is not.
func TestStepReportsAreRead(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-the-token-value"
	f := newFixture(t)
	f.repo("alpha", map[string]string{"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
	outside := filepath.Join(f.dataDir, "leak.xml")
	os.MkdirAll(f.dataDir, 0o755)
	if err := os.WriteFile(outside, []byte(`<testsuite><testcase name="LEAKED"><failure/></testcase></testsuite>`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := f.config(sib{name: "alpha"})
	cfg.Sibling("alpha").Test = []string{`test -z "$PYTEST_ADDOPTS" && test -d "$WORKSPACE_REPORTS" &&
ln -s ` + outside + ` "$WORKSPACE_REPORTS/leak.xml" &&
cat > "$WORKSPACE_REPORTS/alpha.xml" <<'EOF'
<testsuites><testsuite name="pytest"><testcase classname="tests.test_a" name="test_ok"/><testcase classname="tests.test_a" name="test_a"><failure message="assert 1 == 2 (token ` + secret + `)">def test_a():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_a.py:2: AssertionError</failure></testcase><testcase classname="tests.test_a" name="test_skip"><skipped/></testcase></testsuite></testsuites>
EOF
exit 1`}
	r := f.runner()
	r.Secrets = []string{secret}
	res, err := r.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	st := stepsOf(res, "test", "alpha")
	if len(st) != 1 || st[0].Result != Failure || st[0].Tests == nil {
		t.Fatalf("test alpha: %+v", st)
	}
	rep := st[0].Tests
	if rep.Passed != 1 || rep.Failed != 1 || rep.Skipped != 1 {
		t.Errorf("counts %+v, want 1 passed, 1 failed, 1 skipped", rep)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "leak.xml: not read") {
		t.Errorf("the symlink out of the build root is not named as refused: %q", rep.Problems)
	}
	failed, more := res.FailedTests()
	if len(failed) != 1 || more != 0 {
		t.Fatalf("failed tests %+v, %d more", failed, more)
	}
	c := failed[0]
	if c.ID != "tests.test_a::test_a" || c.Sibling != "alpha" || c.Checkout != "alpha" || c.Path != "tests/test_a.py" || c.Line != 2 || c.Step != "test alpha" {
		t.Errorf("failed test %+v", c)
	}
	if strings.Contains(c.Message, secret) || !strings.Contains(c.Message, "[redacted]") {
		t.Errorf("the secret in the message is not censored: %q", c.Message)
	}
	total, per := res.Tests()
	if total.Words() != "1 passed, 1 failed, 1 skipped" || len(per) != 1 || per[0].Sibling != "alpha" {
		t.Errorf("totals %+v per sibling %+v", total, per)
	}
}

func TestPytestReportOnlyForTheDefaultSetup(t *testing.T) {
	t.Parallel()
	cfg := &workspace.Config{Siblings: []workspace.Sibling{
		{Name: "py"}, {Name: "own", Setup: []string{"make"}}, {Name: "plain"},
	}}
	cfg.Workspace.Name = "ws"
	f := workspace.Facts{Pyproject: map[string]bool{"py": true, "own": true, "plain": false}}
	venv := workspace.Plan{Venv: ".venv"}
	step := func(s string) workspace.Step { return workspace.Step{Name: "test", Sibling: s} }
	for _, c := range []struct {
		phase, sibling string
		plan           workspace.Plan
		want           string
	}{
		{workspace.PhaseSiblingTests, "py", venv, "py"},
		{workspace.PhaseSiblingTests, "own", venv, ""},
		{workspace.PhaseSiblingTests, "plain", venv, ""},
		{workspace.PhaseTests, "", venv, "ws"},
		{workspace.PhaseTests, "", workspace.Plan{}, ""},
		{workspace.PhaseStage, "py", venv, ""},
	} {
		if got := pytestReport(cfg, f, c.plan, c.phase, step(c.sibling)); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.phase, c.sibling, got, c.want)
		}
	}
	cfg.Workspace.CI.Env = map[string]string{"PYTEST_ADDOPTS": "-p no:cacheprovider"}
	if got := pytestReport(cfg, f, venv, workspace.PhaseSiblingTests, step("py")); got != "" {
		t.Errorf("PYTEST_ADDOPTS set by the config was replaced: %q", got)
	}
}

// The CLI's report ends with the failing tests, one line each: a test's
// name or message cannot move the cursor, clear the screen or add lines.
func TestReportEndsWithTheFailingTests(t *testing.T) {
	t.Parallel()
	res := &Result{Result: Failure, Steps: []StepResult{
		{Name: "test", Sibling: "alpha", Result: Success, Tests: &junit.Report{Passed: 3}},
		{Name: "test", Result: Failure, LogTail: "boom", Tests: &junit.Report{Passed: 1, Failed: 2, Failures: []junit.Case{
			{ID: "t::a\x1b[2J\x1b[H", Checkout: "alpha", Path: "tests/a.py", File: "../alpha/tests/a.py", Line: 7, Message: "assert 1\rFAKE OK\nsecond line"},
			{ID: "t::b", File: "/usr/lib/x.py"},
		}}},
	}}
	var b strings.Builder
	WriteReport(&b, "ws", res)
	out := b.String()
	if strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("control characters reached the report: %q", out)
	}
	i := strings.Index(out, "\ntests: 4 passed, 2 failed\n  workspace: 1 passed, 2 failed\n  alpha: 3 passed\n\nfailing tests:\n")
	if i < 0 || !strings.HasSuffix(out, "  workspace  t::b         /usr/lib/x.py\n") {
		t.Fatalf("report:\n%s", out)
	}
	if !strings.Contains(out, "  workspace  t::a [2J [H  alpha: tests/a.py:7  assert 1 FAKE OK\n") {
		t.Errorf("the failing test's line:\n%s", out)
	}
}
