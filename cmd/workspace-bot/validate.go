package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/workspace"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("validate", "validate [FILE | --config wrknv.toml] [--json] [-v]", stderr)
	var config string
	cli.Checked(fs, &config, "config", workspace.DefaultFileName, "string", "path to wrknv.toml, or its directory (env WORKSPACE_BOT_CONFIG)", cli.ConfigPath)
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	verbose := fs.BoolP("verbose", "v", false, "also list wrknv's own sections and where each step comes from")
	if code, ok := cli.ParseEnv(fs, args, getenv); !ok {
		return code
	}
	switch {
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "error: two files given (%s); validate checks one\n\n", strings.Join(fs.Args(), ", "))
		fs.Usage()
		return exitUsage
	case fs.NArg() == 1 && fs.Changed("config"):
		fmt.Fprintf(stderr, "error: two files given (--config %s and %s); validate checks one\n\n", config, fs.Arg(0))
		fs.Usage()
		return exitUsage
	case fs.NArg() == 1:
		config = fs.Arg(0)
	}
	cfg, warnings, err := workspace.Load(config)
	if err == nil {
		// The siblings checked out beside the workspace, if they are.
		warnings = append(warnings, cfg.GraphWarnings(cfg.SiblingDirs())...)
	}
	rep := workspace.NewReport(config, cfg, warnings, err)
	code := exitOK
	if err != nil {
		code = exitUsage
	}
	if *asJSON {
		if c := writeJSON(stdout, rep); c != exitOK {
			return c
		}
		return code
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Text)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "error: %s\n", e.Text)
	}
	if err == nil {
		rep.WriteText(stdout, *verbose)
	}
	return code
}

// loadConfig loads and validates a config (a directory means its
// wrknv.toml), printing warnings and errors to stderr. It returns nil and
// the exit code when the config is unusable.
func loadConfig(file string, stderr io.Writer) (*workspace.Config, int) {
	cfg, warnings, err := workspace.Load(file)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Error())
	}
	var ve *workspace.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			fmt.Fprintf(stderr, "error: %s\n", p.Error())
		}
		return nil, exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, exitUsage
	}
	return cfg, exitOK
}
