package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/workspace"
)

func runChangeset(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("changeset", "changeset REF [--config wrknv.toml] [--json] [--github-api-url URL] [--github-token T]\n\nREF is https://github.com/o/r/pull/N, o/r#N or r#N", stderr)
	config := fs.String("config", envOr(workspace.DefaultFileName, "WORKSPACE_BOT_CONFIG"), "path to wrknv.toml")
	dataDir := fs.String("data-dir", defaultDataDir(), "where the GitHub HTTP cache lives (env WORKSPACE_BOT_DATA_DIR)")
	asJSON := fs.Bool("json", false, "print the changeset as JSON on stdout")
	ghf := githubFlags()
	ghf.Register(fs)
	if code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "error: give exactly one pull request, such as o/r#12")
		fs.Usage()
		return exitUsage
	}
	cfg, code := loadConfig(*config, stderr)
	if cfg == nil {
		return code
	}
	plan, code := resolvePlan(ctx, &ghf, cfg, *dataDir, []string{fs.Arg(0)}, stderr)
	if plan == nil {
		return code
	}
	if *asJSON {
		return writeJSON(stdout, plan.Changeset.Output())
	}
	if err := plan.Changeset.WriteTable(stdout, cfg.Workspace.Name); err != nil {
		return exitInfra
	}
	return exitOK
}

// resolvePlan resolves the changeset of each ref through the bot's core
// and merges them into one plan (they must not pin one sibling to two
// PRs). It prints errors and returns nil with the exit code on failure: 2
// for a resolution or usage error, 3 when GitHub could not be reached or
// answered with an error.
func resolvePlan(ctx context.Context, ghf *cli.GitHubFlags, cfg *workspace.Config, dataDir string, refs []string, stderr io.Writer) (*bot.Plan, int) {
	var starts []changeset.Ref
	for _, s := range refs {
		ref, err := changeset.ParseRef(s, cfg.Owner())
		if err != nil {
			fmt.Fprintf(stderr, "error: %s\n", err)
			return nil, exitUsage
		}
		starts = append(starts, ref)
	}
	client, code, err := ghf.Client(ctx, dataDir, starts[0].Repo)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, code
	}
	file := &bot.ConfigFile{Config: cfg, Name: cfg.File}
	b, err := bot.New(bot.Options{GitHub: client, Config: func(context.Context) (*bot.ConfigFile, error) { return file, nil }})
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, exitInfra
	}
	plan, err := b.Resolve(ctx, starts...)
	var re *bot.ResolveError
	switch {
	case errors.As(err, &re):
		return nil, reportResolveError(stderr, re.Start, re.Err)
	case err != nil:
		fmt.Fprintf(stderr, "error: --pr: %s\n", err)
		return nil, exitUsage
	}
	return plan, exitOK
}

func reportResolveError(stderr io.Writer, start changeset.Ref, err error) int {
	var ce *changeset.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "error: the changeset of %s cannot be built:\n", start)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "  - %s\n", line)
		}
		return exitUsage
	}
	var rl *ghclient.RateLimitError
	if errors.As(err, &rl) {
		fmt.Fprintf(stderr, "error: resolving %s: %s\n", start, rl)
		return exitInfra
	}
	fmt.Fprintf(stderr, "error: resolving %s: %s\n", start, err)
	return exitInfra
}
