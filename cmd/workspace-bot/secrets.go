package main

import (
	"strings"

	"github.com/provide-io/workspace-bot/internal/secretenv"
)

// credentials are the variables and flags serve and action take out of
// their environment and command line at start (main), so that nothing
// reading /proc/<pid>/environ or cmdline finds them: the service's and
// the Action's credentials, and the Actions runner's own tokens, which
// the program never needs.
var credentials = secretenv.Spec{
	Vars: []string{
		"GITHUB_TOKEN", "WORKSPACE_BOT_GITHUB_TOKEN", "WORKSPACE_BOT_WEBHOOK_SECRET", "WORKSPACE_BOT_APP_PRIVATE_KEY",
		"INPUT_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
		"WORKSPACE_BOT_RUN_TOKEN",
	},
	Flags: []secretenv.Flag{
		{Name: "github-token", Var: "WORKSPACE_BOT_GITHUB_TOKEN", Instead: "--github-token-file FILE or the WORKSPACE_BOT_GITHUB_TOKEN variable"},
		{Name: "webhook-secret", Var: "WORKSPACE_BOT_WEBHOOK_SECRET", Instead: "--webhook-secret-file FILE or the WORKSPACE_BOT_WEBHOOK_SECRET variable"},
		{Name: "app-private-key", Var: "WORKSPACE_BOT_APP_PRIVATE_KEY", Instead: "--app-private-key FILE (a path)",
			Is: func(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") }},
	},
}

// secrets are what main handed over; nil (read the environment) in
// tests and in the other commands.
var secrets *secretenv.Secrets

// getenv reads the environment, and the credentials handed over.
func getenv(key string) string { return secrets.Getenv(key) }
