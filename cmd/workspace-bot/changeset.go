package main

import (
	"context"
	"fmt"
	"io"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/workspace"
)

func runChangeset(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("changeset", "changeset REF [--config wrknv.toml] [--json] [--github-api-url URL] [--github-token T]\n\nREF is https://github.com/o/r/pull/N, o/r#N or r#N", stderr)
	var config, dataDir string
	cli.Checked(fs, &config, "config", workspace.DefaultFileName, "string", "path to wrknv.toml (env WORKSPACE_BOT_CONFIG)", cli.ConfigPath)
	cli.Checked(fs, &dataDir, "data-dir", defaultDataDir(), "string", "where the GitHub HTTP cache lives (env WORKSPACE_BOT_DATA_DIR)", cli.Dir)
	asJSON := fs.Bool("json", false, "print the changeset as JSON on stdout")
	ghf := githubFlags()
	ghf.Register(fs)
	if code, ok := cli.ParseEnv(fs, args, getenv); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "error: give exactly one pull request, such as o/r#12")
		fs.Usage()
		return exitUsage
	}
	cfg, code := loadConfig(config, stderr)
	if cfg == nil {
		return code
	}
	plan, code := cli.ResolvePlan(ctx, &ghf, cfg, dataDir, []string{fs.Arg(0)}, stderr)
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
