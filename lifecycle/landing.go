package lifecycle

// Landing is where a landing (/workspace merge) is while it has not
// ended.
type Landing string

// The states of a landing.
const (
	// Gating: the bases moved since the tested run; a run onto the new
	// ones decides whether it goes on.
	Gating Landing = "gating"
	// Merging: its members are being merged, in build order.
	Merging Landing = "merging"
	// Halted: GitHub stopped it halfway; what merged is kept, so a
	// person can revert it.
	Halted Landing = "halted"
)
