package action

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Results the action reports in its "result" output: ci's four, and
// skipped when the event asked for nothing to be built (a comment without
// a command, an untrusted author, a fork waiting for approval).
const Skipped = lifecycle.Skipped

// Groups prints each step of res as a collapsible group holding its log,
// inside stop-commands markers (the log is the code under test's output),
// and turns the step that failed, or a run that could not finish, into an
// error annotation titled context.
func Groups(w *Workflow, context string, res *ci.Result) {
	for _, s := range res.Steps {
		log := s.Log
		if log == "" {
			log = s.LogTail
		}
		w.Group(stepTitle(s), log)
	}
	if f := res.FirstFailure(); f != nil {
		msg := stepTitle(*f)
		if tail := lastLines(f.LogTail, 20); tail != "" {
			msg += "\n" + tail
		}
		w.Error(context+": "+string(f.Result), msg)
		return
	}
	if res.Result != ci.Success {
		msg := res.Error
		if msg == "" {
			msg = "the run ended " + string(res.Result)
		}
		w.Error(context+": "+string(res.Result), msg)
	}
}

func stepTitle(s ci.StepResult) string {
	who := s.Sibling
	if who == "" {
		who = "workspace"
	}
	t := s.Name + " " + who
	if s.Command != "" {
		t += ": " + oneLine(s.Command)
	}
	return fmt.Sprintf("%s (%s, %s)", t, s.Result, (time.Duration(s.DurationMS) * time.Millisecond).Round(10*time.Millisecond))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// TipsSummary is the step summary of a build of every sibling at its
// branch tip (a push, schedule or manual run of the workspace repo): the
// siblings built, then the summary the bot would post, without members.
func TipsSummary(context, command, runURL string, res *ci.Result) (string, error) {
	var b strings.Builder
	s := bot.Summary{
		Context: context, Command: command, Result: res.Result, Headline: lifecycle.Show(lifecycle.Done, res.Result).Word + " at the branch tips",
		RunURL: runURL, Key: res.Changeset, Steps: res.Steps, Failed: res.FirstFailure(),
	}
	if res.Result != ci.Success {
		s.Problem = res.Error
	}
	s.AddTests(res, "")
	body, err := bot.RenderSummary(s)
	if err != nil {
		return "", err
	}
	// The marker line is for finding PR comments; a step summary has no use for it.
	b.WriteString(strings.TrimPrefix(body, bot.SummaryMarker+"\n"))
	if len(res.Siblings) > 0 {
		b.WriteString("\n| sibling | ref | commit |\n|---|---|---|\n")
		for _, sib := range res.Siblings {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdescape.Cell(mdescape.Text(sib.Name)), orDash(mdescape.Cell(mdescape.Text(sib.Ref))),
				mdescape.Cell(mdescape.Code(text.ShortSHA(sib.SHA))))
		}
	}
	return b.String(), nil
}

// StepSummary turns the bot's summary comment into the step summary.
func StepSummary(comment string) string {
	return strings.TrimPrefix(strings.TrimLeft(comment, "\n"), bot.SummaryMarker+"\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Outputs writes the step's outputs: changeset as compact JSON, and result.
func Outputs(env Env, changeset any, result lifecycle.Result) error {
	data, err := json.Marshal(changeset)
	if err != nil {
		return fmt.Errorf("encode the changeset output: %w", err)
	}
	if env.OutputFile == "" {
		return nil
	}
	if err := SetOutput(env.OutputFile, "changeset", string(data)); err != nil {
		return err
	}
	return SetOutput(env.OutputFile, "result", lifecycle.Show(lifecycle.Done, result).Output)
}
