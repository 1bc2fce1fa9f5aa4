package release

import (
	"context"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitrun"
)

// Identity is who release commits are by.
const (
	authorName  = "workspace-bot"
	authorEmail = "workspace-bot@users.noreply.github.com"
)

// baseEnv is for talking to remotes as the user: their global git config
// applies (credential helpers, ssh), prompts never do, and nothing of the
// process environment but what git needs (see gitrun.Env).
func baseEnv() []string {
	return gitrun.Env(gitrun.UserConfig)
}

// plumbingEnv is for reading and writing objects: no user or system
// config, so a signing or hook setting on the machine cannot change what
// is committed.
func plumbingEnv(extra ...string) []string {
	return gitrun.Env(gitrun.Hermetic, extra...)
}

// run runs git in dir with env and stdin, returning stdout untrimmed; a
// failure is a *gitrun.Error.
func run(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	return gitrun.Run(ctx, dir, env, stdin, args...)
}

// git runs a plumbing command and returns its trimmed stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := run(ctx, dir, plumbingEnv(), nil, args...)
	return strings.TrimSpace(string(out)), err
}
