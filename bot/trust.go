package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/store"
)

// login is the bot's own login, looked up once; a failed look-up is
// tried again next time.
func (b *Bot) login(ctx context.Context) (string, error) {
	b.selfMu.Lock()
	defer b.selfMu.Unlock()
	if b.selfDone || b.opt.Self == nil {
		return b.self, nil
	}
	l, err := b.opt.Self(ctx)
	if err != nil {
		return "", fmt.Errorf("looking up the bot's own login: %w", err)
	}
	b.self, b.selfDone = l, true
	return l, nil
}

// isSelf says whether login is the bot itself, or another bot or app:
// their comments are never read as commands.
func (b *Bot) isSelf(ctx context.Context, login string) (bool, error) {
	if isBotLogin(login) {
		return true, nil
	}
	return b.isOwnLogin(ctx, login)
}

// isOwnLogin says whether login is exactly the bot's own.
func (b *Bot) isOwnLogin(ctx context.Context, login string) (bool, error) {
	self, err := b.login(ctx)
	return self != "" && strings.EqualFold(self, login), err
}

// isBotLogin says whether a login belongs to an app or bot account, whose
// comments are never read as commands (a bot quoting help must not loop).
func isBotLogin(login string) bool {
	return strings.HasSuffix(strings.ToLower(login), "[bot]")
}

// associationTrusted says whether an author_association is in the
// configured trusted list (compared case-insensitively).
func associationTrusted(association string, trusted []string) bool {
	for _, t := range trusted {
		if strings.EqualFold(t, association) {
			return true
		}
	}
	return false
}

