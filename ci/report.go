package ci

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

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
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
