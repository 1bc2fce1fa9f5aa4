package changeset

import "fmt"

// Merge unites changesets resolved from several starting PRs into one.
// They must agree: one sibling pinned to two different PRs is an error.
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
	out.Key, out.RunID = Identity(out.Members)
	return out, nil
}
