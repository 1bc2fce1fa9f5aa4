package main

import (
	"context"
	"io"
	"os"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/action"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/workspace"
)

const actionSynopsis = `action [flags]

The GitHub Action's entry point. It reads the event from GITHUB_EVENT_NAME and
GITHUB_EVENT_PATH, the token from WORKSPACE_BOT_GITHUB_TOKEN (the action's
token input) or GITHUB_TOKEN, and each flag from its variable, which
action.yml sets from the action's inputs.`

func runAction(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("action", actionSynopsis, stderr)
	// The variables action.yml sets are applied to these flags after
	// parsing (cli.ApplyEnv), so --help shows the defaults.
	env := action.ReadEnv(getenv)
	logLevel := "warn"
	cli.Checked(fs, &env.Config, "config", workspace.DefaultFileName, "string", "wrknv.toml: a path, or owner/repo:path on GitHub (env WORKSPACE_BOT_CONFIG)", cli.ConfigPath)
	cli.Checked(fs, &env.Command, "command", action.CommandAuto, "string", "auto, test or validate (env WORKSPACE_BOT_COMMAND)", action.CheckCommand)
	cli.Checked(fs, &env.DataDir, "data-dir", "", "string", "mirrors and build roots; default a temporary directory (env WORKSPACE_BOT_DATA_DIR)", cli.Dir)
	cli.Checked(fs, &logLevel, "log-level", logLevel, "string", "debug, info, warn or error (env WORKSPACE_BOT_LOG_LEVEL)", cli.LogLevel)
	if code, ok := cli.ParseNoArgs(fs, args); !ok {
		return code
	}
	if err := cli.ApplyEnv(fs, getenv); err != nil {
		return action.Refuse(action.Options{Env: env, Stdout: stdout, Stderr: stderr}, err)
	}
	// main took the credentials out of the process (secretenv); this
	// clears Go's copy too, for a child started without its own
	// environment.
	for _, k := range append(action.TokenVars, credentials.Vars...) {
		os.Unsetenv(k)
	}
	return action.Run(ctx, action.Options{
		Env: env, Stdout: stdout, Stderr: stderr, LogLevel: logLevel,
		UserAgent: userAgent(), Secrets: secrets.Values(), Progress: ci.NewProgress(stdout, false),
	})
}
