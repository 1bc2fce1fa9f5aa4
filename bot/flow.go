package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// trigger is a reason to test the changeset a PR belongs to.
type trigger struct {
	start  *changeset.PR
	reason string // for people: "pull_request synchronize o/r#3"
	// force runs even when the same heads were already tested.
	force bool
	// approver, when set, is a trusted login whose command approves the
	// exact heads resolved now for untrusted forks.
	approver string
}

// trigger resolves the changeset start belongs to and queues a run for it.
// A changeset that cannot be resolved is reported on start's PR.
func (b *Bot) trigger(ctx context.Context, t trigger) error {
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		return fmt.Errorf("read the workspace config: %w", err)
	}
	if t.start.State != "" && t.start.State != "open" {
		return nil
	}
	b.triggerMu.Lock()
	defer b.triggerMu.Unlock()
	cs, err := b.opt.Resolve(ctx, b.gh, cfg, changeset.Ref{Repo: t.start.Repo, Number: t.start.Number})
	if err != nil {
		if retryable(err) {
			return fmt.Errorf("resolve the changeset of %s: %w", t.start.Ref(), err)
		}
		return b.reportResolutionError(ctx, cfg, t.start, err)
	}
	log := b.logger(ctx).WithField(logging.Changeset, cs.Key)
	ctx = logging.With(ctx, log)

	forks, err := b.untrustedForks(ctx, cs, cfg.Trusted())
	if err != nil {
		return err
	}
	if len(forks) > 0 {
		shas := approvalSHAs(cs)
		if t.approver != "" {
			if err := b.st.Approve(ctx, store.Approval{Key: cs.Key, SHAs: shas, By: t.approver}); err != nil {
				return err
			}
			log.WithField(logging.User, t.approver).Info("fork code approved for these heads")
		} else if ok, err := b.st.Approved(ctx, cs.Key, shas); err != nil {
			return err
		} else if !ok {
			log.WithField(logging.Forks, len(forks)).Info("fork by an untrusted author: waiting for a trusted command")
			desc := fmt.Sprintf("waiting for a trusted %s test: %s is from a fork", cfg.CommandWord(), forks[0].Ref())
			b.setState(ctx, cfg, cs, "pending", desc, 0)
			return nil
		}
	}

	if !t.force {
		if skip, err := b.alreadyTested(ctx, cs); err != nil || skip {
			return err
		}
	}
	data, err := json.Marshal(cs)
	if err != nil {
		return fmt.Errorf("encode changeset %s: %w", cs.Key, err)
	}
	window := b.opt.CoalesceWindow
	if t.force {
		window = 0
	}
	// Pending goes out before the run can be claimed: posted after, it
	// could land on top of the result of a run that finished first.
	b.setState(ctx, cfg, cs, "pending", fmt.Sprintf("queued: %s", describeMembers(cs)), 0)
	if last, err := b.st.LatestRun(ctx, cs.Key); err == nil && last.State == store.RunQueued {
		b.retireStaleHeads(ctx, cfg, last, cs)
	}
	id, coalesced, err := b.st.EnqueueRun(ctx, store.Run{Key: cs.Key, RunID: cs.RunID, Trigger: t.reason, Changeset: data}, window)
	if err != nil {
		return err
	}
	log.WithFields(map[string]any{logging.Run: id, logging.Coalesced: coalesced}).Info("run queued")
	if err := b.supersede(ctx, cfg, cs, id); err != nil {
		return err
	}
	b.Notify()
	return nil
}

