package bot

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// failures are n failing tests of the workspace's suite, some with a
// place in a repository, some only as reported, one with no place.
func failures(n int) []junit.Case {
	var out []junit.Case
	for i := range n {
		c := junit.Case{ID: fmt.Sprintf("tests.test_core::test_%d", i), Message: fmt.Sprintf("assert %d == 0\n+  where more follows", i),
			File: "tests/test_core.py", Line: 10 + i, Checkout: "ws", Path: "tests/test_core.py"}
		if i == 3 {
			c.Checkout, c.Path = "core", "src/core/x.py"
		}
		switch i % 3 {
		case 1:
			c.Checkout, c.Path = "", ""
			c.File = "/usr/lib/python3/helper.py"
		case 2:
			c.File, c.Path, c.Line = "", "", 0
		}
		out = append(out, c)
	}
	return out
}

func testChangeset() *changeset.Changeset {
	pr := func(repo string, n int, sha, base string, fork bool) *changeset.PR {
		return &changeset.PR{Repo: repo, Number: n, HeadSHA: sha, BaseRef: base, Fork: fork,
			URL: "https://github.example/" + repo + "/pull/" + strconv.Itoa(n)}
	}
	return &changeset.Changeset{
		Key: "acme/app#3,acme/core#1,acme/lib#2",
		Members: []changeset.Member{
			{PR: pr("acme/app", 3, "3333333333333333333333333333333333333333", "main", false), Sibling: "app"},
			{PR: pr("acme/core", 1, "1111111111111111111111111111111111111111", "main", false), Sibling: "core"},
			{PR: pr("acme/lib", 2, "2222222222222222222222222222222222222222", "develop", true), Sibling: "lib"},
		},
	}
}

func TestSummaryGolden(t *testing.T) {
	cs := testChangeset()
	steps := []ci.StepResult{
		{Name: "checkout", Result: ci.Success, DurationMS: 1200},
		{Name: "setup", Sibling: "core", Command: "make install", Result: ci.Success, DurationMS: 350},
		{Name: "test", Sibling: "core", Command: "pytest -q", Result: ci.Success, DurationMS: 900,
			Tests: &junit.Report{Passed: 40, Skipped: 2}},
		{Name: "test", Command: "sh run-tests.sh", Result: ci.Failure, DurationMS: 2041,
			LogTail: "ok 1 core\nnot ok 2 lib ```injected```\nFAIL",
			Tests:   &junit.Report{Passed: 7, Failed: 13, Omitted: 1, Failures: failures(12)}},
	}
	failedRes := &ci.Result{Steps: steps}
	passedRes := &ci.Result{Steps: steps[:3]}
	cases := map[string]Summary{
		"summary_failure": {
			Context: "workspace/integration", Command: "/workspace", Result: ci.Failure,
			Headline: "failed at test", RunURL: "https://bot.example/runs/7", Key: cs.Key,
			QueueURL: "https://bot.example/runs?changeset=" + url.QueryEscape(cs.Key),
			Members:  summaryMembers(cs), Steps: steps, Failed: failedRes.FirstFailure(),
		},
		"summary_success": {
			Context: "workspace/integration", Command: "/workspace", Result: ci.Success,
			Headline: "passed", RunURL: "https://bot.example/runs/8", Key: cs.Key,
			Members: summaryMembers(cs), Steps: passedRes.Steps,
		},
		"summary_resolution_error": {
			Context: "workspace/integration", Command: "/workspace", Result: ci.Error,
			Headline: "could not resolve the changeset", Key: "acme/app#3",
			Members:  summaryMembers(&changeset.Changeset{Members: cs.Members[:1]}),
			QueueURL: "https://bot.example/runs?pr=3&repo=acme%2Fapp",
			Problem:  "acme/zzz#9 (Depends-On in acme/app#3): repository acme/zzz is not in the workspace",
			Fix:      "edit the Depends-On lines of the PR body, then comment /workspace test",
		},
	}
	for name, res := range map[string]*ci.Result{"summary_failure": failedRes, "summary_success": passedRes} {
		s := cases[name]
		s.AddTests(res, "ws")
		s.MarkFlaky(map[string]store.FlakyMark{store.FlakyKey("test workspace", "tests.test_core::test_1"): {Failed: 3, Runs: 10}})
		cases[name] = s
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := RenderSummary(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, SummaryMarker+"\n") {
				t.Fatalf("summary does not start with the marker:\n%s", got)
			}
			golden(t, name, got)
		})
	}
}

