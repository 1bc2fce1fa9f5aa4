package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// commandMerge lands the commented PR's changeset as one: the preflight
// first, answered with its checklist; then, unless dryRun or anything is
// blocked, the merges in build order and the proof, on every member.
func (h *eventState) commandMerge(ctx context.Context, cfg *ConfigFile, c commentEvent, dryRun bool) error {
	return h.merge(ctx, cfg, c, dryRun, false)
}

// merge is commandMerge, or with carry the landing a run's end or a
// restart takes up, which is left alone once another has ended it.
func (h *eventState) merge(ctx context.Context, cfg *ConfigFile, c commentEvent, dryRun, carry bool) error {
	if h.opt.Land == nil {
		return h.reply(ctx, c, mention(c.user)+" this deployment does not land changesets: landing runs in the service (workspace-bot serve), which keeps it durable.")
	}
	// A landing under way lands the changeset it was asked for: once
	// some members have merged, resolving again no longer finds them.
	stored, err := h.landingWith(ctx, c.repo, c.number)
	if err != nil {
		return err
	}
	var cs *changeset.Changeset
	switch {
	case stored != nil:
		cs = stored.Changeset
	case carry:
		return nil
	default:
		if cs, err = h.resolveFor(ctx, cfg, c); cs == nil {
			return err
		}
	}
	unlock := h.lockRepos(ctx, cs)
	defer unlock()
	if stored != nil {
		// Another took it up while this waited for the locks, and ended
		// it: nothing is left to do.
		now, err := h.rec.GetLanding(ctx, cs.Key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if now.State == lifecycle.Gating && !carry {
			return h.reply(ctx, c, fmt.Sprintf("%s %s lands by itself once its run onto the new bases passes (asked by %s).",
				mention(c.user), mdescape.Text(cs.Key), mention(now.User)))
		}
	}
	// A landing ends here, however it ends, unless it waits for a run
	// onto moved bases or stopped halfway (kept for revert).
	keep := false
	if !dryRun && h.rec != nil {
		defer func() {
			if keep {
				return
			}
			if eerr := h.rec.EndLanding(context.WithoutCancel(ctx), cs.Key); eerr != nil {
				h.logger(ctx).WithError(eerr).Error("recording the end of a landing failed: a restart carries it on again")
			}
		}()
	}

	gate, gateProblems, err := h.gate(ctx, cfg, cs)
	if err != nil {
		return err
	}
	var built *ci.Result
	if gate != nil {
		built = gate.Result
	}
	members := LandMembers(cfg, cs, built)
	cl, err := land.Check(ctx, h.opt.Land, c.user, members, h.opt.LandOptions)
	if err != nil {
		if retryable(err) {
			return err
		}
		return h.reply(ctx, c, fmt.Sprintf("%s the preflight could not read GitHub: %s", mention(c.user), mdescape.Text(err.Error())))
	}
	cl.Problems = append(gateProblems, cl.Problems...)
	log := h.logger(ctx).WithField(logging.Changeset, cs.Key)
	if dryRun || cl.Blocked() {
		log.WithField("blocked", cl.Blocked()).Info("landing preflight answered")
		return h.reply(ctx, c, checklistText(cfg, c, cs, gate, cl, dryRun))
	}
	if moved := cl.Moved(); len(moved) > 0 {
		// One test onto new bases per request: a base that moves again
		// meanwhile, or a run of other members, ends the landing with
		// the reason, never a loop of runs.
		if h.rec == nil || carry {
			return h.reply(ctx, c, movedText(cfg, c, moved))
		}
		// What lands must be what was tested: test onto the new bases
		// first, and land when that passes (the run's end carries the
		// landing on).
		if err := h.rec.SetLanding(ctx, h.landingOf(cs, c, lifecycle.Gating)); err != nil {
			return err
		}
		keep = true
		pr, err := h.gh.PullRequest(ctx, c.repo, c.number)
		if err != nil {
			return fmt.Errorf("read %s#%d: %w", c.repo, c.number, err)
		}
		t := trigger{start: pr, force: true, approval: &approval{by: c.user, at: c.at},
			reason: fmt.Sprintf("%s merge by @%s on %s: testing onto the new bases", cfg.CommandWord(), c.user, pr.Ref())}
		if err := h.trigger(ctx, t); err != nil {
			return err
		}
		return h.reply(ctx, c, regateText(c, moved))
	}
	if allMerged(cl) {
		return h.reply(ctx, c, fmt.Sprintf("%s every member of %s has merged already: nothing to land.", mention(c.user), mdescape.Text(cs.Key)))
	}
	if h.rec != nil {
		if err := h.rec.SetLanding(ctx, h.landingOf(cs, c, lifecycle.Merging)); err != nil {
			return err
		}
	}
	if err := h.reply(ctx, c, planText(c, cs, gate, cl)); err != nil {
		return err
	}
	log.WithField(logging.User, c.user).Info("landing the changeset")
	out, err := land.Land(ctx, h.opt.Land, cl, logJournal{h: h, ctx: ctx})
	if err != nil {
		return err
	}
	if h.opt.OnLanding != nil {
		h.opt.OnLanding(landingOutcome(out))
	}
	var tags []land.Tagged
	if out.Halted == nil && out.AsTested() {
		// A release is tagged only where what landed is what was tested.
		tags = land.TagReleases(ctx, h.opt.Land, h.releases(cfg, cs, out))
	} else if out.Halted != nil && h.rec != nil {
		// What merged is kept, for /workspace revert.
		l := h.landingOf(cs, c, lifecycle.Halted)
		for _, ld := range out.Landed {
			l.Merged = append(l.Merged, land.Merged{Member: ld.Row.Member, Before: ld.Row.BaseTip, After: ld.MergeSHA})
		}
		if err := h.rec.SetLanding(ctx, l); err != nil {
			h.logger(ctx).WithError(err).Error("recording what the halted landing merged failed: /workspace revert cannot find it")
		} else {
			keep = true
		}
	}
	return h.reportLanding(ctx, cfg, cs, out, tags)
}

// releases are the landed members that are release PRs (from a branch of
// the sibling's own repository, the body release open wrote naming the
// sibling and version), in build order, with the tag each gets.
func (h *eventState) releases(cfg *ConfigFile, cs *changeset.Changeset, out *land.Outcome) []land.Release {
	return Releases(cfg, cs, out, h.opt.Released, h.opt.ReleaseNotes)
}

// Releases are the landed members of cs that are release PRs, read with
// released (nil: none) and, for GitHub releases, notes.
func Releases(cfg *ConfigFile, cs *changeset.Changeset, out *land.Outcome, released func(string) (string, string, bool), notes func(string) string) []land.Release {
	if released == nil {
		return nil
	}
	var rels []land.Release
	for _, l := range out.Landed {
		pr := prOf(cs, l.Row.Member)
		if pr == nil || pr.Fork {
			continue
		}
		sibling, version, ok := released(pr.Body)
		if !ok || sibling != l.Row.Member.Sibling {
			continue
		}
		r := land.Release{Member: l.Row.Member, Tag: cfg.TagFor(version), SHA: l.MergeSHA}
		if cfg.Workspace.Release.GitHubReleases && notes != nil {
			r.Publish, r.Name, r.Notes = true, fmt.Sprintf("%s %s", sibling, version), notes(pr.Body)
		}
		rels = append(rels, r)
	}
	return rels
}

// lockRepos holds every member repository's landing lock until the
// returned func: two changesets that share a sibling land one at a time,
// and the second checks the base the first moved. Locks are taken in
// name order, so two landings never wait on each other.
func (h *eventState) lockRepos(ctx context.Context, cs *changeset.Changeset) func() {
	var repos []string
	for _, m := range cs.Members {
		repos = append(repos, strings.ToLower(m.PR.Repo))
	}
	sort.Strings(repos)
	repos = slices.Compact(repos)
	var held []func()
	for _, r := range repos {
		held = append(held, h.landLocks.lock(r), h.holdName(ctx, "land "+r))
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	}
}

// gate finds the run whose success lets the changeset land: a successful
// run of exactly its current heads. Without one, the problem says what
// to do.
func (h *eventState) gate(ctx context.Context, cfg *ConfigFile, cs *changeset.Changeset) (*store.Run, []land.Problem, error) {
	// Problems are plain text: the checklist escapes them.
	test := cfg.CommandWord() + " test"
	if cfg.Workspace.CI.Checkout == workspace.CheckoutHead {
		return nil, []land.Problem{{
			What: `[workspace.ci].checkout = "head" builds each head alone, not what merging it makes`,
			Fix:  `set checkout = "merge" (the default), test again, then merge`,
		}}, nil
	}
	r, err := h.runs.latest(ctx, cs.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, []land.Problem{{What: "no run has tested this changeset", Fix: "comment " + test + ", then merge once it passes"}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case r.Heads != cs.RunID:
		return nil, []land.Problem{{What: fmt.Sprintf("the latest run (%d) tested other heads than the members have now", r.ID),
			Fix: "comment " + test + ", then merge once it passes"}}, nil
	case !r.Final():
		return nil, []land.Problem{{What: fmt.Sprintf("run %d is testing these heads now", r.ID), Fix: "merge once it passes"}}, nil
	case r.Ended != lifecycle.Success || r.Result == nil:
		return nil, []land.Problem{{What: fmt.Sprintf("run %d of these heads ended %s", r.ID, lifecycle.Show(lifecycle.Done, r.Ended).Word),
			Fix: "fix what failed and push, or comment " + test + " if it was not the change's fault"}}, nil
	}
	return r, nil, nil
}

// LandMembers are the changeset's members in build order, each with what
// res, the run that gates the landing, built of it (nil: nothing built).
func LandMembers(cfg *ConfigFile, cs *changeset.Changeset, res *ci.Result) []land.Member {
	built := map[string]ci.SiblingResult{}
	if res != nil {
		for _, s := range res.Siblings {
			built[s.Name] = s
		}
	}
	rank := map[string]int{}
	if order, err := cfg.Order(); err == nil {
		for i, s := range order {
			rank[s.Name] = i + 1
		}
	}
	var out []land.Member
	for _, m := range cs.Members {
		name := memberName(cfg, m)
		b := built[name]
		mem := land.Member{Sibling: name, Repo: m.PR.Repo, Number: m.PR.Number, Head: m.PR.HeadSHA, BaseRef: m.PR.BaseRef,
			TestedBase: b.BaseSHA, TestedTree: b.Tree, Method: cfg.MergeMethod(name)}
		if res == nil || b.SHA != m.PR.HeadSHA {
			mem.TestedBase, mem.TestedTree = "", ""
		}
		out = append(out, mem)
	}
	// The workspace repository, which is no sibling, lands last: it
	// builds on them all.
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank[out[i].Sibling], rank[out[j].Sibling]
		if ri == 0 {
			ri = len(rank) + 1
		}
		if rj == 0 {
			rj = len(rank) + 1
		}
		return ri < rj
	})
	return out
}

