package ci

import (
	"context"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitrun"
)

// GitError is a git command that failed; its message never holds
// credentials.
type GitError = gitrun.Error

// git runs a hermetic git command in dir and returns its trimmed stdout
// (see gitrun: a built environment, no hooks, killed with ctx).
func git(ctx context.Context, dir string, args ...string) (string, error) {
	return gitWithEnv(ctx, dir, nil, args...)
}

// gitWithEnv is git with extra environment (credentials for one fetch).
func gitWithEnv(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	out, err := gitrun.Run(ctx, dir, gitrun.Env(gitrun.Hermetic, env...), nil, args...)
	return strings.TrimSpace(string(out)), err
}
