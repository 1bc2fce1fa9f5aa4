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
	"github.com/provide-io/workspace-bot/internal/text"
)

// SummaryMarker finds the bot's summary comment on a PR, so it is edited in
// place and never posted twice, even after a restart.
const SummaryMarker = "<!-- workspace-bot:summary -->"

//go:embed summary.md.tmpl
var summaryTemplateText string

var summaryTemplate = template.Must(template.New("summary").Funcs(template.FuncMap{
	"short": text.ShortSHA,
	"icon":  resultIcon,
	"duration": func(ms int64) string {
		return (time.Duration(ms) * time.Millisecond).Round(10 * time.Millisecond).String()
	},
	"fence": fence,
	"lines": func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
	"dash":  func(s string) string { return orDash(s) },
}).Parse(summaryTemplateText))

// Summary is what the summary comment shows.
type Summary struct {
	Marker  string
	Context string // the status context, such as workspace/integration
	Command string // the command word, such as /workspace
	// State is success, failure, error, cancelled, pending or waiting.
	State    string
	Headline string
	RunURL   string
	Key      string // the changeset key
	Members  []SummaryMember
	Steps    []ci.StepResult
	// Failed is the first step that did not pass, with its log tail.
	Failed *ci.StepResult
	// Problem explains a run that could not start (a resolution error, an
	// infrastructure error) and Fix says what to do about it.
	Problem string
	Fix     string
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

func resultIcon(result string) string {
	switch result {
	case ci.Success:
		return "✅"
	case ci.Failure:
		return "❌"
	case ci.Error:
		return "⚠️"
	case ci.Cancelled:
		return "🚫"
	case ci.Skipped:
		return "⏭️"
	default:
		return "⏳"
	}
}

// fence wraps text in a code fence longer than any backtick run inside it,
// so test output cannot close the block and inject markdown.
func fence(text string) string {
	n := 3
	run := 0
	for _, r := range text {
		if r == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	return f + "\n" + strings.TrimRight(text, "\n") + "\n" + f
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
