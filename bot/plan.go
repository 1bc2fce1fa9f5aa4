package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
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
	// Untrusted are the members whose author is not trusted
	// (changeset.Member.Trusted); Approved says approvals cover every one
	// of their heads. A plan with untrusted members is built only when
	// approved.
	Untrusted []*changeset.PR
	Approved  bool
	// Unapproved are the Untrusted whose heads no approval covers yet.
	Unapproved []*changeset.PR
	// Run is the plan's number in the service's store, which run pages
	// and status links name; 0 when it is built at once.
	Run int64
	// AllTests runs every sibling's tests; otherwise only those of the
	// siblings the changeset affects run (ci.Request.Members).
	AllTests bool
}

// Members are the siblings the plan's changeset changes, for ci to select
// the affected tests by; nil when every test is to run.
func (p *Plan) Members() []string {
	if p.AllTests {
		return nil
	}
	out := []string{}
	for _, m := range p.Changeset.Members {
		out = append(out, memberName(p.Config, m))
	}
	return out
}

// Runnable says whether the plan's code may run.
func (p *Plan) Runnable() bool { return len(p.Untrusted) == 0 || p.Approved }

// Resolve reads the workspace config once and resolves the changeset of
// each ref, merged into one plan pinned to the heads GitHub has now. A
// changeset that cannot be resolved is a *ResolveError. Every author is
// trusted here: the CLI builds what its user asks for.
func (b *Bot) Resolve(ctx context.Context, refs ...changeset.Ref) (*Plan, error) {
	cfg, err := b.config(ctx)
	if err != nil {
		return nil, err
	}
	return b.resolve(ctx, cfg, nil, refs...)
}

// ResolveError is the changeset of Start failing to resolve.
type ResolveError struct {
	Start changeset.Ref
	Err   error
}

func (e *ResolveError) Error() string { return fmt.Sprintf("resolving %s: %s", e.Start, e.Err) }
func (e *ResolveError) Unwrap() error { return e.Err }

// Config is the workspace config as the bot reads it now.
func (b *Bot) Config(ctx context.Context) (*ConfigFile, error) { return b.config(ctx) }

func (b *Bot) config(ctx context.Context) (*ConfigFile, error) {
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the workspace config: %w", err)
	}
	return cfg, nil
}

// resolve resolves with trust deciding whose links count (nil: everyone's).
func (b *Bot) resolve(ctx context.Context, cfg *ConfigFile, trust changeset.TrustFunc, refs ...changeset.Ref) (*Plan, error) {
	if len(refs) == 0 {
		return nil, errors.New("resolve: no pull request to start from")
	}
	all := make([]*changeset.Changeset, 0, len(refs))
	for _, ref := range refs {
		cs, err := b.opt.Resolve(ctx, b.gh, cfg.Config, ref, changeset.Options{Trusted: trust})
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
		name := memberName(cfg, m)
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

// reportMembers are the members a plan's states and summary go to. A
// changeset resolved from a PR whose author is not trusted holds the
// trusted PRs it names, under a key of its own: it is reported only on
// its untrusted members, so an outsider's links never change what a
// maintainer's PR shows. Every other changeset is reported on all of its
// members.
func reportMembers(cs *changeset.Changeset) []changeset.Member {
	outsider := false
	for _, m := range cs.Members {
		outsider = outsider || (!m.Trusted && isStart(m))
	}
	if !outsider {
		return cs.Members
	}
	var out []changeset.Member
	for _, m := range cs.Members {
		if !m.Trusted {
			out = append(out, m)
		}
	}
	return out
}

func isStart(m changeset.Member) bool {
	for _, l := range m.Links {
		if l.Kind == changeset.ReachedStart {
			return true
		}
	}
	return false
}

// waitingDescription is the state of a plan waiting for approval.
func waitingDescription(p *Plan) string {
	who := p.Untrusted[0].Ref()
	if n := len(p.Untrusted) - 1; n > 0 {
		who += fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("waiting for a trusted %s test: %s (author not trusted)", p.Config.CommandWord(), who)
}

func describeMembers(cs *changeset.Changeset) string {
	if len(cs.Members) == 1 {
		return "1 PR"
	}
	return fmt.Sprintf("%d PRs", len(cs.Members))
}
