package ci

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/workspace"
)

// reportsDirName is the directory in the build root (or, with --local,
// the run's scratch) that holds a directory per step for its JUnit
// reports: WORKSPACE_REPORTS.
const reportsDirName = ".reports"

// reports are the run's reports directories, one per step.
type reports struct {
	base string // the directory holding reportsDirName
	root *os.Root
}

// stepReportsDir is step i's WORKSPACE_REPORTS, relative to base.
func stepReportsDir(i int) string {
	return filepath.Join(reportsDirName, fmt.Sprintf("step-%03d", i+1))
}

// makeReports makes an empty reports directory for each of n steps in
// base, before the build root is handed to the build user, so the steps
// own them.
func makeReports(base string, n int) (*reports, error) {
	removeTree(filepath.Join(base, reportsDirName))
	for i := range n {
		if err := os.MkdirAll(filepath.Join(base, stepReportsDir(i)), 0o755); err != nil {
			return nil, err
		}
	}
	// Opened before any step runs: the steps can change what is in base,
	// never base itself.
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	return &reports{base: base, root: root}, nil
}

func (rp *reports) close() {
	if rp != nil && rp.root != nil {
		rp.root.Close()
	}
}

// stepEnv is what step i gets on top of the run's environment:
// WORKSPACE_REPORTS, and for pytest suites (pytest, the name of the
// report, "" for none) PYTEST_ADDOPTS pointing pytest's --junitxml there.
func (rp *reports) stepEnv(i int, pytest string) []string {
	if rp == nil {
		return nil
	}
	dir := filepath.Join(rp.base, stepReportsDir(i))
	env := []string{"WORKSPACE_REPORTS=" + dir}
	if pytest != "" {
		env = append(env, "PYTEST_ADDOPTS=--junitxml="+filepath.Join(dir, pytest+".xml"))
	}
	return env
}

// read reads step i's reports; the failures' files are placed in the
// workspace's checkouts (stepDir is where the step ran). Nil when the
// step left none.
func (rp *reports) read(i int, stepDir string, lay layout, cfg *workspace.Config) *junit.Report {
	if rp == nil {
		return nil
	}
	rep, err := junit.ReadDir(rp.root, stepReportsDir(i), junit.DefaultLimits)
	if err != nil {
		rep.Problems = append(rep.Problems, "the reports directory was not read: "+err.Error())
	}
	if rep.Total() == 0 && len(rep.Problems) == 0 {
		return nil
	}
	for j := range rep.Failures {
		placeFailure(&rep.Failures[j], stepDir, lay, cfg)
	}
	return rep
}

// pytestReport names the JUnit report pytest writes for a test step, ""
// when the step's pytest is left as configured: the siblings that take
// the default setup, and the workspace tests when the default setup made
// the venv, unless the config sets PYTEST_ADDOPTS itself.
func pytestReport(cfg *workspace.Config, f workspace.Facts, p workspace.Plan, phase string, st workspace.Step) string {
	for _, env := range []map[string]string{cfg.Workspace.Env, cfg.Workspace.CI.Env} {
		if _, set := env["PYTEST_ADDOPTS"]; set {
			return ""
		}
	}
	switch phase {
	case workspace.PhaseSiblingTests:
		if s := cfg.Sibling(st.Sibling); s != nil && !s.HasOwnSetup() && f.Pyproject[s.Name] {
			return s.Name
		}
	case workspace.PhaseTests:
		if p.Venv != "" {
			return cfg.Workspace.Name
		}
	}
	return ""
}

// placeFailure finds the checkout (a sibling, or the workspace) whose
// repository holds the failure's file, and its path there, so the
// failure can be shown on that repository's PR.
func placeFailure(c *junit.Case, stepDir string, lay layout, cfg *workspace.Config) {
	if c.File == "" {
		return
	}
	abs := c.File
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(stepDir, abs)
	}
	abs = filepath.Clean(abs)
	best, bestDir := "", ""
	consider := func(name, dir string) {
		if holds(dir, abs) && len(dir) > len(bestDir) {
			best, bestDir = name, dir
		}
	}
	// The deepest checkout holding it: a sibling may sit inside the
	// workspace's.
	consider(cfg.Workspace.Name, lay.wsDir)
	for name, dir := range lay.dirs {
		consider(name, dir)
	}
	if best == "" {
		return
	}
	rel, err := filepath.Rel(bestDir, abs)
	if err != nil || rel == "." {
		return
	}
	c.Checkout, c.Path = best, filepath.ToSlash(rel)
}

