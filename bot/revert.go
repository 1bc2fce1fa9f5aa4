package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// commandRevert undoes what a halted landing merged: a PR per merged
// member, linked as one changeset, that returns each base to what it
// held before the landing. They are tested and landed like any other.
func (h *eventState) commandRevert(ctx context.Context, cfg *ConfigFile, c commentEvent) error {
	if h.opt.Revert == nil || h.rec == nil {
		return h.reply(ctx, c, mention(c.user)+" this deployment does not land changesets, so it has nothing to revert: landing runs in the service (workspace-bot serve).")
	}
	halted, err := h.haltedWith(ctx, c.repo, c.number)
	if err != nil {
		return err
	}
	if halted == nil || len(halted.Merged) == 0 {
		return h.reply(ctx, c, fmt.Sprintf("%s nothing to revert: no landing of a changeset holding %s#%d stopped halfway with members merged.",
			mention(c.user), mdescape.Text(c.repo), c.number))
	}
	for _, m := range halted.Merged {
		perm, err := h.permission(ctx, m.Member.Repo, c.user)
		if err != nil {
			return err
		}
		if perm != "admin" && perm != "write" && perm != "maintain" {
			return h.reply(ctx, c, fmt.Sprintf("%s reverting needs write permission on every repository a member merged into; GitHub says you have %s on %s.",
				mention(c.user), mdescape.Text(perm), mdescape.Text(m.Member.Repo)))
		}
	}
	unlock := h.lockRepos(ctx, halted.Changeset)
	defer unlock()
	reverted := land.Revert(ctx, h.opt.Revert, halted.Key, halted.Merged)
	failed := false
	var b strings.Builder
	fmt.Fprintf(&b, "%s reverting what the halted landing of %s merged, one PR per member, linked as one changeset (branch %s):\n\n| merged | as | revert |\n|---|---|---|\n",
		mention(c.user), mdescape.Text(halted.Key), mdescape.Code(land.RevertBranch(halted.Key)))
	for _, r := range reverted {
		what := ""
		switch {
		case r.PR != nil && r.Err == nil:
			what = mdescape.Text(r.PR.Ref())
		case r.PR != nil:
			what = mdescape.Text(r.PR.Ref()) + " ⚠️ " + mdescape.Text(r.Err.Error())
		default:
			failed = true
			what = "❌ " + mdescape.Text(r.Err.Error())
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", mdescape.Cell(mdescape.Text(r.Merged.Member.Ref())), mdescape.Cell(mdescape.Code(r.Merged.After)), mdescape.Cell(what))
	}
	fmt.Fprintf(&b, "\nThe reverts are tested as one changeset; comment %s on any of them once they pass, and every base returns to its tested state.\n",
		mdescape.Code(cfg.CommandWord()+" merge"))
	if !failed {
		if err := h.rec.EndLanding(ctx, halted.Key); err != nil {
			h.logger(ctx).WithError(err).Warn("ending the reverted landing failed")
		}
	}
	return h.reply(ctx, c, b.String())
}

// haltedWith is the halted landing whose changeset held repo#number, or
// nil.
func (h *eventState) haltedWith(ctx context.Context, repo string, number int) (*store.Landing, error) {
	ls, err := h.rec.Landings(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].State == lifecycle.Halted && ls[i].Changeset != nil && ls[i].Changeset.Has(repo, number) {
			return &ls[i], nil
		}
	}
	return nil, nil
}