// memberName is the member's sibling, or the workspace's name for the
// workspace repository.
func memberName(cfg *ConfigFile, m changeset.Member) string {
	if m.Sibling != "" {
		return m.Sibling
	}
	if s := cfg.SiblingByRepo(m.PR.Repo); s != nil {
		return s.Name
	}
	return cfg.Workspace.Name
}

func allMerged(cl *land.Checklist) bool {
	for _, r := range cl.Rows {
		if !r.Merged {
			return false
		}
	}
	return true
}

func (h *eventState) landingOf(cs *changeset.Changeset, c commentEvent, st lifecycle.Landing) store.Landing {
	return store.Landing{Key: cs.Key, State: st, Changeset: cs, Repo: c.repo, Number: c.number, User: c.user, AskedAt: c.at}
}

// landingWith is the landing under way whose changeset holds repo#number,
// or nil.
func (h *eventState) landingWith(ctx context.Context, repo string, number int) (*store.Landing, error) {
	if h.rec == nil {
		return nil, nil
	}
	ls, err := h.rec.Landings(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].State != lifecycle.Halted && ls[i].Changeset != nil && ls[i].Changeset.Has(repo, number) {
			return &ls[i], nil
		}
	}
	return nil, nil
}

// carryOnLanding takes up a landing a run's end (or a restart) finds: the
// same command again, by the same person, on the same PR. It answers as
// the command would.
func (b *Bot) carryOnLanding(ctx context.Context, l store.Landing) {
	h := &eventState{Bot: b}
	log := b.logger(ctx).WithField(logging.Changeset, l.Key)
	cfg, err := h.config(ctx)
	if err == nil {
		c := commentEvent{repo: l.Repo, number: l.Number, user: l.User, at: l.AskedAt, canWrite: true}
		log.WithField(logging.State, string(l.State)).Info("carrying on a landing")
		err = h.merge(ctx, cfg, c, false, true)
	}
	if err != nil {
		log.WithError(err).Error("carrying on a landing failed; the next start tries again")
	}
}