// TestCounts are the tests of one sibling's steps, or of the workspace's
// (Sibling "").
type TestCounts struct {
	Sibling string `json:"sibling"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
}

// FailedTest is a failing test with the step that ran it.
type FailedTest struct {
	junit.Case
	// Sibling is the sibling whose step ran it, "" for the workspace's.
	Sibling string `json:"sibling"`
	// Step is the step's title ("test alpha").
	Step string `json:"step"`
}

// Tests sums the reports of the run's steps: the total, then one entry
// per sibling (workspace first) that reported any.
func (r *Result) Tests() (total TestCounts, per []TestCounts) {
	at := map[string]int{}
	for _, s := range r.Steps {
		if s.Tests == nil {
			continue
		}
		i, ok := at[s.Sibling]
		if !ok {
			i = len(per)
			at[s.Sibling] = i
			per = append(per, TestCounts{Sibling: s.Sibling})
		}
		per[i].Passed += s.Tests.Passed
		per[i].Failed += s.Tests.Failed
		per[i].Skipped += s.Tests.Skipped
	}
	slices.SortStableFunc(per, func(a, b TestCounts) int {
		if (a.Sibling == "") != (b.Sibling == "") {
			if a.Sibling == "" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Sibling, b.Sibling)
	})
	for _, p := range per {
		total.Passed += p.Passed
		total.Failed += p.Failed
		total.Skipped += p.Skipped
	}
	return total, per
}

// FailedTests lists the failing tests the run kept, in step order, and
// how many more failed than are listed.
func (r *Result) FailedTests() (out []FailedTest, more int) {
	for _, s := range r.Steps {
		if s.Tests == nil {
			continue
		}
		more += s.Tests.Omitted
		for _, c := range s.Tests.Failures {
			out = append(out, FailedTest{Case: c, Sibling: s.Sibling, Step: s.Title()})
		}
	}
	return out, more
}

// Words says the counts as a reader wants them: "12 passed, 1 failed,
// 2 skipped", leaving out what is zero (but never everything).
func (c TestCounts) Words() string {
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{c.Passed, "passed"}, {c.Failed, "failed"}, {c.Skipped, "skipped"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	if len(parts) == 0 {
		return "no tests"
	}
	return strings.Join(parts, ", ")
}

// censorTests replaces secrets in everything a step's reports say.
func (s *secrets) censorTests(rep *junit.Report) {
	if rep == nil {
		return
	}
	for i := range rep.Failures {
		c := &rep.Failures[i]
		c.ID, c.File, c.Path, c.Message, c.Output = s.text(c.ID), s.text(c.File), s.text(c.Path), s.text(c.Message), s.text(c.Output)
	}
	for i := range rep.Problems {
		rep.Problems[i] = s.text(rep.Problems[i])
	}
}

// JSONResult is a Result with its tests summed, as `test --json` prints
// it: the counts in total and per sibling, and every failing test the run
// kept, without looking through the steps.
type JSONResult struct {
	*Result
	Tests           *TestCounts  `json:"tests,omitempty"`
	TestsBySibling  []TestCounts `json:"tests_by_sibling,omitempty"`
	FailedTests     []FailedTest `json:"failed_tests,omitempty"`
	MoreFailedTests int          `json:"more_failed_tests,omitempty"`
}

// ForJSON is r with its tests summed (see JSONResult).
func (r *Result) ForJSON() JSONResult {
	out := JSONResult{Result: r}
	total, per := r.Tests()
	if len(per) > 0 {
		out.Tests, out.TestsBySibling = &total, per
	}
	out.FailedTests, out.MoreFailedTests = r.FailedTests()
	return out
}
