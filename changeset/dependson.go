package changeset

import (
	"regexp"
	"strconv"
	"strings"
)

// A Depends-On line is, case-insensitively, "Depends-On:" at the start of
// a line (after optional whitespace and an optional list bullet) followed by
// one or more references separated by spaces or commas. Lines inside fenced
// code blocks, HTML comments (PR templates keep examples there) and quotes
// ("> Depends-On: ...", someone else's words) are not read.
var dependsRe = regexp.MustCompile(`(?i)^[ \t]*(?:[-*+][ \t]+)?depends-on[ \t]*:(.*)$`)

// depToken is one word on a Depends-On line.
type depToken struct {
	text string
	ref  Ref
	err  error // not a reference
}

// bodyLine is one line of a body with its Depends-On reading, if any.
type bodyLine struct {
	text    string // without the line ending
	eol     string // "\n", "\r\n" or "" for a last line without one
	dep     bool
	colon   int // index of the ':' in text, for rewriting
	tokens  []depToken
	content string // whole original line including eol
}

// scanBody splits a body into lines and reads the Depends-On lines. With
// loose set, r#N without a default owner yields an owner-less Ref (Repo is
// just the name) so that SetDependsOn can still match it.
func scanBody(body, defaultOwner string, loose bool) []bodyLine {
	var lines []bodyLine
	var fence string // the opening fence while inside a code block
	inComment := false
	for rest := body; rest != ""; {
		var ln bodyLine
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			ln.content, rest = rest, ""
		} else {
			ln.content, rest = rest[:i+1], rest[i+1:]
		}
		ln.text = strings.TrimSuffix(ln.content, "\n")
		ln.eol = ln.content[len(ln.text):]
		if strings.HasSuffix(ln.text, "\r") {
			ln.text = strings.TrimSuffix(ln.text, "\r")
			ln.eol = "\r" + ln.eol
		}
		lines = append(lines, ln)
		trimmed := strings.TrimLeft(ln.text, " \t")
		switch {
		case fence != "":
			if f := fenceOf(trimmed); f != "" && f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(trimmed[len(f):]) == "" {
				fence = ""
			}
			continue
		case inComment:
			if strings.Contains(ln.text, "-->") {
				inComment = false
			}
			continue
		case fenceOf(trimmed) != "":
			fence = fenceOf(trimmed)
			continue
		case strings.HasPrefix(trimmed, "<!--"):
			inComment = !strings.Contains(trimmed[4:], "-->")
			continue
		case strings.HasPrefix(trimmed, ">"):
			continue
		}
		m := dependsRe.FindStringSubmatchIndex(ln.text)
		if m == nil {
			continue
		}
		last := &lines[len(lines)-1]
		last.dep = true
		last.colon = m[2] - 1
		for _, word := range strings.FieldsFunc(ln.text[m[2]:m[3]], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			word = strings.TrimRight(word, ".;")
			if word == "" {
				continue
			}
			ref, err := ParseRef(word, defaultOwner)
			if err != nil && loose && defaultOwner == "" {
				if sm := shortRe.FindStringSubmatch(word); sm != nil && sm[1] == "" {
					if n, aerr := strconv.Atoi(sm[3]); aerr == nil && n > 0 {
						ref, err = Ref{Repo: sm[2], Number: n}, nil
					}
				}
			}
			last.tokens = append(last.tokens, depToken{text: word, ref: ref, err: err})
		}
	}
	return lines
}

// fenceOf returns the run of ``` or ~~~ that opens a code fence, or "".
func fenceOf(s string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == c {
			n++
		}
		if n >= 3 {
			return s[:n]
		}
	}
	return ""
}

// ScanDependsOn returns the references on a body's Depends-On lines, in
// order and without duplicates, and an error for each word on those lines
// that is not a reference. r#N means a repository of defaultOwner.
func ScanDependsOn(body, defaultOwner string) ([]Ref, []error) {
	var refs []Ref
	var errs []error
	seen := map[string]bool{}
	for _, ln := range scanBody(body, defaultOwner, false) {
		for _, t := range ln.tokens {
			if t.err != nil {
				errs = append(errs, t.err)
				continue
			}
			if !seen[t.ref.key()] {
				seen[t.ref.key()] = true
				refs = append(refs, t.ref)
			}
		}
	}
	return refs, errs
}

