// Package cli is what every workspace-bot command shares at its edge:
// flag sets that name a mistyped flag with a likely fix and show the
// command's usage, "did you mean" for any word, and the logger.
package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/suggest"
)

// NewFlagSet makes a FlagSet that reports errors instead of exiting. Its
// usage goes to stderr: the synopsis, then the flags, if it has any.
func NewFlagSet(name, synopsis string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: workspace-bot %s\n", synopsis)
		if fs.HasAvailableFlags() {
			fmt.Fprintf(stderr, "\nflags:\n")
			printFlags(stderr, fs)
		}
	}
	fs.SortFlags = false
	return fs
}

// printFlags lists the flags one per line: name, value placeholder, what it
// does and a non-empty default. pflag's own listing shows booleans as
// --json[=true|false], which nobody types.
func printFlags(w io.Writer, fs *pflag.FlagSet) {
	type row struct{ name, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "    --" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", --" + f.Name
		}
		placeholder, usage := pflag.UnquoteUsage(f)
		switch placeholder {
		case "stringArray", "strings":
			placeholder = "string"
		case "int":
			placeholder = "n"
		}
		if f.Value.Type() != "bool" && placeholder != "" {
			name += " " + placeholder
		}
		switch f.Value.Type() {
		case "bool", "stringArray":
		default:
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		rows = append(rows, row{name, usage})
		width = max(width, len(name))
	})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.name, r.usage)
	}
}

// Parse parses args; ok is false with the exit code when the command
// should stop: help was asked for (0), or the flags are wrong (2, after
// naming the problem, a likely fix and the usage on stderr).
func Parse(fs *pflag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, true
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitcode.OK, false
	}
	w := fs.Output()
	// pflag's message quotes the value: not a secret's, even one typed on
	// the command line.
	// strconv's words become what the flag takes, as from the environment.
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		f := bad.GetFlag()
		problem := want(f.Value, errors.Unwrap(bad))
		if secretFlag(f.Name) {
			err = fmt.Errorf("--%s: %w", f.Name, problem)
		} else {
			// Credentials in a URL are not shown either.
			err = fmt.Errorf("--%s %q: %w", f.Name, ghclient.RedactURL(bad.GetValue()), problem)
		}
	}
	fmt.Fprintf(w, "error: %s%s\n\n", err, flagSuggestion(fs, err))
	fs.Usage()
	return exitcode.Usage, false
}

// ParseNoArgs parses args for a command that takes no positional
// arguments, refusing any: a stray word must not be silently ignored.
func ParseNoArgs(fs *pflag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := Parse(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "error: unexpected argument %q: workspace-bot %s takes no arguments\n\n", fs.Arg(0), fs.Name())
		fs.Usage()
		return exitcode.Usage, false
	}
	return 0, true
}

// Suggest is " (did you mean x?)" for the candidate a small typo away from
// word, or "".
func Suggest(word string, candidates []string) string {
	if m := suggest.Closest(word, candidates); m != "" {
		return " (did you mean " + m + "?)"
	}
	return ""
}

// unknownFlagRe picks the flag out of pflag's "unknown flag: --jsn".
var unknownFlagRe = regexp.MustCompile(`^unknown flag: --([^=\s]+)`)

// flagSuggestion is " (did you mean --json?)" when an unknown flag is a
// small typo away from a known one, else "".
func flagSuggestion(fs *pflag.FlagSet, err error) string {
	m := unknownFlagRe.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, "--"+f.Name)
		}
	})
	return Suggest("--"+m[1], names)
}

// NewLogger logs to stderr: text for a terminal, JSON for a service.
func NewLogger(stderr io.Writer, format, level string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(stderr)
	switch format {
	case "", "text":
		log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: false, FullTimestamp: true})
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, fmt.Errorf("--log-format %q: use json or text", format)
	}
	if level == "" {
		level = "info"
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	log.SetLevel(lv)
	return log, nil
}
