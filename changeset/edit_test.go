package changeset

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAddDependsOnWhereItCounts(t *testing.T) {
	a := []Ref{{"o/a", 1}}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty body", "", "Depends-On: o/a#1"},
		{"after text, with a blank line", "Fixes it.", "Fixes it.\n\nDepends-On: o/a#1"},
		{"after text ending a line", "Fixes it.\n", "Fixes it.\n\nDepends-On: o/a#1\n"},
		{"after the last Depends-On line", "x\nDepends-On: o/b#2\ny\n", "x\nDepends-On: o/b#2\nDepends-On: o/a#1\ny\n"},
		{"unclosed comment", "Intro\n<!-- template:\nDepends-On: o/x#9",
			"Intro\nDepends-On: o/a#1\n<!-- template:\nDepends-On: o/x#9"},
		{"unclosed comment opened mid-line", "Intro <!-- note", "Depends-On: o/a#1\nIntro <!-- note"},
		{"unclosed fence", "Intro\n\n```sh\nmake", "Intro\n\nDepends-On: o/a#1\n```sh\nmake"},
		{"unclosed fence after a closed comment", "<!-- a -->\n~~~\n-->",
			"<!-- a -->\nDepends-On: o/a#1\n~~~\n-->"},
		{"comment reopened on the line that closed one", "<!-- a\n--> b <!-- c\nd",
			"Depends-On: o/a#1\n<!-- a\n--> b <!-- c\nd"},
		{"Depends-On line before an unclosed block", "Depends-On: o/b#2\n<!--\n",
			"Depends-On: o/b#2\nDepends-On: o/a#1\n<!--\n"},
		{"Depends-On line opening the unclosed comment", "Depends-On: o/b#2 <!-- why\nbecause",
			"Depends-On: o/a#1\nDepends-On: o/b#2 <!-- why\nbecause"},
		{"CRLF body", "Fixes it.\r\n", "Fixes it.\r\n\r\nDepends-On: o/a#1\r\n"},
		{"lone CR ending", "Fixes it.\r", "Fixes it.\r\r\nDepends-On: o/a#1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ed, err := AddDependsOn(tc.body, "o", a)
			if err != nil {
				t.Fatal(err)
			}
			if ed.Body != tc.want || !reflect.DeepEqual(ed.Changed, a) || ed.Unchanged != nil {
				t.Errorf("AddDependsOn(%q) = %q (changed %v), want %q", tc.body, ed.Body, ed.Changed, tc.want)
			}
			if refs := ParseDependsOn(ed.Body, "o"); !hasRef(refs, a[0]) {
				t.Errorf("the added line does not count: %v", refs)
			}
			back, err := RemoveDependsOn(ed.Body, "o", a)
			if err != nil || back.Body != tc.body {
				t.Errorf("RemoveDependsOn gave %q, %v; want the body back, %q", back.Body, err, tc.body)
			}
		})
	}
}

func hasRef(refs []Ref, r Ref) bool {
	for _, x := range refs {
		if x.key() == r.key() {
			return true
		}
	}
	return false
}

func TestRemoveDependsOnAfterUnicodeSpaces(t *testing.T) {
	a := []Ref{{"o/a", 1}}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no-break space after", "Depends-On: o/a#1\u00a0\nrest", "rest"},
		{"no-break space after a full stop", "Depends-On: o/a#1.\u00a0\nrest", "rest"},
		{"no-break space between", "Depends-On: o/a#1\u00a0o/b#2\n", "Depends-On: o/b#2\n"},
		{"em space and ideographic space", "Depends-On:\u2003o/a#1\u3000o/b#2", "Depends-On: o/b#2"},
		{"zero-width space after", "Depends-On: o/a#1\u200b\n", ""},
		{"byte-order mark before", "\ufeffDepends-On: o/a#1", ""},
		{"stray CR after", "Depends-On: o/a#1\r\nrest", "rest"},
		{"stray CR between lines", "Depends-On: o/a#1\rDepends-On: o/b#2\n", "Depends-On: o/b#2\n"},
		{"short form with the PR's owner", "Depends-On: a#1 o/b#2", "Depends-On: o/b#2"},
		{"comment after the refs stays", "Depends-On: o/a#1 o/b#2 <!-- b is optional -->\n", "Depends-On: o/b#2 <!-- b is optional -->\n"},
		{"an unclosed comment on the line keeps hiding", "Depends-On: o/a#1 <!-- hidden\nDepends-On: o/x#1\n-->\n",
			"<!-- hidden\nDepends-On: o/x#1\n-->\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ed, err := RemoveDependsOn(tc.body, "o", a)
			if err != nil {
				t.Fatal(err)
			}
			if ed.Body != tc.want || !reflect.DeepEqual(ed.Changed, a) {
				t.Errorf("RemoveDependsOn(%q) = %q (changed %v), want %q", tc.body, ed.Body, ed.Changed, tc.want)
			}
		})
	}
}

