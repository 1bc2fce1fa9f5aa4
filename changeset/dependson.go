package changeset

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/provide-io/workspace-bot/internal/mdlines"
)

// A Depends-On line is, case-insensitively, "Depends-On:" at the start of
// a line (after optional whitespace and an optional list bullet) followed by
// one or more references separated by commas or spaces (any Unicode space:
// a no-break space or byte-order mark pasted from a web page counts like
// any other). Only
// lines that count are read (see internal/mdlines): lines inside fenced
// code blocks and HTML comments (PR templates keep examples there) and
// quotes ("> Depends-On: ...", someone else's words) are not, nor the part
// of a line after "<!--".
var dependsRe = regexp.MustCompile(`(?i)^` + space + `*(?:[-*+]` + space + `+)?depends-on` + space + `*:(.*)$`)

// space is a space before or inside "Depends-On:": Unicode spaces and the
// invisible characters pasting leaves, as separator says.
const space = `[\t\p{Zs}\x{200b}\x{200c}\x{200d}\x{2060}\x{feff}]`

// depToken is one word on a Depends-On line.
type depToken struct {
	text string
	ref  Ref
	err  error // not a reference
}

// bodyLine is one line of a body with its Depends-On reading, if any.
type bodyLine struct {
	mdlines.Line
	dep    bool
	colon  int // index of the ':' in Text, for rewriting
	tokens []depToken
}

