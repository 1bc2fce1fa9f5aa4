package ci

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// NewProgress prints one line per finished fetch and checkout, per
// started and finished step and per heartbeat of a long step, so a long
// run shows where it is. With streamed, steps' output goes to w already,
// between header and footer lines of its own, so a step's start and end
// are not printed a second time.
func NewProgress(w io.Writer, streamed bool) func(Event) {
	return func(e Event) {
		who := e.Sibling
		if who == "" {
			who = "workspace"
		}
		secs := fmt.Sprintf("%.1fs", e.Duration.Seconds())
		switch {
		case e.Kind == EventFetch && e.Done:
			note := ""
			if e.Detail != "" {
				note = " (" + e.Detail + ")"
			}
			if e.Result != Success {
				note = " " + string(e.Result)
			}
			fmt.Fprintf(w, "fetch %s ...%s %s\n", who, note, secs)
		case e.Kind == EventCheckout && e.Done:
			fmt.Fprintf(w, "checkout %s %s ... %s %s\n", who, e.Detail, resultWord(e.Result), secs)
		case e.Kind == EventWarning:
			fmt.Fprintf(w, "warning: %s\n", e.Detail)
		case e.Kind == EventHeartbeat:
			if !streamed { // the stream has its own heartbeat lines
				fmt.Fprintf(w, "%s %s ... still running, %s\n", e.Name, who, e.Duration)
			}
		case e.Kind == EventStep && streamed:
		case e.Kind == EventStep && !e.Done:
			fmt.Fprintf(w, "%s %s: %s\n", e.Name, who, e.Command)
		case e.Kind == EventStep:
			fmt.Fprintf(w, "%s %s ... %s %s\n", e.Name, who, resultWord(e.Result), secs)
		}
	}
}

func resultWord(r lifecycle.Result) string {
	if r == Success {
		return "ok"
	}
	return string(r)
}

// WriteReport prints the result of a run of workspace name for a person: what was built, a table of
// steps, and the log tail of the step that failed.
func WriteReport(w io.Writer, name string, res *Result) {
	if res.TimedOut {
		fmt.Fprintf(w, "%s: %s (%s)\n", name, res.Error, res.Changeset)
	} else {
		fmt.Fprintf(w, "%s: %s in %s (%s)\n", name, strings.ToUpper(string(res.Result)), res.Duration.Round(time.Millisecond), res.Changeset)
		if res.Error != "" {
			fmt.Fprintf(w, "  %s\n", res.Error)
		}
	}
	if res.FetchMS > 0 || res.CheckoutMS > 0 {
		line := fmt.Sprintf("  fetch %.1fs, checkout %.1fs", float64(res.FetchMS)/1000, float64(res.CheckoutMS)/1000)
		if res.Root != "" {
			line += "; build root " + res.Root
		}
		if res.Cache != "" {
			line += ", cache " + res.Cache
		}
		fmt.Fprintln(w, line)
	}
	if len(res.Siblings) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SIBLING\tREF\tSHA\tREPO")
		for _, s := range res.Siblings {
			sha := text.ShortSHA(s.SHA)
			if sha == "" {
				sha = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Ref, sha, s.Repo)
		}
		tw.Flush()
	}
	if len(res.Steps) > 0 {
		// Two steps of one name and sibling are told apart by index.
		many := map[string]int{}
		for _, s := range res.Steps {
			many[s.Name+"\x00"+s.Sibling]++
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tSIBLING\tRESULT\tTIME\tCOMMAND")
		for _, s := range res.Steps {
			who := s.Sibling
			if who == "" {
				who = "-"
			}
			name := s.Name
			if many[s.Name+"\x00"+s.Sibling] > 1 {
				name = fmt.Sprintf("%s #%d", s.Name, s.Index)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%s\n", name, who, s.Shown(), float64(s.DurationMS)/1000, oneLine(s.Command))
		}
		tw.Flush()
	}
	if na := res.NotAffected(); len(na) > 0 {
		fmt.Fprintf(w, "\nnot run: the tests of %s (%s); test --all runs them\n", strings.Join(na, ", "), workspace.NotAffected)
	}
	for _, s := range res.Steps {
		if s.Result == Success || s.Result == Skipped {
			continue
		}
		fmt.Fprintf(w, "\n%s %s; last lines of its log:\n", s.Title(), s.Result)
		for _, l := range strings.Split(s.LogTail, "\n") {
			fmt.Fprintf(w, "  | %s\n", l)
		}
	}
	if res.BuildRoot != "" {
		fmt.Fprintf(w, "\nbuild root: %s\n", res.BuildRoot)
	}
	// Last, where a terminal leaves the eye.
	writeTests(w, res)
}

// maxPrintedTests bounds the failing tests a report prints; --json has
// every one the run kept.
const maxPrintedTests = 50

// writeTests prints the test counts and, last, the failing tests: one
// line each, with control characters (which a test's name or message can
// use to rewrite the terminal) shown as spaces.
func writeTests(w io.Writer, res *Result) {
	total, per := res.Tests()
	if len(per) == 0 {
		return
	}
	fmt.Fprintf(w, "\ntests: %s\n", total.Words())
	if len(per) > 1 {
		for _, p := range per {
			who := p.Sibling
			if who == "" {
				who = "workspace"
			}
			fmt.Fprintf(w, "  %s: %s\n", who, p.Words())
		}
	}
	failed, more := res.FailedTests()
	if len(failed) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfailing tests:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, f := range failed {
		if i == maxPrintedTests {
			more += len(failed) - maxPrintedTests
			break
		}
		who := f.Sibling
		if who == "" {
			who = "workspace"
		}
		where := f.File
		if f.Path != "" {
			where = f.Checkout + ": " + f.Path
		}
		if where != "" && f.Line > 0 {
			where += fmt.Sprintf(":%d", f.Line)
		}
		line := "  " + strings.Join([]string{printable(who, 40), printable(f.ID, 120), printable(where, 120), printable(firstLine(f.Message), 160)}, "\t")
		fmt.Fprintln(tw, strings.TrimRight(line, "\t"))
	}
	tw.Flush()
	if more > 0 {
		fmt.Fprintf(w, "  and %d more (--json lists the %d the run kept)\n", more, len(failed))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// printable is s on one line of at most n characters, every control
// character a space.
func printable(s string, n int) string {
	r := []rune(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s))
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