func TestEditDependsOnSaysWhatItDid(t *testing.T) {
	body := "Depends-On: o/a#1\n> Depends-On: o/q#5\n<!-- Depends-On: o/c#3 -->\n"
	ed, err := AddDependsOn(body, "o", []Ref{{"o/a", 1}, {"o/b", 2}, {"o/B", 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ed.Changed, []Ref{{"o/b", 2}}) || !reflect.DeepEqual(ed.Unchanged, []Ref{{"o/a", 1}, {"o/B", 2}}) {
		t.Errorf("link: changed %v unchanged %v", ed.Changed, ed.Unchanged)
	}
	// A reference named only in a quote or a comment is not linked, so
	// unlinking it changes nothing, and says so.
	ed, err = RemoveDependsOn(body, "o", []Ref{{"o/q", 5}, {"o/c", 3}, {"o/a", 1}})
	if err != nil {
		t.Fatal(err)
	}
	if ed.Body != "> Depends-On: o/q#5\n<!-- Depends-On: o/c#3 -->\n" || !reflect.DeepEqual(ed.Changed, []Ref{{"o/a", 1}}) ||
		!reflect.DeepEqual(ed.Unchanged, []Ref{{"o/q", 5}, {"o/c", 3}}) {
		t.Errorf("unlink: %q changed %v unchanged %v", ed.Body, ed.Changed, ed.Unchanged)
	}
	for _, bad := range []Ref{{"o/a b", 1}, {"o/a", 0}, {"a", 1}, {"o/r.git", 1}} {
		ed, err := AddDependsOn(body, "o", []Ref{bad})
		if !errors.Is(err, ErrCannotEdit) || ed.Body != body {
			t.Errorf("AddDependsOn(%#v) = %q, %v; want ErrCannotEdit and the body unchanged", bad, ed.Body, err)
		}
	}
}

// FuzzDependsOnRoundTrip: for any body and any reference it does not link,
// linking it makes ScanDependsOn find it (and changes no other link), and
// unlinking it gives the body back byte for byte.
func FuzzDependsOnRoundTrip(f *testing.F) {
	for _, s := range []string{
		"", "Fixes it.", "Fixes it.\n", "Fixes it.\n\n", "\n", "x\r\ny", "x\ry\r",
		"Depends-On: o/b#2", "Depends-On: o/b#2\n<!--\n", "Intro\n<!-- template:\nDepends-On: o/x#9",
		"Intro\n```\nmake", "Depends-On: o/b#2 <!-- why\nbecause", "> Depends-On: o/a#1\n", "<!-->\n",
		"Depends-On: o/b#2\u00a0junk\n\nDepends-On:\n", "- Depends-On: b#2\r",
	} {
		f.Add(s, "o", "a", 1)
	}
	f.Fuzz(func(t *testing.T, body, owner, repo string, n int) {
		ref := Ref{Repo: owner + "/" + repo, Number: n}
		if back, err := ParseRef(ref.String(), ""); err != nil || back != ref {
			return // not a reference; AddDependsOn refuses it (tested above)
		}
		before, errsBefore := ScanDependsOn(body, owner)
		if hasRef(before, ref) {
			ed, err := AddDependsOn(body, owner, []Ref{ref})
			if err != nil || ed.Body != body || len(ed.Unchanged) != 1 {
				t.Fatalf("linking %v again: %q, %v, %+v", ref, ed.Body, err, ed)
			}
			return
		}
		ed, err := AddDependsOn(body, owner, []Ref{ref})
		if err != nil {
			t.Fatalf("AddDependsOn(%q, %v): %v", body, ref, err)
		}
		after, errsAfter := ScanDependsOn(ed.Body, owner)
		if !hasRef(after, ref) || len(after) != len(before)+1 || len(errsAfter) != len(errsBefore) {
			t.Fatalf("AddDependsOn(%q, %v) = %q, which links %v (errors %v); before %v (errors %v)",
				body, ref, ed.Body, after, errsAfter, before, errsBefore)
		}
		for _, r := range before {
			if !hasRef(after, r) {
				t.Fatalf("AddDependsOn(%q, %v) = %q lost %v", body, ref, ed.Body, r)
			}
		}
		back, err := RemoveDependsOn(ed.Body, owner, []Ref{ref})
		if err != nil || back.Body != body {
			t.Fatalf("RemoveDependsOn(%q, %v) = %q, %v; want %q", ed.Body, ref, back.Body, err, body)
		}
		if strings.Count(ed.Body, "Depends-On: "+ref.String()) < 1 {
			t.Fatalf("AddDependsOn(%q) = %q lacks the line", body, ed.Body)
		}
	})
}