// canWrite says whether a permission level from the collaborator
// permission API lets a user push to the repository.
func canWrite(permission string) bool {
	switch strings.ToLower(permission) {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// perms remembers the permission API's answers for one event: a
// resolution asks about every PR's author, often the same person.
type perms struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *perms) get(repo, user string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[strings.ToLower(repo+"\x00"+user)]
	return v, ok
}

func (p *perms) set(repo, user, perm string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[strings.ToLower(repo+"\x00"+user)] = perm
}

// The two questions of trust, asked here and nowhere else.

// userTrust is what a user may ask of the bot on one repository.
type userTrust struct {
	// Read: commands that change nothing (status, help). Write: commands
	// that build, cancel or edit a PR body.
	Read, Write bool
	// Permission is the permission API's answer, for replies.
	Permission string
}

// trustedUser says what user, whose author_association on the comment
// is association, may command on repo. Pushing access, from the
// permission API, grants everything; a trusted association alone
// ([workspace.bot].trusted) only what changes nothing, since
// author_association is what the payload says, and not reliable
// (private org members show as CONTRIBUTOR).
func (h *eventState) trustedUser(ctx context.Context, cfg *ConfigFile, repo, user, association string) (userTrust, error) {
	perm, err := h.permission(ctx, repo, user)
	if err != nil {
		return userTrust{}, err
	}
	w := canWrite(perm)
	return userTrust{Read: w || associationTrusted(association, cfg.Trusted()), Write: w, Permission: perm}, nil
}

// trustedPR says whether pr's author is trusted, so that its links count
// and its code runs without an approval: when they are the bot itself
// (release PRs), or when their author_association is in
// [workspace.bot].trusted and the permission API says they can push to
// the PR's repository. Every PR is asked, forks and branches of the base
// repository alike: anyone who can read may open a PR from a branch
// someone else pushed, and its body, with its links, is theirs.
func (h *eventState) trustedPR(ctx context.Context, cfg *ConfigFile, pr *changeset.PR) (bool, error) {
	if pr.Author == "" {
		return false, nil
	}
	if own, err := h.isOwnLogin(ctx, pr.Author); err != nil || own {
		return own, err
	}
	if !associationTrusted(pr.AuthorAssociation, cfg.Trusted()) {
		return false, nil
	}
	perm, err := h.permission(ctx, pr.Repo, pr.Author)
	return canWrite(perm), err
}

// trustFunc is trustedPR as changeset resolution asks it.
func (h *eventState) trustFunc(cfg *ConfigFile) changeset.TrustFunc {
	return func(ctx context.Context, pr *changeset.PR) (bool, error) { return h.trustedPR(ctx, cfg, pr) }
}

// untrusted lists the members whose author is not trusted: their code
// runs only once an approval covers their exact heads.
func untrusted(cs *changeset.Changeset) []*changeset.PR {
	var out []*changeset.PR
	for _, m := range cs.Members {
		if !m.Trusted {
			out = append(out, m.PR)
		}
	}
	return out
}

// approval is a trusted /workspace test: who wrote it, and when GitHub
// says the comment was made.
type approval struct {
	by string
	at time.Time
}

// headApproval is what became of one untrusted head under a command.
type headApproval struct {
	PR        *changeset.PR
	FirstSeen time.Time
	// By approved the head: the commenter now, or someone before.
	By string
	// Late: the bot first saw the head after the comment was made, so
	// the comment cannot have meant it (a push racing the approval).
	Late bool
}

// headHistory is GitHub's own record of the bot's reports on a head
// (gh.Client has it): when a state of context was first reported on sha,
// on GitHub's clock, or the zero time.
type headHistory interface {
	FirstReported(ctx context.Context, repo, sha, context string) (time.Time, error)
}

// firstReported is the earlier of seen and the first report on pr's head
// GitHub has. The bot reports on every head it resolves, so an earlier
// report means an earlier sighting: that is how a bot whose store does
// not outlive it (the Action, a new data dir) knows a head was waiting
// before the approving comment.
func (b *Bot) firstReported(ctx context.Context, p *Plan, pr *changeset.PR, seen time.Time) (time.Time, error) {
	hh, ok := b.gh.(headHistory)
	if !ok {
		return seen, nil
	}
	t, err := hh.FirstReported(ctx, pr.Repo, pr.HeadSHA, p.Config.StatusContext())
	if err != nil {
		return seen, fmt.Errorf("when %s@%s was first reported: %w", pr.Ref(), pr.HeadSHA, err)
	}
	if !t.IsZero() && t.Before(seen) {
		return t, nil
	}
	return seen, nil
}

func headKey(pr *changeset.PR) store.HeadKey { return store.HeadKey{PR: pr.Ref(), SHA: pr.HeadSHA} }

// decideTrust records when the bot first saw each member's head, finds
// the untrusted members, and says whether approvals cover all their
// heads. An approval covers a head only when the bot had seen it at or
// before the approving comment's time: a push after the comment, even
// one the bot reads first, needs a new approval.
func (b *Bot) decideTrust(ctx context.Context, p *Plan, appr *approval) ([]headApproval, error) {
	p.Untrusted, p.Approved, p.Unapproved = untrusted(p.Changeset), false, nil
	keys := make([]store.HeadKey, 0, len(p.Changeset.Members))
	for _, m := range p.Changeset.Members {
		keys = append(keys, headKey(m.PR))
	}
	seen, err := b.rec.SeeHeads(ctx, b.clock.Now(), keys...)
	if err != nil {
		return nil, err
	}
	if len(p.Untrusted) == 0 {
		return nil, nil
	}
	out := make([]headApproval, 0, len(p.Untrusted))
	var approve []store.HeadKey
	all := true
	for _, pr := range p.Untrusted {
		h := seen[headKey(pr)]
		ha := headApproval{PR: pr, FirstSeen: h.FirstSeen, By: h.ApprovedBy}
		if ha.By == "" && appr != nil && !appr.at.IsZero() && h.FirstSeen.After(appr.at) {
			if ha.FirstSeen, err = b.firstReported(ctx, p, pr, h.FirstSeen); err != nil {
				return nil, err
			}
		}
		if ha.By == "" && appr != nil {
			if appr.at.IsZero() || ha.FirstSeen.After(appr.at) {
				ha.Late = true
			} else {
				ha.By = appr.by
				approve = append(approve, headKey(pr))
			}
		}
		all = all && ha.By != ""
		if ha.By == "" {
			p.Unapproved = append(p.Unapproved, pr)
		}
		out = append(out, ha)
	}
	if len(approve) > 0 {
		if err := b.rec.ApproveHeads(ctx, appr.by, b.clock.Now(), approve...); err != nil {
			return nil, err
		}
	}
	p.Approved = all
	return out, nil
}
