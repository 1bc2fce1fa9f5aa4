package changeset

import (
	"fmt"
	"sort"
)

// Merge unites changesets resolved from several starting PRs into one.
// They must agree: one sibling pinned to two different PRs is an error.
// A PR left out of one but a member of another is a member; the rest of
// the exclusions are united.
func Merge(all []*Changeset) (*Changeset, error) {
	if len(all) == 1 {
		return all[0], nil
	}
	bySibling := map[string]Member{}
	out := &Changeset{}
	for _, cs := range all {
		for _, m := range cs.Members {
			if prev, ok := bySibling[m.Sibling]; ok {
				if prev.PR.Ref() != m.PR.Ref() {
					return nil, fmt.Errorf("the changesets pin sibling %s to both %s and %s; give PRs whose changesets agree", m.Sibling, prev.PR.Ref(), m.PR.Ref())
				}
				continue
			}
			bySibling[m.Sibling] = m
			out.Members = append(out.Members, m)
		}
	}
	sort.Slice(out.Members, func(i, j int) bool { return refOf(out.Members[i].PR).less(refOf(out.Members[j].PR)) })
	out.Key, out.RunID = Identity(out.Members)
	member := map[string]bool{}
	for _, m := range out.Members {
		member[refOf(m.PR).key()] = true
	}
	excluded := map[string]*Exclusion{}
	for _, cs := range all {
		for _, e := range cs.Excluded {
			k := e.PR.key()
			if member[k] {
				continue
			}
			prev := excluded[k]
			if prev == nil {
				prev = &Exclusion{PR: e.PR, Reason: e.Reason}
				excluded[k] = prev
			}
			if e.Reason == ExcludedUntrustedAuthor {
				prev.Reason = e.Reason
			}
			prev.Links = unite(prev.Links, e.Links)
		}
	}
	for _, e := range excluded {
		out.Excluded = append(out.Excluded, *e)
	}
	sort.Slice(out.Excluded, func(i, j int) bool { return out.Excluded[i].PR.less(out.Excluded[j].PR) })
	return out, nil
}

// unite returns the sorted union of two lists of links.
func unite(a, b []Link) []Link {
	seen := map[Link]bool{}
	var out []Link
	for _, l := range append(append([]Link{}, a...), b...) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sortLinks(out)
	return out
}
