package changeset

import (
	"fmt"
	"sort"
	"strings"
)

// LinkKind is how a member was reached.
type LinkKind string

// The kinds of link. Each but ReachedStart names the PR at its other end.
const (
	ReachedStart       LinkKind = "start"          // the PR resolution started from
	ReachedDependsOnIn LinkKind = "Depends-On in"  // named on the other PR's Depends-On lines
	ReachedDependsOn   LinkKind = "depends on"     // its own Depends-On lines name the other
	ReachedSameBranch  LinkKind = "same branch as" // its head branch matches the other's
)

// Link is one way a member was reached: a typed value, compared as one,
// and written as the sentence people read ("Depends-On in o/r#1"), which
// is also how records and the JSON output keep it.
type Link struct {
	Kind LinkKind
	PR   Ref // the other end; zero for ReachedStart
}

// LinkStart is the link of the PR resolution started from.
var LinkStart = Link{Kind: ReachedStart}

// LinkDependsOnIn is the link of a member named on from's Depends-On lines.
func LinkDependsOnIn(from Ref) Link { return Link{Kind: ReachedDependsOnIn, PR: from} }

// LinkDependsOn is the link of a member whose own Depends-On names to.
func LinkDependsOn(to Ref) Link { return Link{Kind: ReachedDependsOn, PR: to} }

// LinkSameBranch is the link of a member whose head branch matches other's.
func LinkSameBranch(other Ref) Link { return Link{Kind: ReachedSameBranch, PR: other} }

func (l Link) String() string {
	if l.Kind == ReachedStart {
		return string(l.Kind)
	}
	return string(l.Kind) + " " + l.PR.String()
}

// MarshalText writes the link as its sentence.
func (l Link) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a link's sentence back.
func (l *Link) UnmarshalText(b []byte) error {
	s := string(b)
	if s == string(ReachedStart) {
		*l = LinkStart
		return nil
	}
	for _, k := range []LinkKind{ReachedDependsOnIn, ReachedDependsOn, ReachedSameBranch} {
		if rest, ok := strings.CutPrefix(s, string(k)+" "); ok {
			ref, err := ParseRef(rest, "")
			if err != nil {
				return fmt.Errorf("link %q: %w", s, err)
			}
			*l = Link{Kind: k, PR: ref}
			return nil
		}
	}
	return fmt.Errorf("link %q: not one the resolver makes (start, Depends-On in, depends on, same branch as)", s)
}

// sortLinks orders links for people: the start first, then by sentence.
func sortLinks(ls []Link) {
	sort.Slice(ls, func(i, j int) bool {
		if (ls[i].Kind == ReachedStart) != (ls[j].Kind == ReachedStart) {
			return ls[i].Kind == ReachedStart
		}
		return ls[i].String() < ls[j].String()
	})
}

// LinkWords are links as the sentences people read.
func LinkWords(ls []Link) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.String()
	}
	return out
}
