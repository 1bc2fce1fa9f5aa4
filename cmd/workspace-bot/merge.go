package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/release"
)

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("merge", "merge REF [--dry-run] [--config wrknv.toml] [--data-dir DIR] [-v]: test REF's changeset as the bot would, and land it as one if it passes", stderr)
	o := &testOptions{GitHub: githubFlags(), Merge: true}
	fs.BoolVar(&o.DryRun, "dry-run", false, "check every PR and say what stops it from landing; build and merge nothing")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append([]string{"--pr", args[0]}, args[1:]...)
	} else if !slices.Contains(args, "--help") && !slices.Contains(args, "-h") {
		fmt.Fprintln(stderr, "error: name the PR to land first: workspace-bot merge owner/repo#N [flags]")
		return exitUsage
	}
	return testOrMerge(ctx, fs, o, args, stdout, stderr)
}

// landChangeset lands plan's changeset with what res built as the gate
// (nil with --dry-run: checks only). GitHub enforces what the token may
// merge.
func landChangeset(ctx context.Context, o *testOptions, plan *bot.Plan, res *ci.Result, stdout, stderr io.Writer) int {
	client, code, err := o.GitHub.Client(ctx, o.DataDir, plan.Changeset.Members[0].PR.Repo)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return code
	}
	fmt.Fprintf(stdout, "\nlanding %s:\n", plan.Changeset.Key)
	rels := func(out *land.Outcome) []land.Release {
		return bot.Releases(plan.Config, plan.Changeset, out, release.Released, release.Notes)
	}
	ok, say, err := land.Foreground(ctx, client, bot.LandMembers(plan.Config, plan.Changeset, res), o.DryRun, rels, stdout)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitInfra
	case !ok:
		fmt.Fprintln(stderr, say)
		return exitFailed
	}
	fmt.Fprintln(stdout, say)
	return exitOK
}
