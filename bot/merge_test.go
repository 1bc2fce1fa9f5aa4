package bot

import (
	"regexp"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/workspace"
)

// What GitHub hands over (branch names, error messages, paths) reaches the
// checklist and the landing report as text: it cannot mention a team,
// break a table row or inject HTML.
func TestLandingRepliesEscapeWhatComesFromOutside(t *testing.T) {
	cfg := &ConfigFile{Config: &workspace.Config{}}
	hostile := "x|y @provide-io/security-team <img src=x onerror=alert(1)> `code`"
	m := land.Member{Sibling: "core", Repo: "o/core", Number: 1, Head: "0123456789abcdef", BaseRef: hostile}
	cs := &changeset.Changeset{Key: "o/core#1"}
	cl := &land.Checklist{
		Problems: []land.Problem{{What: hostile, Fix: hostile}},
		Rows:     []land.Row{{Member: m, Method: "merge", Problems: []land.Problem{{What: hostile, Fix: hostile}}}},
	}
	out := &land.Outcome{
		Landed: []land.Landed{{Row: cl.Rows[0], MergeSHA: "fedcba", Proof: land.Proof{Checked: true, Paths: []string{hostile}}}},
		Halted: &land.Halt{Row: cl.Rows[0], Why: hostile},
		Left:   cl.Rows,
	}
	for name, text := range map[string]string{
		"checklist": checklistText(cfg, commentEvent{user: "alice"}, cs, nil, cl, true),
		"report":    landingText(cfg, cs, out, []land.Tagged{{Release: land.Release{Member: m, Tag: hostile, SHA: "fedcba"}}}),
	} {
		for _, line := range strings.Split(text, "\n") {
			// Inside a code span both are shown as written.
			if code := withoutCode(line); strings.Contains(code, "@provide-io/security-team") || rawHTML.MatchString(code) {
				t.Errorf("%s lets through a mention or HTML: %q", name, line)
			}
			if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| #") && !strings.HasPrefix(line, "| PR") && !strings.HasPrefix(line, "| sibling") {
				if cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); cells != strings.Count(tableHeader(text, line), "|") {
					t.Errorf("%s: a row's cells were split: %q", name, line)
				}
			}
		}
	}
}

// rawHTML is a tag not escaped with a backslash.
var rawHTML = regexp.MustCompile(`(^|[^\\])<img`)

// tableHeader is the header line of the table row belongs to.
func tableHeader(text, row string) string {
	header := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| #") || strings.HasPrefix(line, "| PR") || strings.HasPrefix(line, "| sibling") {
			header = line
		}
		if line == row {
			return header
		}
	}
	return header
}
