// Package changeset links open pull requests across the siblings of a
// workspace into one set that is built and tested together.
package changeset

import (
	"context"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gherror"
)

// PR is a pull request as changesets see it; GitHub types are converted to
// it at the boundary.
type PR struct {
	Repo              string // base repository, owner/name
	Number            int
	State             string // "open" or "closed"
	Merged            bool
	Draft             bool
	Title             string
	Body              string
	URL               string // html URL
	Author            string
	AuthorAssociation string
	HeadRef           string // branch name in the head repository
	HeadSHA           string
	HeadRepo          string // owner/name of the head repository (a fork's for fork PRs)
	HeadCloneURL      string
	BaseRef           string
	Fork              bool // head repository differs from the base repository
}

// Ref names a pull request: owner/name#N.
func (p *PR) Ref() string { return Ref{Repo: p.Repo, Number: p.Number}.String() }

// GitHub is what resolution needs from GitHub.
type GitHub interface {
	// PullRequest returns one PR; a missing or unreadable one is an error
	// wrapping ErrNotFound or ErrForbidden.
	PullRequest(ctx context.Context, repo string, number int) (*PR, error)
	// OpenPullRequests returns every open PR whose base repository is repo.
	OpenPullRequests(ctx context.Context, repo string) ([]*PR, error)
}

// Errors of the GitHub implementation that resolution explains; they are
// gherror's kinds, under the names resolution's callers know.
var (
	ErrNotFound  = gherror.NotFound
	ErrForbidden = gherror.Forbidden
)

// Ref names a pull request.
type Ref struct {
	Repo   string // owner/name
	Number int
}

func (r Ref) String() string { return fmt.Sprintf("%s#%d", r.Repo, r.Number) }

// Member is one PR of a changeset.
type Member struct {
	PR *PR
	// Sibling is the sibling's name, or the workspace's name when the PR is
	// on the workspace repository itself.
	Sibling string
	// Links say how the member was reached (Link): the start, named on
	// another member's Depends-On lines, naming another on its own, or on
	// the same branch. Only links that counted are listed (see Resolve).
	Links []Link
	// Trusted is Options.Trusted's answer for the PR's author. A member
	// that is not trusted is in the changeset because the start or a
	// trusted member names it; its head needs an approval before it runs.
	Trusted bool
}

// ExclusionReason says why a PR that links itself to a changeset is not in
// it.
type ExclusionReason string

// Reasons for Exclusion.
const (
	// ExcludedUntrustedAuthor: its author is not trusted, and only its own
	// Depends-On lines or branch name link it.
	ExcludedUntrustedAuthor ExclusionReason = "author not trusted"
	// ExcludedUntrustedLink: only the Depends-On lines of a member whose
	// author is not trusted name it.
	ExcludedUntrustedLink ExclusionReason = "named only by a PR whose author is not trusted"
)

// Exclusion is a PR left out of a changeset although it links itself to
// it. A maintainer who wants it in adds it to a trusted member's
// Depends-On lines (/workspace link).
type Exclusion struct {
	PR Ref
	// Links are the links that did not count, as in Member.Links: its
	// own Depends-On names a member, it is on a member's branch, or an
	// untrusted member names it.
	Links  []Link
	Reason ExclusionReason
}

// Changeset is a resolved, validated set of PRs pinned to their head SHAs.
type Changeset struct {
	Members []Member // sorted by Ref
	// Key is stable for the same set of PRs whatever their SHAs: the sorted
	// refs joined with ",". Runs are coalesced and cancelled by it.
	Key string
	// RunID is derived from the pinned head SHAs: the same SHAs give the
	// same id.
	RunID string
	// Excluded are the PRs that link themselves to the changeset but are
	// not in it, sorted by ref; they count in neither Key nor RunID. An
	// outsider can open many, so show a bounded number.
	Excluded []Exclusion
}

// Has says whether the PR repo#number is a member.
func (cs *Changeset) Has(repo string, number int) bool {
	for _, m := range cs.Members {
		if m.PR != nil && m.PR.Number == number && strings.EqualFold(m.PR.Repo, repo) {
			return true
		}
	}
	return false
}
