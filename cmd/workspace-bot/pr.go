package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/workspace"
)

// pinChangeset resolves the --pr changesets through the bot's core and
// pins each member's sibling as the bot would. It returns nil with the
// exit code when it cannot.
func pinChangeset(ctx context.Context, o *testOptions, cfg *workspace.Config, req *ci.Request, stderr io.Writer) (*bot.Plan, int) {
	if o.Local {
		fmt.Fprintln(stderr, "error: --pr cannot be combined with --local: --local uses the checkouts on disk as they are")
		return nil, exitUsage
	}
	plan, code := cli.ResolvePlan(ctx, &o.GitHub, cfg, o.DataDir, o.PRs, stderr)
	if plan == nil {
		return nil, code
	}
	cs := plan.Changeset
	for _, m := range cs.Members {
		if _, dup := req.Pins[m.Sibling]; dup {
			fmt.Fprintf(stderr, "error: --ref pins %s, which the changeset pins to %s; drop one of them\n", m.Sibling, m.PR.Ref())
			return nil, exitUsage
		}
		req.Pins[m.Sibling] = plan.Pins[m.Sibling]
	}
	if !o.All {
		// What --ref pins is changed as much as the PRs are.
		req.Members = plan.Members()
		for name := range req.Pins {
			if _, pr := plan.Pins[name]; !pr {
				req.Members = append(req.Members, name)
			}
		}
	}
	if req.Changeset == "tips" {
		req.Changeset = cs.Key
	} else {
		req.Changeset = cs.Key + "," + req.Changeset
	}
	fmt.Fprintf(stderr, "changeset %s (run id %s):\n", cs.Key, cs.RunID)
	for _, m := range cs.Members {
		fmt.Fprintf(stderr, "  %-20s %s @ %s (%s)\n", m.Sibling, m.PR.Ref(), text.ShortSHA(m.PR.HeadSHA), strings.Join(changeset.LinkWords(m.Links), "; "))
	}
	return plan, exitOK
}
