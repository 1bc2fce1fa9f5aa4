package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// Plan is one run of a changeset, decided before anything is built: what
// to build, with which config, at which commits, and whether its code may
// run.
type Plan struct {
	Changeset *changeset.Changeset
	// Config was read once for this run; a queued run keeps its text.
	Config *ConfigFile
	// Pins say what ci checks out for each member, and for the
	// workspace repository when the config came from GitHub.
	Pins map[string]ci.Pin
	// Reason says what asked for the run, for people.
	Reason string
	// Forks are the members whose code comes from a fork by an author who
	// cannot push; Approved says a trusted approval covers exactly these
	// heads. A plan with forks is built only when approved.
	Forks    []*changeset.PR
	Approved bool
	// Run is the plan's number in the service's store, which run pages
	// and status links name; 0 when it is built at once.
	Run int64
}

// Runnable says whether the plan's code may run.
func (p *Plan) Runnable() bool { return len(p.Forks) == 0 || p.Approved }

// Resolve reads the workspace config once and resolves the changeset of
// each ref, merged into one plan pinned to the heads GitHub has now. A
// changeset that cannot be resolved is a *ResolveError. Trust is not
// decided here: the CLI builds what its user asks for.
func (b *Bot) Resolve(ctx context.Context, refs ...changeset.Ref) (*Plan, error) {
	cfg, err := b.config(ctx)
	if err != nil {
		return nil, err
	}
	return b.resolve(ctx, cfg, refs...)
}

// ResolveError is the changeset of Start failing to resolve.
type ResolveError struct {
	Start changeset.Ref
	Err   error
}

func (e *ResolveError) Error() string { return fmt.Sprintf("resolving %s: %s", e.Start, e.Err) }
func (e *ResolveError) Unwrap() error { return e.Err }

func (b *Bot) config(ctx context.Context) (*ConfigFile, error) {
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the workspace config: %w", err)
	}
	return cfg, nil
}

func (b *Bot) resolve(ctx context.Context, cfg *ConfigFile, refs ...changeset.Ref) (*Plan, error) {
	if len(refs) == 0 {
		return nil, errors.New("resolve: no pull request to start from")
	}
	all := make([]*changeset.Changeset, 0, len(refs))
	for _, ref := range refs {
		cs, err := b.opt.Resolve(ctx, b.gh, cfg.Config, ref)
		if err != nil {
			return nil, &ResolveError{Start: ref, Err: err}
		}
		all = append(all, cs)
	}
	cs, err := changeset.Merge(all)
	if err != nil {
		return nil, err
	}
	return NewPlan(cfg, cs), nil
}

// NewPlan plans a build of cs with cfg: the pins, and nothing decided
// about trust yet.
func NewPlan(cfg *ConfigFile, cs *changeset.Changeset) *Plan {
	return &Plan{Changeset: cs, Config: cfg, Pins: pins(cfg, cs)}
}

// pins says what ci checks out for each member: its pinned head, merged
// onto its base in merge mode, fetched from refs/pull/N/head of the
// sibling's own repository. GitHub keeps that ref for every PR, forks
// included, so fork code is fetched without cloning the fork (which may be
// gone, private, or rewritten since the approval: the SHA is pinned). A
// config read from GitHub has no workspace checkout on disk, so the
// workspace repository is built at its branch tip.
func pins(cfg *ConfigFile, cs *changeset.Changeset) map[string]ci.Pin {
	out := make(map[string]ci.Pin, len(cs.Members)+1)
	for _, m := range cs.Members {
		pr := m.PR
		name := m.Sibling
		if name == "" {
			if s := cfg.SiblingByRepo(pr.Repo); s != nil {
				name = s.Name
			} else {
				name = cfg.Workspace.Name
			}
		}
		p := ci.Pin{Ref: pr.HeadRef, SHA: pr.HeadSHA, FetchRef: fmt.Sprintf("refs/pull/%d/head", pr.Number)}
		if cfg.Workspace.CI.Checkout != workspace.CheckoutHead {
			p.Base = pr.BaseRef
		}
		out[name] = p
	}
	if _, ok := out[cfg.Workspace.Name]; cfg.Remote && !ok {
		out[cfg.Workspace.Name] = ci.Pin{}
	}
	return out
}

// decideTrust finds the plan's untrusted forks and whether an approval
// covers its heads. A trusted approver's command approves the heads
// resolved now.
func (b *Bot) decideTrust(ctx context.Context, p *Plan, approver string) error {
	forks, err := b.untrustedForks(ctx, p.Changeset, p.Config.Trusted())
	if err != nil {
		return err
	}
	p.Forks, p.Approved = forks, false
	if len(forks) == 0 {
		return nil
	}
	shas := approvalSHAs(p.Changeset)
	if approver != "" {
		if err := b.rec.Approve(ctx, store.Approval{Key: p.Changeset.Key, SHAs: shas, By: approver}); err != nil {
			return err
		}
		p.Approved = true
		return nil
	}
	p.Approved, err = b.rec.Approved(ctx, p.Changeset.Key, shas)
	return err
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

// waitingDescription is the state of a plan waiting for approval.
func waitingDescription(p *Plan) string {
	return fmt.Sprintf("waiting for a trusted %s test: %s is from a fork", p.Config.CommandWord(), p.Forks[0].Ref())
}

func describeMembers(cs *changeset.Changeset) string {
	if len(cs.Members) == 1 {
		return "1 PR"
	}
	return fmt.Sprintf("%d PRs", len(cs.Members))
}
