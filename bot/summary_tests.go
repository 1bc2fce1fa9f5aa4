package bot

import (
	"fmt"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
)

// maxSummaryTests bounds the failing tests a summary names; the run page
// lists all the run kept.
const maxSummaryTests = 10

// maxTestMessage bounds a failing test's message in a summary: its first
// line, which the code under test writes and may make as long as it likes.
const maxTestMessage = 200

// SummaryCount is one sibling's test counts ("workspace" for the
// workspace's own tests).
type SummaryCount struct {
	Sibling string
	Words   string // "12 passed, 1 failed"
}

// SummaryTest is one failing test as a summary names it. Every field
// comes from the code under test.
type SummaryTest struct {
	Sibling string
	ID      string
	Where   string // path:line in the sibling's repository, or as reported
	// In names the repository Where is in when it is not the sibling's
	// (a workspace test failing in a sibling's file).
	In      string
	Message string // the first line
	// Flaky says the test is known to be flaky, and how often it failed.
	Flaky string
	step  string // the step's title, to find its flaky mark
}

// AddTests fills the summary's test counts and failing tests from the
// JUnit reports of res's steps; workspace is the workspace's name.
func (s *Summary) AddTests(res *ci.Result, workspace string) {
	total, per := res.Tests()
	if len(per) == 0 {
		return
	}
	s.Tests = total.Words()
	if len(per) > 1 {
		for _, p := range per {
			s.TestsBy = append(s.TestsBy, SummaryCount{Sibling: orWorkspace(p.Sibling), Words: p.Words()})
		}
	}
	failed, more := res.FailedTests()
	for i, f := range failed {
		if i == maxSummaryTests {
			more += len(failed) - maxSummaryTests
			break
		}
		t := SummaryTest{
			Sibling: orWorkspace(f.Sibling), ID: f.ID, Where: where(f), step: f.Step,
			Message: text.Truncate(text.FirstLine(f.Message), maxTestMessage),
		}
		if own := f.Sibling; f.Path != "" && f.Checkout != own && !(own == "" && f.Checkout == workspace) {
			t.In = f.Checkout
		}
		s.FailedTests = append(s.FailedTests, t)
	}
	s.MoreFailedTests = more
}

// where is a failure's place: in its repository when the runner found
// it there, else as the report gave it.
func where(f ci.FailedTest) string {
	path := f.Path
	if path == "" {
		path = f.File
	}
	if path == "" {
		return ""
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", path, f.Line)
	}
	return path
}

func orWorkspace(sibling string) string {
	if sibling == "" {
		return "workspace"
	}
	return sibling
}

// MarkFlaky marks the failing tests known to be flaky (store.FlakyKey of
// the step's title and the test's id).
func (s *Summary) MarkFlaky(marks map[string]store.FlakyMark) {
	for i, t := range s.FailedTests {
		if m, ok := marks[store.FlakyKey(t.step, t.ID)]; ok {
			s.FailedTests[i].Flaky = flakyWords(m)
		}
	}
}
