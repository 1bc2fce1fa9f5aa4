package bot

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// Verbs a comment may use after the command word.
const (
	VerbTest   = "test"
	VerbRetest = "retest"
	VerbStatus = "status"
	VerbCancel = "cancel"
	VerbLink   = "link"
	VerbUnlink = "unlink"
	VerbHelp   = "help"
)

// Command is one command line read from a comment.
type Command struct {
	Verb string
	Args []string // positional arguments (refs for link and unlink)
	Line string   // the line as written, for replies
	// Err is set when the line named the command word but could not be
	// understood; the reply is the help text.
	Err error
}

// ErrUsage marks a command line that cannot be understood.
var ErrUsage = errors.New("not a command this bot knows")

// ParseCommands reads every line of body that starts with word (such as
// "/workspace"). Quoted lines ("> /workspace test") do not start with the
// word and are ignored, so quoting a command never runs it again. A word
// followed by other letters ("/workspaces") is not a command.
func ParseCommands(body, word string) []Command {
	if word == "" {
		return nil
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(word) + `(?:[ \t]+(.*?))?[ \t]*\r?$`)
	var out []Command
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, parseLine(strings.TrimRight(m[0], "\r"), m[1]))
	}
	return out
}

func parseLine(line, rest string) Command {
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return Command{Verb: VerbHelp, Line: line}
	}
	c := Command{Verb: strings.ToLower(fields[0]), Line: line}
	fs := pflag.NewFlagSet(c.Verb, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	switch c.Verb {
	case VerbTest, VerbRetest, VerbStatus, VerbCancel, VerbHelp, VerbLink, VerbUnlink:
	default:
		c.Err = fmt.Errorf("%q: %w", c.Verb, ErrUsage)
		return c
	}
	if err := fs.Parse(fields[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return Command{Verb: VerbHelp, Line: line}
		}
		c.Err = fmt.Errorf("%s: %v: %w", c.Verb, err, ErrUsage)
		return c
	}
	c.Args = fs.Args()
	switch c.Verb {
	case VerbLink, VerbUnlink:
		if len(c.Args) == 0 {
			c.Err = fmt.Errorf("%s needs at least one PR reference: %w", c.Verb, ErrUsage)
		}
	default:
		if len(c.Args) > 0 {
			c.Err = fmt.Errorf("%s takes no arguments, got %q: %w", c.Verb, strings.Join(c.Args, " "), ErrUsage)
		}
	}
	return c
}

// HelpText is the reply to "help", an unknown verb or a bad argument.
func HelpText(word string) string {
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
