package webhook

import (
	"embed"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
)

//go:embed pages/*.html.tmpl
var pageFiles embed.FS

var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"ms":    func(ms int64) string { return roundDuration(time.Duration(ms) * time.Millisecond) },
	"short": text.ShortSHA,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).ParseFS(pageFiles, "pages/*.html.tmpl"))

// pageCSP allows the pages' own inline style and nothing else: no
// script, no image, no frame, no form, whatever a PR title or a log
// holds. A refresh while a run is live is a meta element, which needs
// no script.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// liveRefresh is how often a page of a queued or running run reloads.
const liveRefresh = 5

// runView is a run as its page and the run list show it.
type runView struct {
	*store.Run
	Members []changeset.Member
	Result  *ci.Result
	// WorkflowURL is the GitHub Actions run that builds (or built) it,
	// with the executor actions; Attempt is which dispatch that is.
	WorkflowURL string
	Attempt     int
	// Live: queued or running; the page reloads every Refresh seconds.
	Live    bool
	Refresh int
	// Duration is how long it ran (or has been running), "" before it
	// starts; Age says how long ago it finished (or was queued).
	Duration string
	Age      string
	Failed   *failedStep
	Notes    []string // what could not be shown, and why
	// Tests counts the tests the steps' JUnit reports list, "" for none;
	// FailedTests are every failing test the run kept, with its output,
	// and MoreFailedTests those it only counted.
	Tests           string
	FailedTests     []ci.FailedTest
	MoreFailedTests int
}

// failedStep is the step a failed run stopped at, for the top of its page.
type failedStep struct {
	ci.StepResult
	Exit string // "exit status 1", "signal: killed", or ""
}

// exitNote is the runner's last line of a failed step's log.
var exitNote = regexp.MustCompile(`^\[(exit status \d+|signal: [a-z0-9 ]+)\]$`)

// exitOf reads how a failed step's command ended from the note the runner
// writes last in its log; the command itself can print nothing after it.
func exitOf(s *ci.StepResult) string {
	if s.Result != ci.Failure {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s.LogTail, "\n"), "\n")
	if m := exitNote.FindStringSubmatch(lines[len(lines)-1]); m != nil {
		return m[1]
	}
	return ""
}

func newRunView(r *store.Run, now time.Time) runView {
	v := runView{Run: r, Result: r.Result, Live: r.State.Live(), Refresh: liveRefresh}
	if r.Changeset != nil {
		v.Members = r.Changeset.Members
	}
	if r.RecordError != nil {
		v.Notes = append(v.Notes, r.RecordError.Error())
	}
	switch {
	case r.Result != nil && r.Result.DurationMS > 0:
		v.Duration = roundDuration(time.Duration(r.Result.DurationMS) * time.Millisecond)
	case !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() && r.FinishedAt.After(r.StartedAt):
		v.Duration = roundDuration(r.FinishedAt.Sub(r.StartedAt))
	case r.State == lifecycle.Building && !r.StartedAt.IsZero():
		v.Duration = roundDuration(now.Sub(r.StartedAt)) + " so far"
	}
	since := r.CreatedAt
	if !r.FinishedAt.IsZero() {
		since = r.FinishedAt
	}
	if !since.IsZero() {
		v.Age = age(now.Sub(since))
	}
	if r.Result != nil {
		if f := r.Result.FirstFailure(); f != nil {
			v.Failed = &failedStep{StepResult: *f, Exit: exitOf(f)}
		}
		if total, per := r.Result.Tests(); len(per) > 0 {
			v.Tests = total.Words()
		}
		v.FailedTests, v.MoreFailedTests = r.Result.FailedTests()
	}
	return v
}

// roundDuration prints a duration to the millisecond under a second, to
// a tenth of a second under a minute, and to the second past it.
func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// age says how long ago, in the largest whole unit.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