// landingsAfter carries on the landings that wait for a run, once the
// latest run of their changeset has ended.
func (b *Bot) landingsAfter(ctx context.Context) {
	if b.rec == nil {
		return
	}
	ls, err := b.rec.Landings(ctx)
	if err != nil {
		b.logger(ctx).WithError(err).Warn("looking for landings that wait for a run failed")
		return
	}
	for _, l := range ls {
		if l.State != lifecycle.Gating {
			continue
		}
		if r, err := b.runs.latest(ctx, l.Key); err == nil && r.Final() {
			b.carryOnLanding(ctx, l)
		}
	}
}

// resumeLandings carries on, at start, the landings a previous process
// left: merging ones, and gating ones whose run has ended.
func (q *Queue) resumeLandings(ctx context.Context) {
	ls, err := q.b.rec.Landings(ctx)
	if err != nil {
		q.log.WithError(err).Error("reading the landings a previous process left failed")
		return
	}
	for _, l := range ls {
		if l.State == lifecycle.Merging {
			q.b.carryOnLanding(ctx, l)
		}
	}
	q.b.landingsAfter(ctx)
}

// reportLanding tells every member how the landing ended: landed as
// tested, with each merge commit; landed but not as tested (an alarm
// naming the paths); or halted halfway (an alarm naming what merged,
// what did not and why, and the ways out, with an error status on the
// heads that did not merge).
func (h *eventState) reportLanding(ctx context.Context, cfg *ConfigFile, cs *changeset.Changeset, out *land.Outcome, tags []land.Tagged) error {
	body := landingText(cfg, cs, out, tags)
	log := h.logger(ctx).WithField(logging.Changeset, cs.Key)
	if out.Halted != nil {
		log.WithError(out.Halted.Err).Error("LANDING HALTED: some members merged and some did not; every member was told")
		var reports []store.Report
		for _, r := range out.Left {
			pr := prOf(cs, r.Member)
			if pr == nil {
				continue
			}
			desc := fmt.Sprintf("landing halted at %s: see the comment", r.Member.Ref())
			if r.Member.Ref() == out.Halted.Row.Member.Ref() {
				desc = "landing halted here: GitHub did not merge it; see the comment"
			}
			reports = append(reports, h.stateReport(cfg.Config, pr, lifecycle.Done, lifecycle.Error, desc, 0))
		}
		h.report(ctx, reports...)
	} else if !out.AsTested() {
		log.Error("LANDED TREE DIFFERS from the tested tree; every member was told")
	} else {
		log.Info("landed as tested")
	}
	var errs []error
	for _, m := range cs.Members {
		if _, err := h.gh.CreateComment(ctx, m.PR.Repo, m.PR.Number, body); err != nil {
			errs = append(errs, fmt.Errorf("tell %s how the landing ended: %w", m.PR.Ref(), err))
		}
	}
	h.handled.Replies = append(h.handled.Replies, body)
	return errors.Join(errs...)
}

func prOf(cs *changeset.Changeset, m land.Member) *changeset.PR {
	for _, x := range cs.Members {
		if strings.EqualFold(x.PR.Repo, m.Repo) && x.PR.Number == m.Number {
			return x.PR
		}
	}
	return nil
}

// logJournal records a landing's steps in the log.
type logJournal struct {
	h   *eventState
	ctx context.Context
}

func (j logJournal) Merging(ctx context.Context, r land.Row) error {
	j.h.logger(j.ctx).WithFields(map[string]any{logging.PR: r.Member.Ref(), "method": r.Method, "head": r.Member.Head}).Info("merging")
	return nil
}

func (j logJournal) Merged(ctx context.Context, l land.Landed) error {
	j.h.logger(j.ctx).WithFields(map[string]any{logging.PR: l.Row.Member.Ref(), "merge_commit": l.MergeSHA, "as_tested": l.Proof.Same}).Info("merged")
	return nil
}

// keyedLocks are mutexes by name, made on first use.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (k *keyedLocks) lock(name string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*sync.Mutex{}
	}
	l := k.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		k.locks[name] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}
