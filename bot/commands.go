package bot

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/mdlines"
)

// Verbs a comment may use after the command word.
const (
	verbTest   = "test"
	verbRetest = "retest"
	verbStatus = "status"
	verbCancel = "cancel"
	verbLink   = "link"
	verbUnlink = "unlink"
	verbHelp   = "help"
)

// command is one command line read from a comment.
type command struct {
	Verb string
	Args []string // positional arguments (refs for link and unlink)
	Line string   // the line as written, for replies
	// Err is set when the line named the command word but could not be
	// understood; the reply is the help text.
	Err error
}

// errUsage marks a command line that cannot be understood.
var errUsage = errors.New("not a command this bot knows")

// parseCommands reads the commands of a comment: the lines that count
// (mdlines: outside code fences and HTML comments, not quoted) and start
// with word (such as "/workspace") at their first column. A command shown
// in a code block, kept in a comment or quoted from someone else never
// runs, and quoting a command never runs it again. An indented line is
// not a command either (four spaces make a code block). A word followed
// by other letters ("/workspaces") is not a command.
func parseCommands(body, word string) []command {
	if word == "" {
		return nil
	}
	var out []command
	for _, ln := range mdlines.Counting(body) {
		line := strings.TrimRight(ln.Visible, " \t")
		rest, ok := strings.CutPrefix(line, word)
		if !ok {
			continue
		}
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			continue
		}
		out = append(out, parseLine(line, rest))
	}
	return out
}

func parseLine(line, rest string) command {
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return command{Verb: verbHelp, Line: line}
	}
	c := command{Verb: strings.ToLower(fields[0]), Line: line}
	fs := pflag.NewFlagSet(c.Verb, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	switch c.Verb {
	case verbTest, verbRetest, verbStatus, verbCancel, verbHelp, verbLink, verbUnlink:
	default:
		c.Err = fmt.Errorf("%q: %w", c.Verb, errUsage)
		return c
	}
	if err := fs.Parse(fields[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return command{Verb: verbHelp, Line: line}
		}
		c.Err = fmt.Errorf("%s: %v: %w", c.Verb, err, errUsage)
		return c
	}
	c.Args = fs.Args()
	switch c.Verb {
	case verbLink, verbUnlink:
		if len(c.Args) == 0 {
			c.Err = fmt.Errorf("%s needs at least one PR reference: %w", c.Verb, errUsage)
		}
	default:
		if len(c.Args) > 0 {
			c.Err = fmt.Errorf("%s takes no arguments, got %q: %w", c.Verb, strings.Join(c.Args, " "), errUsage)
		}
	}
	return c
}

// helpText is the reply to "help", an unknown verb or a bad argument.
func helpText(word string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commands (one per line, at the start of a line, in a new comment on an open pull request):\n\n")
	fmt.Fprintf(&b, "| command | what it does |\n|---|---|\n")
	fmt.Fprintf(&b, "| `%s test` | build and test this PR's changeset now |\n", word)
	fmt.Fprintf(&b, "| `%s retest` | the same as test |\n", word)
	fmt.Fprintf(&b, "| `%s status` | show the state of the latest run |\n", word)
	fmt.Fprintf(&b, "| `%s cancel` | cancel the queued or running run |\n", word)
	fmt.Fprintf(&b, "| `%s link <ref>...` | add `Depends-On:` lines for other PRs (`owner/repo#N`, `repo#N` or a PR URL) |\n", word)
	fmt.Fprintf(&b, "| `%s unlink <ref>...` | remove those `Depends-On:` lines |\n", word)
	fmt.Fprintf(&b, "| `%s help` | show this help |\n", word)
	return b.String()
}