// alreadyTested says whether the same heads are building now or have a
// final result, so a duplicate event (a body edit that left the links
// alone, a redelivery) does not build them again.
func (b *Bot) alreadyTested(ctx context.Context, cs *changeset.Changeset) (bool, error) {
	last, err := b.st.LatestRun(ctx, cs.Key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if last.RunID != cs.RunID {
		return false, nil
	}
	switch last.State {
	case store.RunRunning, store.RunSuccess, store.RunFailure:
		b.logger(ctx).WithField(logging.Run, last.ID).Info("these heads are already tested; not queued again")
		return true, nil
	}
	return false, nil
}

// supersede cancels the running runs of cs's key that build other heads:
// a push to any member makes them moot.
func (b *Bot) supersede(ctx context.Context, cfg *workspace.Config, cs *changeset.Changeset, newID int64) error {
	running, err := b.st.RunningRuns(ctx, cs.Key)
	if err != nil {
		return err
	}
	for _, r := range running {
		if r.ID == newID {
			continue
		}
		if _, err := b.st.CancelRun(ctx, r.ID, newID); err != nil {
			return err
		}
		b.cancelActive(r.ID, errSuperseded)
		b.retireStaleHeads(ctx, cfg, &r, cs)
		b.logger(ctx).WithFields(map[string]any{logging.Run: r.ID, logging.SupersededBy: newID}).Info("running run superseded")
	}
	return nil
}

// retireStaleHeads gives a final state to the heads an older run of the
// changeset was going to test and the newer one no longer does (a member
// was pushed to), so no old commit shows a check that never finishes.
func (b *Bot) retireStaleHeads(ctx context.Context, cfg *workspace.Config, old *store.Run, cs *changeset.Changeset) {
	var prev changeset.Changeset
	if json.Unmarshal(old.Changeset, &prev) != nil {
		return
	}
	now := map[string]string{}
	for _, m := range cs.Members {
		now[m.PR.Ref()] = m.PR.HeadSHA
	}
	for _, m := range prev.Members {
		sha, ok := now[m.PR.Ref()]
		if !ok || sha == m.PR.HeadSHA {
			continue
		}
		desc := fmt.Sprintf("cancelled: superseded by a newer push to %s (%s)", m.PR.Ref(), shortSHA(sha))
		b.setMemberState(ctx, cfg, m.PR, "error", desc, old.ID)
	}
}

// cancelActive cancels a run building in this process.
func (b *Bot) cancelActive(id int64, cause error) bool {
	b.mu.Lock()
	a := b.active[id]
	b.mu.Unlock()
	if a == nil {
		return false
	}
	a.cancel(cause)
	return true
}

// memberClosed cancels the live runs whose changeset holds pr: they test a
// set that no longer exists. The other members get an error status saying
// the changeset changed, so nobody reads a stale pending as progress.
func (b *Bot) memberClosed(ctx context.Context, pr *changeset.PR) error {
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		return fmt.Errorf("read the workspace config: %w", err)
	}
	recent, err := b.st.RecentRuns(ctx, 200)
	if err != nil {
		return err
	}
	ref := pr.Ref()
	for _, r := range recent {
		if r.Final() || !keyHas(r.Key, ref) {
			continue
		}
		if ok, err := b.st.CancelRun(ctx, r.ID, 0); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		why := ref + " was closed"
		if pr.Merged {
			why = ref + " was merged"
		}
		if !b.cancelActive(r.ID, &cancelledBy{who: pr.Author, why: why}) {
			// Not building here: nobody else will report it.
			var cs changeset.Changeset
			if json.Unmarshal(r.Changeset, &cs) == nil {
				b.reportCancelled(ctx, cfg, &cs, r.ID, why, ref)
			}
		}
		b.logger(ctx).WithField(logging.Run, r.ID).Info("run cancelled: a member closed")
	}
	return nil
}

// reportCancelled sets an error status on every member except skip (the
// closed PR, whose status nobody reads).
func (b *Bot) reportCancelled(ctx context.Context, cfg *workspace.Config, cs *changeset.Changeset, id int64, why, skip string) {
	desc := fmt.Sprintf("cancelled: %s; comment %s test to run again", why, cfg.CommandWord())
	for _, m := range cs.Members {
		if m.PR.Ref() == skip {
			continue
		}
		b.setMemberState(ctx, cfg, m.PR, "error", desc, id)
	}
}

func keyHas(key, ref string) bool {
	for _, k := range strings.Split(key, ",") {
		if strings.EqualFold(k, ref) {
			return true
		}
	}
	return false
}

// approvalSHAs is the exact head set an approval covers, as the store
// spells it: sorted "o/r#N@sha".
func approvalSHAs(cs *changeset.Changeset) string {
	out := make([]string, 0, len(cs.Members))
	for _, m := range cs.Members {
		out = append(out, m.PR.Ref()+"@"+m.PR.HeadSHA)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func describeMembers(cs *changeset.Changeset) string {
	if len(cs.Members) == 1 {
		return "1 PR"
	}
	return fmt.Sprintf("%d PRs", len(cs.Members))
}

// retryable says whether a resolution error is GitHub or the network
// failing rather than the changeset being wrong: such errors retry the
// delivery instead of being reported on the PR.
func retryable(err error) bool {
	var ce *changeset.Error
	if errors.As(err, &ce) {
		return false
	}
	if errors.Is(err, changeset.ErrNotFound) || errors.Is(err, changeset.ErrForbidden) {
		return false
	}
	return true
}