// separator reports whether r separates the words of a Depends-On line:
// commas, Unicode spaces, and the invisible characters that copying from
// a web page leaves between words.
func separator(r rune) bool {
	switch r {
	case ',', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return unicode.IsSpace(r)
}

// scanBody splits a body into lines and reads the Depends-On lines. With
// loose set, r#N without a default owner yields an owner-less Ref (Repo is
// just the name) so that SetDependsOn can still match it.
func scanBody(body, defaultOwner string, loose bool) []bodyLine {
	src := mdlines.Lines(body)
	lines := make([]bodyLine, len(src))
	for i, ln := range src {
		lines[i].Line = ln
		if !ln.Counts {
			continue
		}
		m := dependsRe.FindStringSubmatchIndex(ln.Visible)
		if m == nil {
			continue
		}
		bl := &lines[i]
		bl.dep = true
		bl.colon = m[2] - 1
		for _, word := range strings.FieldsFunc(ln.Visible[m[2]:m[3]], separator) {
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
			bl.tokens = append(bl.tokens, depToken{text: word, ref: ref, err: err})
		}
	}
	return lines
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

// Edit is what AddDependsOn or RemoveDependsOn did.
type Edit struct {
	Body string // the new body; the old one when nothing changed
	// Changed are the references added (link) or removed (unlink).
	Changed []Ref
	// Unchanged are the references that needed nothing: already linked
	// (link) or not linked (unlink). A Depends-On line in a quote, an HTML
	// comment or a code block does not link, so unlinking a reference
	// named only there leaves it in Unchanged.
	Unchanged []Ref
}

// ErrCannotEdit is wrapped by the errors of AddDependsOn and
// RemoveDependsOn: the change cannot be made, and the body is left alone.
var ErrCannotEdit = errors.New("cannot edit the Depends-On lines")

// AddDependsOn adds a "Depends-On: owner/repo#N" line for each of refs
// that the body does not link yet, where it counts and changing nothing
// else:
//   - after the last Depends-On line that ends outside any code block or
//     HTML comment;
//   - else at the end of the body, after a blank line, when the body ends
//     outside any block;
//   - else, when the body ends in an unclosed "<!--", code fence or HTML
//     block that only its end tag closes (<pre>, <script>, ...), just
//     before the line where that block opens. Closing the block instead
//     would change how the author's text renders; everything after an
//     unclosed opener is hidden, so that line is the last place a new line
//     can count.
//
// RemoveDependsOn undoes exactly what AddDependsOn did: for any body and
// any reference it does not link, link then unlink gives the body back byte
// for byte. References read as ScanDependsOn(body, owner) reads them. An
// invalid reference, or a result that would not read back as asked, is an
// error wrapping ErrCannotEdit; the body is then unchanged.
func AddDependsOn(body, owner string, refs []Ref) (Edit, error) {
	for _, r := range refs {
		if back, err := ParseRef(r.String(), ""); err != nil || back != r {
			return Edit{Body: body}, fmt.Errorf("%w: %q is not a pull request reference", ErrCannotEdit, r.String())
		}
	}
	before, _ := ScanDependsOn(body, owner)
	have := refKeys(before)
	ed := Edit{Body: body}
	for _, r := range refs {
		switch {
		case have[r.key()]:
			ed.Unchanged = append(ed.Unchanged, r)
		default:
			have[r.key()] = true
			ed.Changed = append(ed.Changed, r)
		}
	}
	if len(ed.Changed) == 0 {
		return ed, nil
	}
	ed.Body = addLines(body, scanBody(body, owner, false), ed.Changed)
	return ed, checkEdit(ed.Body, owner, have, "link "+refList(ed.Changed))
}

// RemoveDependsOn removes refs from the body's Depends-On lines: a line
// whose references all go is removed, a line keeping some is rewritten
// with the rest, and everything else stays byte for byte. It reads and
// fails as AddDependsOn does.
func RemoveDependsOn(body, owner string, refs []Ref) (Edit, error) {
	lines := scanBody(body, owner, false)
	before, _ := ScanDependsOn(body, owner)
	have := refKeys(before)
	ed := Edit{Body: body}
	var remove []Ref
	for _, r := range refs {
		if have[r.key()] {
			delete(have, r.key())
			remove = append(remove, r)
			ed.Changed = append(ed.Changed, r)
		} else {
			ed.Unchanged = append(ed.Unchanged, r)
		}
	}
	if len(remove) == 0 {
		return ed, nil
	}
	drop := func(t depToken) bool {
		for _, r := range remove {
			if t.ref.key() == r.key() {
				return true
			}
		}
		return false
	}
	ed.Body = dropTokens(lines, drop)
	return ed, checkEdit(ed.Body, owner, have, "unlink "+refList(ed.Changed))
}

// checkEdit makes sure an edited body links exactly want, so an edit never
// silently fails to take effect.
func checkEdit(body, owner string, want map[string]bool, what string) error {
	after, _ := ScanDependsOn(body, owner)
	got := refKeys(after)
	if len(got) != len(want) {
		return fmt.Errorf("%w: %s: the edited body links %s", ErrCannotEdit, what, refList(after))
	}
	for k := range want {
		if !got[k] {
			return fmt.Errorf("%w: %s: the edited body links %s", ErrCannotEdit, what, refList(after))
		}
	}
	return nil
}

func refKeys(refs []Ref) map[string]bool {
	m := make(map[string]bool, len(refs))
	for _, r := range refs {
		m[r.key()] = true
	}
	return m
}

func refList(refs []Ref) string {
	if len(refs) == 0 {
		return "nothing"
	}
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// newline is the line ending added lines use: CRLF when the body has any
// carriage return (a CR before an added LF would join it into one CRLF
// ending), else LF.
func newline(body string) string {
	if strings.Contains(body, "\r") {
		return "\r\n"
	}
	return "\n"
}

// addLines inserts "Depends-On: ref" lines where AddDependsOn says.
func addLines(body string, lines []bodyLine, refs []Ref) string {
	nl := newline(body)
	add := make([]string, len(refs))
	for i, r := range refs {
		add[i] = "Depends-On: " + r.String()
	}
	block := strings.Join(add, nl)
	lastDep := -1
	for i, ln := range lines {
		if ln.dep && !ln.Open {
			lastDep = i
		}
	}
	switch n := len(lines); {
	case lastDep >= 0 && lines[lastDep].EOL == "":
		return body + nl + block
	case lastDep >= 0:
		at := lines[lastDep].End()
		return body[:at] + block + nl + body[at:]
	case n == 0:
		return block
	case !lines[n-1].Open && lines[n-1].EOL == "":
		return body + nl + nl + block
	case !lines[n-1].Open:
		return body + nl + block + nl
	default:
		// The body ends inside a block: go before the line that opens it,
		// the last line that begins outside every block.
		k := n - 1
		for k > 0 && lines[k-1].Open {
			k--
		}
		at := lines[k].Start
		return body[:at] + block + nl + body[at:]
	}
}

// dropTokens rewrites the Depends-On lines holding a token to drop. A line
// left with no reference goes, unless it opens a comment, whose opening
// stays so the comment hides what it hid. When the lines going end the
// body, the blank line AddDependsOn put before them goes too, and the
// line ending it added after the body's last line.
func dropTokens(lines []bodyLine, drop func(depToken) bool) string {
	out := make([]string, 0, len(lines))
	kept := make([]int, 0, len(lines)) // index in lines of each out entry
	for i, ln := range lines {
		text := ln.Text + ln.EOL
		if ln.dep && lineHas(ln, drop) {
			var words []string
			for _, t := range ln.tokens {
				if t.err == nil && !drop(t) {
					words = append(words, t.text)
				}
			}
			tail := ln.Text[len(ln.Visible):]
			switch {
			case len(words) > 0 && tail != "":
				text = ln.Text[:ln.colon+1] + " " + strings.Join(words, " ") + " " + tail + ln.EOL
			case len(words) > 0:
				text = ln.Text[:ln.colon+1] + " " + strings.Join(words, " ") + ln.EOL
			case tail != "":
				text = tail + ln.EOL
			default:
				continue
			}
		}
		out = append(out, text)
		kept = append(kept, i)
	}
	n := len(lines)
	if n > 0 && (len(kept) == 0 || kept[len(kept)-1] != n-1) {
		// The body's last lines went.
		if j := len(out) - 1; j >= 0 && lines[kept[j]].Text == "" && kept[j] < n-1 && !lines[kept[j]].Open {
			out, kept = out[:j], kept[:j]
		}
		if j := len(out) - 1; j >= 0 && lines[n-1].EOL == "" {
			out[j] = strings.TrimSuffix(out[j], lines[kept[j]].EOL)
		}
	}
	return strings.Join(out, "")
}

func lineHas(ln bodyLine, drop func(depToken) bool) bool {
	for _, t := range ln.tokens {
		if t.err == nil && drop(t) {
			return true
		}
	}
	return false
}

// SetDependsOn rewrites a body so that its Depends-On lines name exactly
// refs, as RemoveDependsOn and AddDependsOn do. An owner-less r#N on a
// line matches any of refs with the name r.
//
// Deprecated: use AddDependsOn and RemoveDependsOn, which read r#N with
// the PR's owner and say what they did or could not do.
func SetDependsOn(body string, refs []Ref) string {
	want := func(got Ref) bool {
		for _, r := range refs {
			if matches(got, r) {
				return true
			}
		}
		return false
	}
	// Add first, after the Depends-On lines still there, so that replacing
	// one reference by another keeps its place.
	lines := scanBody(body, "", true)
	var add []Ref
	seen := map[string]bool{}
	for _, r := range refs {
		present := false
		for _, ln := range lines {
			for _, t := range ln.tokens {
				present = present || (t.err == nil && matches(t.ref, r))
			}
		}
		if !present && !seen[r.key()] {
			seen[r.key()] = true
			add = append(add, r)
		}
	}
	if len(add) > 0 {
		body = addLines(body, lines, add)
		lines = scanBody(body, "", true)
	}
	for _, ln := range lines {
		if ln.dep && lineHas(ln, func(t depToken) bool { return !want(t.ref) }) {
			return dropTokens(lines, func(t depToken) bool { return !want(t.ref) })
		}
	}
	return body
}
