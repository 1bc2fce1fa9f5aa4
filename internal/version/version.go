// Package version owns version parsing and comparison: the versions of
// tools and interpreters that [workspace.tools] and [workspace.python]
// constrain, and the versions and internal ranges of the siblings' Python
// packages that releases bump and rewrite. Parsing and comparing are PEP
// 440's, from github.com/aquasecurity/go-pep440-version; this package adds
// only the spellings people write that PEP 440 lacks (^1.2, ~1.2, 1.6.x, a
// bare 3.11) as PEP 440 ranges.
//
// PEP 440 rather than semver for tools too: what tools print and people
// pin ("3.13.0rc1", "v0.4.18", "1.2.3-rc1") is PEP 440 but not always
// semver (Masterminds/semver refuses "3.13.0rc1"), and semver constraints
// leave out every pre-release (">=3.11" would refuse Python 3.13.0rc1).
package version

import (
	"fmt"
	"strconv"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// Version is a parsed PEP 440 version.
type Version = pep440.Version

// Parse reads a version as PEP 440 does ("v" prefix, pre-, post- and
// dev-releases, "+local", any normal spelling).
func Parse(s string) (Version, error) {
	v, err := pep440.Parse(strings.TrimSpace(s))
	if err != nil {
		return Version{}, fmt.Errorf("%q is not a version", s)
	}
	return v, nil
}

// Release returns the numeric release parts of a plain version such as
// "0.4" or "1.2.3", refusing what has more (pre-, post-, dev-releases,
// local versions, epochs), whose arithmetic a release does not do.
func Release(s string) ([]int, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return nil, fmt.Errorf("version %q is not numeric (pre-releases, local versions and epochs are not supported in internal ranges)", s)
	}
	v, err := pep440.Parse(s)
	if err != nil || v.String() != v.BaseVersion() || strings.Contains(v.String(), "!") {
		return nil, fmt.Errorf("version %q is not numeric (pre-releases, local versions and epochs are not supported in internal ranges)", s)
	}
	return splitInts(v.BaseVersion())
}

func splitInts(s string) ([]int, error) {
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not numeric", s)
		}
		out[i] = n
	}
	return out, nil
}

// Satisfies reports whether version v meets one PEP 440 specifier such as
// ">=0.4" or "==1.*".
func Satisfies(v, specifier string) (bool, error) {
	s, err := pep440.NewSpecifiers(specifier)
	if err != nil {
		return false, fmt.Errorf("%s is not a version specifier: %w", specifier, err)
	}
	ver, err := Parse(v)
	if err != nil {
		return false, err
	}
	return s.Check(ver), nil
}