// A valid branch name that closes a code span,
// mentions a team and adds a table cell, and the config's own "|| exit
// 1", all rendered as the characters they are.
func TestSummaryEscapesWhatComesFromOutside(t *testing.T) {
	const branch = "a`@provide-io/security-team`|b"
	cs := testChangeset()
	cs.Members[0].PR.BaseRef = branch
	cs.Members[0].Sibling = "app|x"
	for i := 0; i < 12; i++ {
		cs.Excluded = append(cs.Excluded, changeset.Exclusion{PR: changeset.Ref{Repo: "mallory/@evil", Number: 10 + i}, Reason: changeset.ExcludedUntrustedAuthor})
	}
	steps := []ci.StepResult{
		{Name: "checkout", Sibling: "app", Command: "git checkout " + branch, Result: ci.Success, DurationMS: 100},
		{Name: "test", Command: "pytest -q || exit 1", Result: ci.Failure, DurationMS: 2000,
			LogTail: "/workspace link acme/core#1\n@provide-io/security-team ``` </details> <b>x</b>\n",
			// Test names, places and messages are the code under test's.
			Tests: &junit.Report{Failed: 1, Failures: []junit.Case{{
				ID:   "t::x`@provide-io/security-team`|<img src=x onerror=alert(1)>",
				Path: "a`b|c.py", Line: 3,
				Message: "</details><script>alert(1)</script> @provide-io/security-team [x](javascript:alert(1)) " +
					strings.Repeat("very long line ", 1000) + "\n# second line",
			}}}},
	}
	excluded, more := summaryExcluded(cs)
	s := Summary{
		Context: "workspace/integration", Command: "/workspace", Result: ci.Failure,
		Headline: "failed at test: pytest -q || exit 1", RunURL: "https://bot.example/runs/9", Key: cs.Key,
		Members: summaryMembers(cs), Steps: steps, Failed: (&ci.Result{Steps: steps}).FirstFailure(),
		Problem: "branch " + branch + " <!-- is odd\n# not a heading", Fix: "rename " + branch,
		Excluded: excluded, MoreExcluded: more,
	}
	s.AddTests(&ci.Result{Steps: steps}, "ws")
	got, err := RenderSummary(s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary_hostile", got)
	for _, line := range strings.Split(got, "\n") {
		if len(line) > 1000 {
			t.Errorf("a line of %d bytes: %.80q...", len(line), line)
		}
		bare := strings.ReplaceAll(withoutCode(line), `\<`, "") // an escaped < is shown as itself
		if strings.Contains(bare, "<script") || strings.Contains(bare, "<img") || strings.HasPrefix(line, "# second") {
			t.Errorf("HTML or Markdown from a test got through: %q", line)
		}
	}
	inFence := false
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if !inFence && (strings.Contains(withoutCode(line), "@provide-io") || strings.Contains(withoutCode(line), "@evil")) {
			t.Errorf("a live mention: %q", line)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := 0
		for i := 0; i < len(line); i++ {
			if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
				cells++
			}
		}
		if cells != 5 {
			t.Errorf("a table row with %d cells, want 4: %q", cells-1, line)
		}
	}
}

// withoutCode drops the inline code spans of a line, where mentions are
// not live.
func withoutCode(line string) string {
	var out strings.Builder
	for i := 0; i < len(line); {
		if line[i] != '`' {
			out.WriteByte(line[i])
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		delim := strings.Repeat("`", n)
		end := strings.Index(line[i+n:], delim)
		if end < 0 {
			out.WriteString(line[i:])
			break
		}
		i += n + end + n
	}
	return out.String()
}

// A setup skipped because its inputs did not change says so in its row,
// with the run that last did it: a reader must not take it for a setup
// that ran.
func TestSummaryNamesSkippedSetup(t *testing.T) {
	cs := testChangeset()
	steps := []ci.StepResult{
		{Name: "setup", Sibling: "app", Command: "pip install -e .", Result: ci.Success, Cached: true, SkippedSince: "run 41",
			LogTail: "setup skipped: inputs unchanged since run 41"},
		{Name: "test", Command: "pytest -q", Result: ci.Success, DurationMS: 2000},
	}
	got, err := RenderSummary(Summary{Context: "workspace/integration", Command: "/workspace", Result: ci.Success,
		Key: cs.Key, Members: summaryMembers(cs), Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, " skipped: inputs unchanged since run 41 |") {
		t.Errorf("the skipped setup's row does not say so:\n%s", got)
	}
}
