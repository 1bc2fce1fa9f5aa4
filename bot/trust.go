package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
)

// isBotLogin says whether a login belongs to an app or bot account, whose
// comments are never read as commands (a bot quoting help must not loop).
func isBotLogin(login string) bool {
	return strings.HasSuffix(strings.ToLower(login), "[bot]")
}

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

// isSelf says whether login is the bot itself, or another bot or app.
func (b *Bot) isSelf(ctx context.Context, login string) (bool, error) {
	if isBotLogin(login) {
		return true, nil
	}
	self, err := b.login(ctx)
	return self != "" && strings.EqualFold(self, login), err
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

// confirmWrite asks GitHub whether user can push to repo. author_association
// is not reliable (private org members show as CONTRIBUTOR, and it is
// what the payload says), so running someone else's code on the strength
// of a comment needs this answer.
func (b *Bot) confirmWrite(ctx context.Context, repo, user string) (bool, error) {
	perm, err := b.gh.Permission(ctx, repo, user)
	if err != nil {
		return false, fmt.Errorf("permission of %s on %s: %w", user, repo, err)
	}
	return canWrite(perm), nil
}

// untrustedForks lists the members whose code comes from a fork by an
// author who cannot push to the base repository: such changesets run only
// after a trusted /workspace test approved their exact head SHAs.
func (b *Bot) untrustedForks(ctx context.Context, cs *changeset.Changeset, trusted []string) ([]*changeset.PR, error) {
	var out []*changeset.PR
	for _, m := range cs.Members {
		pr := m.PR
		if !pr.Fork {
			continue
		}
		if associationTrusted(pr.AuthorAssociation, trusted) {
			ok, err := b.confirmWrite(ctx, pr.Repo, pr.Author)
			if err != nil {
				return nil, err
			}
			if ok {
				continue
			}
		}
		out = append(out, pr)
	}
	return out, nil
}
