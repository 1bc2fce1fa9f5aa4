// Package release plans coordinated releases across the siblings of a
// workspace and turns a plan into one release branch and pull request per
// sibling. It reads committed files through git and edits only the exact
// bytes it must change, so every file keeps its formatting.
package release

import (
	"fmt"

	"github.com/provide-io/workspace-bot/internal/version"
)

// Bump is how far a version moves.
type Bump int

// Bumps, in increasing order.
const (
	None Bump = iota
	Patch
	Minor
	Major
)

func (b Bump) String() string {
	switch b {
	case Patch:
		return "patch"
	case Minor:
		return "minor"
	case Major:
		return "major"
	}
	return "none"
}

// MarshalText writes the bump's name, for JSON.
func (b Bump) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// ParseBump reads patch, minor or major.
func ParseBump(s string) (Bump, bool) {
	switch s {
	case "patch":
		return Patch, true
	case "minor":
		return Minor, true
	case "major":
		return Major, true
	}
	return None, false
}

// Version is a release version, MAJOR.MINOR.PATCH.
type Version struct {
	Major, Minor, Patch int
}

// ParseVersion reads a plain MAJOR.MINOR.PATCH version, as written: no
// leading zeros, no pre-release or local part.
func ParseVersion(s string) (Version, error) {
	n, err := version.Release(s)
	if err != nil || len(n) != 3 || fmt.Sprintf("%d.%d.%d", n[0], n[1], n[2]) != s {
		return Version{}, fmt.Errorf("%q is not MAJOR.MINOR.PATCH", s)
	}
	return Version{n[0], n[1], n[2]}, nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less orders versions.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// Effective is the bump that is applied to v: before 1.0 a major bump
// (a breaking change) raises the minor version, as Cargo and most 0.x
// projects read semver; going to 1.0.0 is a deliberate edit.
func (v Version) Effective(b Bump) Bump {
	if b == Major && v.Major == 0 {
		return Minor
	}
	return b
}

// Bump returns the next version after a bump, with the pre-1.0 rule.
func (v Version) Bump(b Bump) Version {
	switch v.Effective(b) {
	case Major:
		return Version{v.Major + 1, 0, 0}
	case Minor:
		return Version{v.Major, v.Minor + 1, 0}
	case Patch:
		return Version{v.Major, v.Minor, v.Patch + 1}
	}
	return v
}

// parts is the version as components, for comparing with specifiers.
func (v Version) parts() []int { return []int{v.Major, v.Minor, v.Patch} }
