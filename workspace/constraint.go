package workspace

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Constraint is a version requirement such as ">=3.11" or ">=0.1.0,<1",
// as [workspace.tools] and [workspace.python] version write them. It reads
// the subset of PEP 440 and semver that people write:
//
//	>=1.2  >1.2  <=1.2  <1.2  ==1.2  !=1.2  ~=1.2  ==3.11.*  !=3.11.*
//	3.11 and 1.6.x (wrknv's form): any 3.11.* or 1.6.*
//	^1.2.3 (>=1.2.3,<2)  ~1.2.3 (>=1.2.3,<1.3)  * or "": any version
//
// joined by commas, all of which must hold. Versions compare by their
// numeric parts, missing parts being 0 (3.11 == 3.11.0); a pre-release
// (3.13.0rc1, 1.0.0-beta) sorts before its release, a post-release after,
// and a "+local" suffix is ignored. The zero Constraint allows everything.
type Constraint struct {
	text    string
	clauses []clause
}

type clause struct {
	op     string // one of ==, !=, <, <=, >, >=, ==* (prefix), !=* (not prefix)
	v      version
	prefix []int // for ==* and !=*
}

// ParseConstraint reads a constraint; the error says what is wrong with it.
func ParseConstraint(text string) (Constraint, error) {
	c := Constraint{text: strings.TrimSpace(text)}
	if c.text == "" || c.text == "*" {
		return c, nil
	}
	for _, part := range strings.Split(c.text, ",") {
		cl, err := parseClauses(strings.TrimSpace(part))
		if err != nil {
			return Constraint{}, err
		}
		c.clauses = append(c.clauses, cl...)
	}
	return c, nil
}

// String is the constraint as written.
func (c Constraint) String() string { return c.text }

// IsZero reports a constraint that allows every version.
func (c Constraint) IsZero() bool { return len(c.clauses) == 0 }

// Allows reports whether version (such as "3.11.4", "v0.4.18" or
// "3.13.0rc1") satisfies every clause. A string that is not a version
// satisfies only the zero Constraint.
func (c Constraint) Allows(v string) bool {
	if c.IsZero() {
		return true
	}
	ver, ok := parseVersion(v)
	if !ok {
		return false
	}
	for _, cl := range c.clauses {
		if !cl.allows(ver) {
			return false
		}
	}
	return true
}

func (cl clause) allows(v version) bool {
	switch cl.op {
	case "==*":
		return v.hasPrefix(cl.prefix)
	case "!=*":
		return !v.hasPrefix(cl.prefix)
	}
	n := v.compare(cl.v)
	switch cl.op {
	case "==":
		return n == 0
	case "!=":
		return n != 0
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	default: // >=
		return n >= 0
	}
}

var opRe = regexp.MustCompile(`^(===|==|!=|<=|>=|~=|<|>|=|\^|~)?\s*(.*)$`)

func parseClauses(part string) ([]clause, error) {
	if part == "" {
		return nil, fmt.Errorf("an empty clause (a stray comma?)")
	}
	m := opRe.FindStringSubmatch(part)
	op, text := m[1], strings.TrimSpace(m[2])
	if op == "=" || op == "===" {
		op = "=="
	}
	if text == "" {
		return nil, fmt.Errorf("%q has no version", part)
	}
	if wild, ok := strings.CutSuffix(text, ".*"); ok || strings.HasSuffix(text, ".x") || strings.HasSuffix(text, ".X") {
		if !ok {
			wild = text[:len(text)-2]
		}
		if op != "" && op != "==" && op != "!=" {
			return nil, fmt.Errorf("%q: a wildcard goes only with == or !=", part)
		}
		rel, ok := parseRelease(wild)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not a version", part, wild)
		}
		if op == "!=" {
			return []clause{{op: "!=*", prefix: rel}}, nil
		}
		return []clause{{op: "==*", prefix: rel}}, nil
	}
	v, ok := parseVersion(text)
	if !ok || v.rest != "" {
		return nil, fmt.Errorf("%q: %q is not a version", part, text)
	}
	switch op {
	case "":
		// A bare version means that release line, as wrknv's "1.6.x" does.
		return []clause{{op: "==*", prefix: v.release}}, nil
	case "~=":
		if len(v.release) < 2 {
			return nil, fmt.Errorf("%q: ~= needs at least two parts, such as ~=1.4", part)
		}
		return []clause{{op: ">=", v: v}, {op: "==*", prefix: v.release[:len(v.release)-1]}}, nil
	case "^":
		// Up to the next change of the first non-zero part.
		upper := make([]int, len(v.release))
		i := 0
		for i < len(v.release)-1 && v.release[i] == 0 {
			i++
		}
		copy(upper, v.release[:i])
		upper[i] = v.release[i] + 1
		return []clause{{op: ">=", v: v}, {op: "<", v: version{release: upper, phase: phaseDev}}}, nil
	case "~":
		// Up to the next minor (or major when only a major is given).
		i := min(1, len(v.release)-1)
		upper := make([]int, i+1)
		copy(upper, v.release[:i])
		upper[i] = v.release[i] + 1
		return []clause{{op: ">=", v: v}, {op: "<", v: version{release: upper, phase: phaseDev}}}, nil
	}
	return []clause{{op: op, v: v}}, nil
}

