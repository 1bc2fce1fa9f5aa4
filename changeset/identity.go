package changeset

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Identity computes a changeset's Key (its sorted refs joined with ",",
// the same whatever the SHAs) and RunID (a short hash of the sorted
// ref@sha list: the same pinned SHAs give the same id).
func Identity(members []Member) (key, runID string) {
	refs := make([]Ref, len(members))
	sha := map[string]string{}
	for i, m := range members {
		refs[i] = refOf(m.PR)
		sha[refs[i].key()] = m.PR.HeadSHA
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].less(refs[j]) })
	names := make([]string, len(refs))
	pins := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
		pins[i] = r.String() + "@" + sha[r.key()]
	}
	sum := sha256.Sum256([]byte(strings.Join(pins, "\n")))
	return strings.Join(names, ","), hex.EncodeToString(sum[:])[:12]
}
