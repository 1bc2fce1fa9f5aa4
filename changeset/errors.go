package changeset

import (
	"fmt"
	"strings"
)

// Kind classifies a resolution failure.
type Kind string

// The ways a changeset fails to resolve. Each is the change's (or the
// token's) problem, reported on the PR; GitHub outages are plain errors.
const (
	KindNotFound       Kind = "not-found"        // a PR is missing or unreadable
	KindNoAccess       Kind = "no-access"        // a sibling's PRs cannot be listed
	KindClosed         Kind = "closed"           // a member is closed
	KindMerged         Kind = "merged"           // a member is already merged
	KindNotInWorkspace Kind = "not-in-workspace" // a PR's repository is no sibling
	KindDuplicate      Kind = "duplicate"        // two open PRs for one sibling
	KindWrongBase      Kind = "wrong-base"       // a PR targets another branch
	KindTooMany        Kind = "too-many"         // more members than allowed
	KindBadRef         Kind = "bad-ref"          // a Depends-On word that is no reference
)

// Error is a resolution failure that names the PR, how it was reached and
// the fix. Resolve may return several joined with errors.Join; use
// errors.As to find them.
type Error struct {
	Kind Kind
	PR   Ref    // the PR concerned; zero for repository-level failures
	Via  string // how the PR was reached, such as "Depends-On in o/r#1"
	// Other is the second PR of a duplicate.
	Other Ref
	Repo  string
	// Problem and Fix are sentences for people.
	Problem string
	Fix     string
	Err     error // the GitHub error behind it, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.PR.Repo != "":
		b.WriteString(e.PR.String())
		if e.Via != "" {
			fmt.Fprintf(&b, " (%s)", e.Via)
		}
		b.WriteString(": ")
	case e.Repo != "":
		b.WriteString(e.Repo + ": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
