package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/provide-io/workspace-bot/workspace"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// newFlagSet makes a FlagSet that reports errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: workspace-bot %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	fs.SortFlags = false
	return fs
}

// parseFlags parses args; ok is false with the exit code when the command
// should stop (help asked for, or a usage error).
func parseFlags(fs *pflag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// envOr returns the first non-empty environment variable, or def.
func envOr(def string, keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}

func defaultDataDir() string {
	if d := os.Getenv("WORKSPACE_BOT_DATA_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "workspace-bot")
	}
	return filepath.Join(os.TempDir(), "workspace-bot")
}

// newLogger logs to stderr: text for a terminal, JSON for a service.
func newLogger(stderr io.Writer, format, level string) (*logrus.Logger, error) {
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

// parseAndLoad parses a command's flags, refuses positional arguments
// (hint says what to use instead), validates the options and loads the
// config named by *config. A nil config comes with the exit code.
func parseAndLoad(fs *pflag.FlagSet, args []string, o interface{ Validate() error }, config *string, hint string, stderr io.Writer) (*workspace.Config, int) {
	if code, ok := parseFlags(fs, args); !ok {
		return nil, code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected argument %q%s\n", fs.Arg(0), hint)
		return nil, exitUsage
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, exitUsage
	}
	return loadConfig(*config, stderr)
}
