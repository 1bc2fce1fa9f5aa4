package main

import (
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// tuneGitHub, when set by tests, adjusts every client's options (shorter
// retry waits).
var tuneGitHub func(*ghclient.Options)

// githubFlags are the GitHub flags of a command, reading the environment
// with the credentials main was handed.
func githubFlags() cli.GitHubFlags {
	return cli.GitHubFlags{Getenv: getenv, UserAgent: userAgent(), Tune: tuneGitHub}
}
