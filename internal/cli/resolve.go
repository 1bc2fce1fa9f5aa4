package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/release"
	"github.com/provide-io/workspace-bot/workspace"
)

// ResolvePlan resolves the changeset of each ref through the bot's core
// and merges them into one plan (they must not pin one sibling to two
// PRs). It prints errors and returns nil with the exit code on failure: 2
// for a resolution or usage error, 3 when GitHub could not be reached or
// answered with an error.
func ResolvePlan(ctx context.Context, ghf *GitHubFlags, cfg *workspace.Config, dataDir string, refs []string, stderr io.Writer) (*bot.Plan, int) {
	var starts []changeset.Ref
	for _, s := range refs {
		ref, err := changeset.ParseRef(s, cfg.Owner())
		if err != nil {
			fmt.Fprintf(stderr, "error: %s\n", err)
			return nil, exitcode.Usage
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
		return nil, exitcode.Infra
	}
	plan, err := b.Resolve(ctx, starts...)
	var re *bot.ResolveError
	switch {
	case errors.As(err, &re):
		return nil, reportResolveError(stderr, re.Start, re.Err)
	case err != nil:
		fmt.Fprintf(stderr, "error: --pr: %s\n", err)
		return nil, exitcode.Usage
	}
	return plan, exitcode.OK
}

func reportResolveError(stderr io.Writer, start changeset.Ref, err error) int {
	var ce *changeset.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "error: the changeset of %s cannot be built:\n", start)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "  - %s\n", line)
		}
		return exitcode.Usage
	}
	var rl *ghclient.RateLimitError
	if errors.As(err, &rl) {
		fmt.Fprintf(stderr, "error: resolving %s: %s\n", start, rl)
		return exitcode.Infra
	}
	fmt.Fprintf(stderr, "error: resolving %s: %s\n", start, err)
	return exitcode.Infra
}

// ExitOf maps an error to the shared exit codes: bad input (a release's
// or a build's) is a usage error, anything else git or GitHub trouble.
func ExitOf(err error) int {
	var re *release.InputError
	var ce *ci.InputError
	if errors.As(err, &re) || errors.As(err, &ce) {
		return exitcode.Usage
	}
	return exitcode.Infra
}
