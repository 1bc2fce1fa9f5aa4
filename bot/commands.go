package bot

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/mdescape"
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
	verbMerge  = "merge"
	verbRevert = "revert"
)

// command is one command line read from a comment.
type command struct {
	Verb string
	Args []string // positional arguments (refs for link and unlink)
	Line string   // the line as written, for replies
	// DryRun: merge --dry-run, the preflight alone.
	DryRun bool
	// All: test --all, every sibling's tests and not only the affected.
	All bool
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
	case verbTest, verbRetest:
		fs.BoolVar(&c.All, "all", false, "every sibling's tests")
	case verbStatus, verbCancel, verbHelp, verbLink, verbUnlink, verbRevert:
	case verbMerge:
		fs.BoolVar(&c.DryRun, "dry-run", false, "check only")
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
	c := func(s string) string { return mdescape.Cell(mdescape.Code(word + " " + s)) }
	fmt.Fprintf(&b, "Commands (one per line, at the start of a line, in a new comment on an open pull request):\n\n")
	fmt.Fprintf(&b, "| command | what it does | who may run it |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| %s | build and test this PR's changeset now; approves the heads of authors who are not trusted that the bot had seen by the comment's time | write permission |\n", c("test"))
	fmt.Fprintf(&b, "| %s | the same, with every sibling's own tests, not only those of the siblings the change affects | write permission |\n", c("test --all"))
	fmt.Fprintf(&b, "| %s | the same as test | write permission |\n", c("retest"))
	fmt.Fprintf(&b, "| %s | show the state of the latest run | a trusted association or write permission |\n", c("status"))
	fmt.Fprintf(&b, "| %s | cancel the queued or running run | write permission |\n", c("cancel"))
	fmt.Fprintf(&b, "| %s | land the changeset as one: check every PR, then merge them in build order at the tested heads | write permission on every member's repository |\n", c("merge"))
	fmt.Fprintf(&b, "| %s | answer with the landing checklist; merge nothing | write permission on every member's repository |\n", c("merge --dry-run"))
	fmt.Fprintf(&b, "| %s | after a landing stopped halfway: open one PR per merged member that reverts it, linked as one changeset | write permission on each of those repositories |\n", c("revert"))
	fmt.Fprintf(&b, "| %s | add `Depends-On:` lines for other PRs (`owner/repo#N`, `repo#N` or a PR URL) | write permission |\n", c("link <ref>..."))
	fmt.Fprintf(&b, "| %s | remove those `Depends-On:` lines | write permission |\n", c("unlink <ref>..."))
	fmt.Fprintf(&b, "| %s | show this help | a trusted association or write permission |\n", c("help"))
	return b.String()
}
