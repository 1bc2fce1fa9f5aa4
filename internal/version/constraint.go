package version

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// Constraint is a version requirement such as ">=3.11" or ">=0.1.0,<1",
// as [workspace.tools] and [workspace.python] version write them:
//
//	>=1.2  >1.2  <=1.2  <1.2  ==1.2  !=1.2  ~=1.2  ==3.11.*  !=3.11.*
//	3.11 and 1.6.x (wrknv's form): any 3.11.* or 1.6.*
//	^1.2.3 (>=1.2.3,<2)  ~1.2.3 (>=1.2.3,<1.3)  * or "": any version
//
// joined by commas, all of which must hold, and compared as PEP 440
// compares: 3.11 == 3.11.0, a pre-release (3.13.0rc1, 1.0.0-beta) sorts
// before its release and a post-release after, and an upper bound "<2"
// leaves out 2's pre-releases. The zero Constraint allows everything.
type Constraint struct {
	text string
	// pep is the constraint in PEP 440's spelling, checked when parsed
	// and read again by Allows: a Specifiers value holds funcs, and a
	// Constraint is compared with == and reflect.DeepEqual.
	pep string
}

var opRe = regexp.MustCompile(`^(===|==|!=|<=|>=|~=|<|>|=|\^|~)?\s*(.*)$`)

// ParseConstraint reads a constraint; the error says what is wrong with it.
func ParseConstraint(text string) (Constraint, error) {
	c := Constraint{text: strings.TrimSpace(text)}
	if c.text == "" || c.text == "*" {
		return c, nil
	}
	var pep []string
	for _, part := range strings.Split(c.text, ",") {
		p, err := toPEP440(strings.TrimSpace(part))
		if err != nil {
			return Constraint{}, err
		}
		pep = append(pep, p...)
	}
	c.pep = strings.Join(pep, ",")
	if _, err := pep440.NewSpecifiers(c.pep); err != nil {
		return Constraint{}, fmt.Errorf("%q is not a version constraint: %w", c.text, err)
	}
	return c, nil
}

// toPEP440 checks one clause and spells it as PEP 440 specifiers.
func toPEP440(part string) ([]string, error) {
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
		if _, err := releaseOf(wild); err != nil {
			return nil, fmt.Errorf("%q: %q is not a version", part, wild)
		}
		if op == "" {
			op = "=="
		}
		return []string{op + wild + ".*"}, nil
	}
	v, err := pep440.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%q: %q is not a version", part, text)
	}
	switch op {
	case "":
		// A bare version means that release line, as wrknv's "1.6.x" does.
		return []string{"==" + v.BaseVersion() + ".*"}, nil
	case "~=":
		if rel, _ := releaseOf(v.BaseVersion()); len(rel) < 2 {
			return nil, fmt.Errorf("%q: ~= needs at least two parts, such as ~=1.4", part)
		}
	case "^":
		// Up to the next change of the first non-zero part.
		rel, _ := releaseOf(v.BaseVersion())
		i := 0
		for i < len(rel)-1 && rel[i] == 0 {
			i++
		}
		return []string{">=" + v.String(), "<" + bump(rel, i)}, nil
	case "~":
		// Up to the next minor (or major when only a major is given).
		rel, _ := releaseOf(v.BaseVersion())
		return []string{">=" + v.String(), "<" + bump(rel, min(1, len(rel)-1))}, nil
	}
	return []string{op + v.String()}, nil
}

// releaseOf is the numeric release of a plain version, epoch and all
// suffixes left out.
func releaseOf(s string) ([]int, error) {
	if _, after, ok := strings.Cut(s, "!"); ok {
		s = after
	}
	return splitInts(strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V"))
}

// bump is rel raised at part i, the parts after it dropped.
func bump(rel []int, i int) string {
	out := make([]string, i+1)
	for j := range i {
		out[j] = strconv.Itoa(rel[j])
	}
	out[i] = strconv.Itoa(rel[i] + 1)
	return strings.Join(out, ".")
}

// String is the constraint as written.
func (c Constraint) String() string { return c.text }

// IsZero reports a constraint that allows every version.
func (c Constraint) IsZero() bool { return c.pep == "" }

// Allows reports whether version (such as "3.11.4", "v0.4.18" or
// "3.13.0rc1") satisfies every clause. A string that is not a version
// satisfies only the zero Constraint.
func (c Constraint) Allows(v string) bool {
	if c.IsZero() {
		return true
	}
	specs, err := pep440.NewSpecifiers(c.pep)
	if err != nil {
		return false
	}
	ver, err := Parse(v)
	if err != nil {
		return false
	}
	return specs.Check(ver)
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
