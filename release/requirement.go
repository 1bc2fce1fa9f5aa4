package release

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/provide-io/workspace-bot/internal/version"
)

// clause is one version specifier of a requirement, such as ">=0.4.0",
// with the byte offsets of its operator and version inside the
// requirement string, so a rewrite touches only those bytes.
type clause struct {
	op         string
	opStart    int
	ver        string
	start, end int
}

// requirement is a PEP 508 dependency string: a name, optional extras, and
// specifiers; markers after ";" are kept as they are.
type requirement struct {
	text    string
	name    string // normalized
	clauses []clause
}

var reqNameRe = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

var operators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// normalize is a package name as PEP 503 compares them.
func normalize(name string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "-"))
}

// parseRequirement reads a dependency string. URL requirements
// (name @ url) have no clauses.
func parseRequirement(s string) (requirement, error) {
	m := reqNameRe.FindStringSubmatchIndex(s)
	if m == nil {
		return requirement{}, fmt.Errorf("%q has no package name", s)
	}
	r := requirement{text: s, name: normalize(s[m[2]:m[3]])}
	i := m[1]
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	skip()
	if i < len(s) && s[i] == '[' {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return r, fmt.Errorf("%q: unclosed extras", s)
		}
		i += j + 1
		skip()
	}
	if i < len(s) && s[i] == '(' {
		i++
	}
	end := len(s)
	if j := strings.IndexAny(s[i:], ";)"); j >= 0 {
		end = i + j
	}
	if i < end && s[i] == '@' {
		return r, nil
	}
	for i < end {
		skip()
		if i >= end {
			break
		}
		op := ""
		for _, o := range operators {
			if strings.HasPrefix(s[i:end], o) {
				op = o
				break
			}
		}
		if op == "" {
			return r, fmt.Errorf("%q: expected a version operator (>=, ~=, ==, <, ...) at %q", s, s[i:end])
		}
		c := clause{op: op, opStart: i}
		i += len(op)
		skip()
		c.start = i
		for i < end && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		c.end = i
		c.ver = s[c.start:c.end]
		if c.ver == "" {
			return r, fmt.Errorf("%q: %s has no version", s, op)
		}
		r.clauses = append(r.clauses, c)
		skip()
		if i < end && s[i] == ',' {
			i++
		}
	}
	return r, nil
}

// specVersion is a specifier's version: numeric components, optionally
// ending in ".*". Rewriting a range is arithmetic on these.
type specVersion struct {
	parts    []int
	wildcard bool
}

func parseSpecVersion(s string) (specVersion, error) {
	var sv specVersion
	if strings.HasSuffix(s, ".*") {
		sv.wildcard, s = true, strings.TrimSuffix(s, ".*")
	}
	parts, err := version.Release(s)
	sv.parts = parts
	return sv, err
}

// allows says whether the clause admits v, as PEP 440 compares them
// (internal/version); the clauses a release can rewrite are checked
// first, so a range it could not rewrite is refused as before.
func (c clause) allows(v Version) (bool, error) {
	if c.op == "===" {
		return c.ver == v.String(), nil
	}
	sv, err := parseSpecVersion(c.ver)
	if err != nil {
		return false, err
	}
	if sv.wildcard && c.op != "==" && c.op != "!=" {
		return false, fmt.Errorf("%s%s: a wildcard only goes with == or !=", c.op, c.ver)
	}
	if c.op == "~=" && len(sv.parts) < 2 {
		return false, fmt.Errorf("~=%s: a compatible release needs at least two components", c.ver)
	}
	return version.Satisfies(v.String(), c.op+c.ver)
}

// allows says whether every clause admits v.
func (r requirement) allows(v Version) (bool, error) {
	for _, c := range r.clauses {
		ok, err := c.allows(v)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// specifier is the requirement's clauses as written, for messages.
func (r requirement) specifier() string {
	if len(r.clauses) == 0 {
		return ""
	}
	return strings.TrimSpace(r.text[r.clauses[0].opStart:r.clauses[len(r.clauses)-1].end])
}

// like formats v with n components when the dropped ones are zero, so
// ">=0.4" becomes ">=0.5" and not ">=0.5.0".
func like(v []int, n int) string {
	keep := len(v)
	for keep > n && v[keep-1] == 0 {
		keep--
	}
	out := make([]string, 0, max(keep, n))
	for i := 0; i < max(keep, n); i++ {
		x := 0
		if i < len(v) {
			x = v[i]
		}
		out = append(out, strconv.Itoa(x))
	}
	return strings.Join(out, ".")
}

// rewrite returns the requirement text admitting v, the new version of
// the dependency, which was old before the release; changed is false when
// the range already admits v. Lower bounds move up to v, upper bounds that
// exclude v move up by the same step they allowed before (<0.5 over 0.4.x
// becomes <0.6 over 0.5.x), pins follow v; operators and spacing are kept.
func (r requirement) rewrite(v, old Version, bump Bump) (text string, changed bool, err error) {
	ok, err := r.allows(v)
	if err != nil || ok {
		return r.text, false, err
	}
	type edit struct {
		start, end int
		with       string
	}
	var edits []edit
	p := v.parts()
	for _, c := range r.clauses {
		if c.op == "===" || c.op == "!=" {
			if ok, _ := c.allows(v); !ok {
				return "", false, fmt.Errorf("%s%s excludes %s and cannot be rewritten; edit it by hand", c.op, c.ver, v)
			}
			continue
		}
		sv, err := parseSpecVersion(c.ver)
		if err != nil {
			return "", false, err
		}
		n := len(sv.parts)
		switch c.op {
		case ">=":
			edits = append(edits, edit{c.start, c.end, like(p, n)})
		case ">":
			// ">v" would exclude v itself.
			edits = append(edits, edit{c.opStart, c.end, ">=" + like(p, n)})
		case "<=":
			if ok, _ := c.allows(v); !ok {
				edits = append(edits, edit{c.start, c.end, like(p, n)})
			}
		case "<":
			if ok, _ := c.allows(v); !ok {
				edits = append(edits, edit{c.start, c.end, raiseUpper(sv.parts, old, v, bump)})
			}
		case "==":
			if sv.wildcard {
				edits = append(edits, edit{c.start, c.end, like(p[:min(n, len(p))], n) + ".*"})
			} else {
				edits = append(edits, edit{c.start, c.end, like(p, n)})
			}
		case "~=":
			keep := p
			if n < len(p) {
				keep = p[:n]
			}
			edits = append(edits, edit{c.start, c.end, like(keep, n)})
		}
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(r.text[last:e.start])
		b.WriteString(e.with)
		last = e.end
	}
	b.WriteString(r.text[last:])
	out, err := parseRequirement(b.String())
	if err == nil {
		ok, err = out.allows(v)
	}
	if err != nil || !ok {
		return "", false, fmt.Errorf("could not rewrite %q to admit %s; edit it by hand", r.text, v)
	}
	return b.String(), true, nil
}

// raiseUpper moves an exclusive upper bound past v by the step it allowed
// over old: the first component where the bound and old differ.
func raiseUpper(upper []int, old, v Version, bump Bump) string {
	o := old.parts()
	level := -1
	for i := 0; i < len(upper) && i < 3; i++ {
		if upper[i] != o[i] {
			level = i
			break
		}
	}
	if level < 0 {
		level = map[Bump]int{Major: 0, Minor: 1, Patch: 2}[old.Effective(bump)]
	}
	p := v.parts()
	next := make([]int, max(len(upper), level+1))
	copy(next, p[:level])
	next[level] = p[level] + 1
	return like(next, len(upper))
}
