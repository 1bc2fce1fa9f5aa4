package main

import (
	"context"
	"fmt"
	"io"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/demo"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("demo", "demo [--keep] [--verbose]\n\nThe whole loop on this machine, offline: sibling repositories on the built-in\nGitHub emulator, linked PRs, signed webhooks into the real service, the\nworkspace built and tested, and what a maintainer sees on each PR.", stderr)
	keep := fs.Bool("keep", false, "leave the service and emulator running at the end, so the run pages can be opened; Ctrl-C stops them")
	verbose := fs.BoolP("verbose", "v", false, "show the service's log on stderr")
	if code, ok := cli.ParseNoArgs(fs, args); !ok {
		return code
	}
	level := "warn"
	if *verbose {
		level = "info"
	}
	log, err := cli.NewLogger(stderr, "text", level)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	if err := demo.Run(ctx, demo.Options{Out: stdout, Log: log, Keep: *keep, UserAgent: userAgent()}); err != nil {
		fmt.Fprintf(stderr, "\ndemo failed: %s\n", err)
		return exitInfra
	}
	return exitOK
}
