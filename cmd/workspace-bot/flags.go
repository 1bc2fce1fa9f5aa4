package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/workspace"
)

// envOr is the first of the variables keys that is set, or def: for the
// runner's GITHUB_* variables, which are not workspace-bot's (cli.Env).
func envOr(def string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return def
}

// defaultDataDir is --data-dir's default; WORKSPACE_BOT_DATA_DIR sets
// it (cli.ApplyEnv).
func defaultDataDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "workspace-bot")
	}
	return filepath.Join(os.TempDir(), "workspace-bot")
}

// parseAndLoad parses a command's flags, refuses positional arguments
// (hint says what to use instead), validates the options and loads the
// config named by *config. A nil config comes with the exit code.
func parseAndLoad(fs *pflag.FlagSet, args []string, o interface{ Validate() error }, config *string, hint string, stderr io.Writer) (*workspace.Config, int) {
	if code, ok := cli.ParseEnv(fs, args, getenv); !ok {
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
