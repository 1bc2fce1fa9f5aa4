package land

import "context"

// Release is a landed member that releases a version: its tag goes on
// its merge commit.
type Release struct {
	Member Member
	Tag    string
	SHA    string
	// Publish makes a GitHub release of the tag too, named Name, with
	// Notes.
	Publish     bool
	Name, Notes string
}

// Tagged is what became of one release's tag.
type Tagged struct {
	Release Release
	// Created: made now; false with no Err: it was there already, at
	// this commit.
	Created bool
	Err     error
	// Published: a GitHub release was made now (Publish).
	Published bool
}

// TagReleases tags each release at its merge commit, in the order given
// (dependency order: a sibling's tag never precedes the tags of what it
// depends on). A tag that fails does not stop the others: each says how
// it ended.
func TagReleases(ctx context.Context, g GitHub, rels []Release) []Tagged {
	out := make([]Tagged, 0, len(rels))
	for _, r := range rels {
		t := Tagged{Release: r}
		t.Created, t.Err = g.Tag(ctx, r.Member.Repo, r.Tag, r.SHA)
		if t.Err == nil && r.Publish {
			t.Published, t.Err = g.PublishRelease(ctx, r.Member.Repo, r.Tag, r.Name, r.Notes)
		}
		out = append(out, t)
	}
	return out
}
