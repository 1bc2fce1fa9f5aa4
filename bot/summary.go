package bot

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// SummaryMarker finds the bot's summary comment on a PR, so it is edited in
// place and never posted twice, even after a restart.
const SummaryMarker = "<!-- workspace-bot:summary -->"

//go:embed summary.md.tmpl
var summaryTemplateText string

// Everything from outside (branch names, commands, step names, logins,
// log lines, problems) is escaped for where it lands (mdescape): text,
// a code span, a table cell, HTML, a fenced block.
var summaryTemplate = template.Must(template.New("summary").Funcs(template.FuncMap{
	"short": text.ShortSHA,
	"icon":  resultIcon,
	"duration": func(ms int64) string {
		return (time.Duration(ms) * time.Millisecond).Round(10 * time.Millisecond).String()
	},
	"text":     mdescape.Text,
	"code":     mdescape.Code,
	"cell":     func(s string) string { return mdescape.Cell(mdescape.Text(s)) },
	"codecell": func(s string) string { return mdescape.Cell(mdescape.Code(s)) },
	"html":     mdescape.HTML,
	"fence":    mdescape.Fence,
	"url":      mdescape.URL,
	"lines":    func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
	"dash":     orDash,
}).Parse(summaryTemplateText))

// Summary is what the summary comment shows.
type Summary struct {
	Marker  string
	Context string // the status context, such as workspace/integration
	Command string // the command word, such as /workspace
	// Result is how the run ended.
	Result   lifecycle.Result
	Headline string
	RunURL   string
	// QueueURL is the queue page filtered to the changeset, or to the
	// PR when it could not be resolved; "" where there is none.
	QueueURL string
	Key      string // the changeset key
	Members  []SummaryMember
	Steps    []ci.StepResult
	// Failed is the first step that did not pass, with its log tail.
	Failed *ci.StepResult
	// NotAffected are the siblings whose tests did not run, because the
	// changeset does not affect them, and NotAffectedWhy says so.
	NotAffected    []string
	NotAffectedWhy string
	// RetriedFlaky is how many times the run was run again for tests
	// known to be flaky.
	RetriedFlaky int
	// Tests counts the tests the steps' JUnit reports list ("12 passed,
	// 1 failed"; "" when no step left a report), TestsBy per sibling when
	// more than one reported. FailedTests are the first failing tests
	// (see AddTests); MoreFailedTests counts the rest.
	Tests           string
	TestsBy         []SummaryCount
	FailedTests     []SummaryTest
	MoreFailedTests int
	// Isolation says in one line how the steps were kept from the
	// machine (ci.Isolation.Line); "" when no step ran.
	Isolation string
	// Problem explains a run that could not start (a resolution error, an
	// infrastructure error) and Fix says what to do about it; both are
	// plain text.
	Problem string
	Fix     string
	// Excluded are PRs that link themselves to the changeset and are left
	// out (changeset.Changeset.Excluded), at most maxExcluded of them;
	// MoreExcluded counts the rest.
	Excluded     []SummaryExclusion
	MoreExcluded int
}

// SummaryExclusion is one PR left out of the changeset.
type SummaryExclusion struct {
	Ref    string
	Reason string
}

// maxExcluded bounds the PRs left out that a summary lists: anyone can
// open many PRs that link themselves to a changeset.
const maxExcluded = 10

func summaryExcluded(cs *changeset.Changeset) ([]SummaryExclusion, int) {
	if cs == nil {
		return nil, 0
	}
	var out []SummaryExclusion
	for i, e := range cs.Excluded {
		if i == maxExcluded {
			return out, len(cs.Excluded) - maxExcluded
		}
		out = append(out, SummaryExclusion{Ref: e.PR.String(), Reason: string(e.Reason)})
	}
	return out, 0
}

// SummaryMember is one member PR row.
type SummaryMember struct {
	Ref     string
	URL     string
	Sibling string
	SHA     string
	Base    string
	Fork    bool
}

// RenderSummary renders the summary comment body, marker first.
func RenderSummary(s Summary) (string, error) {
	s.Marker = SummaryMarker
	var b bytes.Buffer
	if err := summaryTemplate.Execute(&b, s); err != nil {
		return "", fmt.Errorf("render summary for %s: %w", s.Key, err)
	}
	return b.String(), nil
}

func summaryMembers(cs *changeset.Changeset) []SummaryMember {
	if cs == nil {
		return nil
	}
	out := make([]SummaryMember, 0, len(cs.Members))
	for _, m := range cs.Members {
		out = append(out, SummaryMember{
			Ref: m.PR.Ref(), URL: m.PR.URL, Sibling: m.Sibling,
			SHA: m.PR.HeadSHA, Base: m.PR.BaseRef, Fork: m.PR.Fork,
		})
	}
	return out
}

func resultIcon(r lifecycle.Result) string {
	if !r.Valid() {
		return lifecycle.Show(lifecycle.Queued, "").Icon
	}
	return lifecycle.Show(lifecycle.Done, r).Icon
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
