package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// testCmdWorkspace serves two sibling repositories over HTTP and writes a
// wrknv.toml for them whose test step is testCmd. It returns the config path.
func testCmdWorkspace(t *testing.T, testCmd string) (config string, repos string) {
	t.Helper()
	tmp := t.TempDir()
	repos = filepath.Join(tmp, "remote")
	for _, n := range []string{"alpha", "beta"} {
		dir := filepath.Join(repos, "o", n+".git")
		if err := gitfixture.InitBare(dir, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := gitfixture.Commit(dir, "main", "", map[string]string{n + ".txt": "main\n"}, "first"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gitfixture.Commit(filepath.Join(repos, "o", "beta.git"), "feature", "main", map[string]string{"feature.txt": "x\n"}, "feature"); err != nil {
		t.Fatal(err)
	}
	srv, err := gitfixture.Serve(repos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ws := filepath.Join(tmp, "ws")
	os.MkdirAll(ws, 0o755)
	toml := fmt.Sprintf(`[workspace]
name = "ws"

[workspace.ci]
test = [%q]
timeout = "1m"

[[siblings]]
name = "alpha"
path = "../alpha"
repo = "%[2]s/o/alpha.git"
layer = "foundation"
setup = ["true"]

[[siblings]]
name = "beta"
path = "../beta"
repo = "%[2]s/o/beta.git"
layer = "framework"
depends_on = ["alpha"]
`, testCmd, srv.URL)
	config = filepath.Join(ws, "wrknv.toml")
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, repos
}

func runTestCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"test"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTestCommandJSON(t *testing.T) {
	config, _ := testCmdWorkspace(t, "test -f ../beta/feature.txt")
	data := t.TempDir()
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", data, "--ref", "beta=feature", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var res struct {
		Result    string `json:"result"`
		Changeset string `json:"changeset"`
		Siblings  []struct {
			Name, Repo, Ref, SHA string
		} `json:"siblings"`
		Steps []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if res.Result != "success" || res.Changeset != "beta=feature" || len(res.Siblings) != 2 || res.Siblings[1].Ref != "feature" || len(res.Siblings[1].SHA) != 40 {
		t.Errorf("result %+v", res)
	}
	for _, s := range res.Steps {
		for _, k := range []string{"name", "sibling", "command", "result", "duration_ms", "log_tail"} {
			if _, ok := s[k]; !ok {
				t.Errorf("step %v lacks %q", s, k)
			}
		}
	}
	for _, want := range []string{"fetch alpha ...", "checkout beta", "setup alpha ... ok", "test workspace ... ok"} {
		if !strings.Contains(errs, want) {
			t.Errorf("progress on stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestTestCommandFailureShowsTail(t *testing.T) {
	// The test leaves a JUnit report naming the failing test.
	config, _ := testCmdWorkspace(t, `echo '<testsuite><testcase classname="tests.test_ws" name="test_ok"/><testcase classname="tests.test_ws" name="test_answer"><failure message="expected 42">../beta/check.py:3: AssertionError</failure></testcase></testsuite>' > "$WORKSPACE_REPORTS/ws.xml"; echo the-assertion-failed; exit 1`)
	data := t.TempDir()
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", data)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, out, errs)
	}
	for _, want := range []string{"ws: FAILURE", "STEP", "checkout", "the-assertion-failed", "test workspace failure", "tests: 1 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "failing tests:\n  workspace  tests.test_ws::test_answer  beta: check.py:3  expected 42\n") {
		t.Errorf("the report does not end with the failing test:\n%s", out)
	}

	code, out, errs = runTestCmd(t, "--config", config, "--data-dir", data, "--json")
	var res struct {
		Tests       struct{ Passed, Failed int } `json:"tests"`
		FailedTests []struct {
			Sibling, ID, Checkout, Path, Message string
			Line                                 int
		} `json:"failed_tests"`
	}
	if err := json.Unmarshal([]byte(out), &res); code != exitFailed || err != nil {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, out, errs)
	}
	if res.Tests.Passed != 1 || res.Tests.Failed != 1 || len(res.FailedTests) != 1 {
		t.Fatalf("--json tests %+v", res)
	}
	if f := res.FailedTests[0]; f.ID != "tests.test_ws::test_answer" || f.Checkout != "beta" || f.Path != "check.py" || f.Line != 3 || f.Message != "expected 42" {
		t.Errorf("--json failed test %+v", f)
	}
}

func TestTestCommandExitCodes(t *testing.T) {
	config, _ := testCmdWorkspace(t, "true")
	data := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown sibling", []string{"--ref", "gamma=main"}, exitUsage, "known siblings: alpha, beta"},
		{"malformed ref flag", []string{"--ref", "alpha"}, exitUsage, "SIBLING=REF"},
		{"missing ref", []string{"--ref", "alpha=nope"}, exitUsage, "git ls-remote"},
		{"option-like ref", []string{"--ref", "alpha=-x"}, exitUsage, "starts with '-'"},
		{"ref with local", []string{"--ref", "alpha=main", "--local"}, exitUsage, "--local"},
		{"missing config", []string{"--config", filepath.Join(data, "none.toml")}, exitUsage, "file not found"},
		{"missing local checkout", []string{"--local"}, exitUsage, "no checkout at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", config, "--data-dir", data}, tc.args...)
			code, _, errs := runTestCmd(t, args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant %q", code, tc.code, errs, tc.want)
			}
		})
	}
}

func TestTestCommandUnreachableRepo(t *testing.T) {
	config, repos := testCmdWorkspace(t, "true")
	os.RemoveAll(filepath.Join(repos, "o", "beta.git"))
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", t.TempDir(), "--json")
	if code != exitInfra || !strings.Contains(errs, "/o/beta.git") {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInfra, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["result"] != "error" {
		t.Errorf("--json on an infrastructure error: %v %v", res, err)
	}
}

func TestTestCommandLocal(t *testing.T) {
	config, repos := testCmdWorkspace(t, "test -f ../alpha/alpha.txt && test -f ../beta/beta.txt")
	for _, n := range []string{"alpha", "beta"} {
		if _, err := gitfixture.Git(filepath.Dir(filepath.Dir(config)), "clone", "--quiet", filepath.Join(repos, "o", n+".git"), n); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := runTestCmd(t, "--config", config, "--local", "--json")
	if code != exitOK || !strings.Contains(out, `"changeset": "local"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// -v streams each step between its own start and end lines; the progress
// lines do not say the same again.
func TestTestCommandVerboseSaysEachStepOnce(t *testing.T) {
	config, _ := testCmdWorkspace(t, "echo the-test-ran")
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", t.TempDir(), "-v")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, step := range []string{"setup alpha", "test workspace"} {
		if n := strings.Count(errs, step); n != 2 {
			t.Errorf("%q appears %d times, want 2 (start and end):\n%s", step, n, errs)
		}
	}
	if !strings.Contains(errs, "the-test-ran") {
		t.Errorf("-v did not stream the step's output:\n%s", errs)
	}
}

// A sibling that cannot be fetched is named; the others never checked
// out read skipped, with no SHA.
func TestTestCommandNamesTheFailedFetch(t *testing.T) {
	config, repos := testCmdWorkspace(t, "true")
	os.RemoveAll(filepath.Join(repos, "o", "alpha.git"))
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", t.TempDir())
	if code != exitInfra {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 5 && strings.HasSuffix(f[3], "s") && (f[0] == "checkout" || f[0] == "setup" || f[0] == "test") {
			lines[f[0]+" "+f[1]] = f[2]
		}
	}
	if lines["checkout alpha"] != "error" || lines["setup alpha"] != "skipped" || lines["test -"] != "skipped" {
		t.Errorf("steps %v in:\n%s", lines, out)
	}
	if r := lines["checkout beta"]; r != "skipped" && r != "success" {
		t.Errorf("beta's checkout reads %q:\n%s", r, out)
	}
	if strings.Contains(errs, "beta ... error") {
		t.Errorf("beta reported as an error of its own:\n%s", errs)
	}
}

// A workspace with no test command anywhere is refused before anything
// is cloned: exit 2, and the fix.
func TestTestCommandNothingToTest(t *testing.T) {
	config, _ := testCmdWorkspace(t, "true")
	text, _ := os.ReadFile(config)
	os.WriteFile(config, []byte(strings.Replace(string(text), `test = ["true"]`, "", 1)), 0o644)
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(errs, "nothing to test: add [workspace.tasks].test or [workspace.ci].test") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if out != "" {
		t.Errorf("a run refused before it built anything printed a report:\n%s", out)
	}
}

// --task runs a task in place of the tests; --fresh starts a new root;
// a relative --data-dir gives the steps absolute paths.
func TestTestCommandTaskFreshAndRelativeDataDir(t *testing.T) {
	config, _ := testCmdWorkspace(t, "false")
	text, _ := os.ReadFile(config)
	os.WriteFile(config, []byte(string(text)+"\n[workspace.tasks]\nlint = \"case $WORKSPACE_ROOT in /*) echo linted;; *) exit 9;; esac\"\n"), 0o644)
	t.Chdir(t.TempDir())
	code, out, errs := runTestCmd(t, "--config", config, "--data-dir", "data", "--task", "lint", "--json")
	if code != exitOK || !strings.Contains(out, `"name": "lint"`) || strings.Contains(out, `"name": "test"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var res struct {
		Root      string `json:"root"`
		BuildRoot string `json:"build_root"`
	}
	json.Unmarshal([]byte(out), &res)
	if res.Root != "new" || !filepath.IsAbs(res.BuildRoot) {
		t.Errorf("first run: root %q at %q", res.Root, res.BuildRoot)
	}
	code, out, _ = runTestCmd(t, "--config", config, "--data-dir", "data", "--task", "lint", "--json")
	json.Unmarshal([]byte(out), &res)
	if code != exitOK || res.Root != "reused" {
		t.Errorf("second run: exit %d root %q", code, res.Root)
	}
	code, out, _ = runTestCmd(t, "--config", config, "--data-dir", "data", "--task", "lint", "--fresh", "--json")
	json.Unmarshal([]byte(out), &res)
	if code != exitOK || res.Root != "new" {
		t.Errorf("--fresh: exit %d root %q", code, res.Root)
	}
	code, _, errs = runTestCmd(t, "--config", config, "--data-dir", "data", "--task", "lnit")
	if code != exitUsage || !strings.Contains(errs, "did you mean lint?") {
		t.Errorf("unknown task: exit %d\n%s", code, errs)
	}
}

// A run cut short by its timeout says so, with the step it was in.
func TestTestCommandTimeoutHeadline(t *testing.T) {
	config, repos := testCmdWorkspace(t, "sleep 30")
	text, _ := os.ReadFile(config)
	// The checkouts on disk (--local): nothing to fetch, so even a loaded
	// machine reaches the test before the time is up, and the headline
	// names the step it was in.
	for _, n := range []string{"alpha", "beta"} {
		if _, err := gitfixture.Git(filepath.Dir(filepath.Dir(config)), "clone", "--quiet", filepath.Join(repos, "o", n+".git"), n); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(config, []byte(strings.Replace(string(text), `timeout = "1m"`, `timeout = "5s"`, 1)), 0o644)
	code, out, errs := runTestCmd(t, "--config", config, "--local")
	if code != exitFailed || !strings.HasPrefix(out, "ws: timed out after 5s in test workspace") || strings.Contains(out, "CANCELLED") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}