// ParseDependsOn returns the references on a body's Depends-On lines,
// skipping words that are not references (ScanDependsOn reports those).
func ParseDependsOn(body, defaultOwner string) []Ref {
	refs, _ := ScanDependsOn(body, defaultOwner)
	return refs
}

// matches reports whether a reference read from a body (possibly without
// an owner) names want.
func matches(got, want Ref) bool {
	if got.Number != want.Number {
		return false
	}
	if strings.Contains(got.Repo, "/") {
		return strings.EqualFold(got.Repo, want.Repo)
	}
	_, name, _ := strings.Cut(want.Repo, "/")
	return strings.EqualFold(got.Repo, name)
}

// SetDependsOn rewrites a body so that its Depends-On lines name exactly
// refs, keeping everything else byte for byte: a line whose references all
// stay is left as written, a line losing some is rewritten with the rest,
// a line losing all is removed, and new references are added as
// "Depends-On: owner/repo#N" lines after the last Depends-On line, or at
// the end of the body.
func SetDependsOn(body string, refs []Ref) string {
	lines := scanBody(body, "", true)
	nl := "\n"
	if strings.Contains(body, "\r\n") {
		nl = "\r\n"
	}
	present := make([]bool, len(refs))
	lastDep := -1
	for i, ln := range lines {
		if !ln.dep {
			continue
		}
		lastDep = i
		for _, t := range ln.tokens {
			for j, r := range refs {
				if t.err == nil && matches(t.ref, r) {
					present[j] = true
				}
			}
		}
	}
	var add []string
	seen := map[string]bool{}
	for j, r := range refs {
		if !present[j] && !seen[r.key()] {
			seen[r.key()] = true
			add = append(add, "Depends-On: "+r.String())
		}
	}

	var b strings.Builder
	wroteEOL := true // whether the output so far ends a line
	for i, ln := range lines {
		if !ln.dep {
			b.WriteString(ln.content)
			wroteEOL = ln.eol != ""
		} else if kept, changed := keptTokens(ln, refs); !changed {
			b.WriteString(ln.content)
			wroteEOL = ln.eol != ""
		} else if len(kept) > 0 {
			b.WriteString(ln.text[:ln.colon+1] + " " + strings.Join(kept, " ") + ln.eol)
			wroteEOL = ln.eol != ""
		}
		if i == lastDep && len(add) > 0 {
			if !wroteEOL {
				b.WriteString(nl)
			}
			b.WriteString(strings.Join(add, nl))
			if ln.eol != "" || i < len(lines)-1 {
				b.WriteString(nl)
				wroteEOL = true
			} else {
				wroteEOL = false
			}
		}
	}
	if lastDep < 0 && len(add) > 0 {
		out := b.String()
		if out != "" {
			if !strings.HasSuffix(out, "\n") {
				b.WriteString(nl)
				out += nl
			}
			if !strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(out, "\n"), "\r"), "\n") {
				b.WriteString(nl) // a blank line before the block
			}
		}
		b.WriteString(strings.Join(add, nl))
	}
	return b.String()
}

// keptTokens returns the words of a Depends-On line that stay, and whether
// the line must change: it stays as written while every reference on it is
// still wanted.
func keptTokens(ln bodyLine, refs []Ref) ([]string, bool) {
	var kept []string
	changed := false
	for _, t := range ln.tokens {
		if t.err != nil {
			continue // dropped only if the line is rewritten anyway
		}
		want := false
		for _, r := range refs {
			if matches(t.ref, r) {
				want = true
				break
			}
		}
		if want {
			kept = append(kept, t.text)
		} else {
			changed = true
		}
	}
	return kept, changed
}