// Release phases, in order: 1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0 < 1.0.post1.
const (
	phaseDev = iota
	phaseAlpha
	phaseBeta
	phaseRC
	phaseFinal
	phasePost
)

type version struct {
	release []int
	phase   int
	num     int
	rest    string // anything after the version that was not understood
}

var (
	releaseRe = regexp.MustCompile(`^[vV]?(\d{1,9}(?:\.\d{1,9}){0,9})`)
	suffixRe  = regexp.MustCompile(`^[-_.]?(dev|alpha|beta|preview|pre|rc|a|b|c|post|r|rev)[-_.]?(\d{0,9})`)
)

func parseRelease(s string) ([]int, bool) {
	m := releaseRe.FindStringSubmatch(s)
	if m == nil || len(m[0]) != len(s) {
		return nil, false
	}
	return splitInts(m[1]), true
}

func splitInts(s string) []int {
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

// parseVersion reads a version leniently: release numbers, then an
// optional pre- or post-release, then "+local" (ignored). ok is false
// without release numbers.
func parseVersion(s string) (version, bool) {
	s = strings.TrimSpace(s)
	m := releaseRe.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	v := version{release: splitInts(m[1]), phase: phaseFinal}
	rest := s[len(m[0]):]
	if sm := suffixRe.FindStringSubmatch(strings.ToLower(rest)); sm != nil {
		switch sm[1] {
		case "dev":
			v.phase = phaseDev
		case "a", "alpha":
			v.phase = phaseAlpha
		case "b", "beta":
			v.phase = phaseBeta
		case "rc", "c", "pre", "preview":
			v.phase = phaseRC
		default:
			v.phase = phasePost
		}
		v.num, _ = strconv.Atoi(sm[2])
		rest = rest[len(sm[0]):]
	}
	if i := strings.IndexByte(rest, '+'); i == 0 {
		rest = ""
	}
	v.rest = rest
	return v, true
}

func (v version) compare(o version) int {
	for i := 0; i < max(len(v.release), len(o.release)); i++ {
		a, b := part(v.release, i), part(o.release, i)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.phase != o.phase:
		if v.phase < o.phase {
			return -1
		}
		return 1
	case v.num != o.num:
		if v.num < o.num {
			return -1
		}
		return 1
	}
	return 0
}

func (v version) hasPrefix(p []int) bool {
	for i, n := range p {
		if part(v.release, i) != n {
			return false
		}
	}
	return true
}

func part(r []int, i int) int {
	if i < len(r) {
		return r[i]
	}
	return 0
}

var versionInRe = regexp.MustCompile(`(?:^|[^\w.])[vV]?(\d+(?:\.\d+)+(?:[-.]?(?:dev|a|b|rc|alpha|beta|post)\d*)?)`)

// VersionIn finds the first version in a tool's --version output, such as
// "0.4.18" in "uv 0.4.18 (Homebrew 2024-09-17)" or "3.11.4" in
// "Python 3.11.4"; "" when there is none.
func VersionIn(output string) string {
	m := versionInRe.FindStringSubmatch(output)
	if m == nil {
		return ""
	}
	return m[1]
}
