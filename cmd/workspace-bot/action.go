package main

import (
	"context"
	"io"
	"os"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/action"
	"github.com/provide-io/workspace-bot/internal/cli"
)

func runAction(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("action", "action\n\nThe GitHub Action's entry point. It reads the event from GITHUB_EVENT_NAME and\nGITHUB_EVENT_PATH and the action's inputs from WORKSPACE_BOT_GITHUB_TOKEN,\nWORKSPACE_BOT_CONFIG (a path, or owner/repo:path), WORKSPACE_BOT_COMMAND\n(auto, test or validate) and WORKSPACE_BOT_DATA_DIR.", stderr)
	if code, ok := cli.ParseNoArgs(fs, args); !ok {
		return code
	}
	env := action.ReadEnv(getenv)
	// main took the credentials out of the process (secretenv); this
	// clears Go's copy too, for a child started without its own
	// environment.
	for _, k := range append(action.TokenVars, credentials.Vars...) {
		os.Unsetenv(k)
	}
	return action.Run(ctx, action.Options{
		Env: env, Stdout: stdout, Stderr: stderr, LogLevel: envOr("warn", "WORKSPACE_BOT_LOG_LEVEL"),
		UserAgent: userAgent(), Secrets: secrets.Values(), Progress: ci.NewProgress(stdout, false),
	})
}
