package changeset

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDependsOn(t *testing.T) {
	body := strings.Join([]string{
		"Fixes the loader.",
		"",
		"Depends-On: https://github.com/o/a/pull/1",
		"depends-on: o/b#2",
		"  DEPENDS-ON :   c#3  ",
		"- Depends-On: o/d#4, o/e#5 o/f#6.",
		"Depends-On: o/b#2", // duplicate
		"> Depends-On: o/quoted#9",
		"   > depends-on: o/quoted#10",
		"```",
		"Depends-On: o/fenced#11",
		"```",
		"~~~~ text",
		"Depends-On: o/fenced#12",
		"~~~",
		"still fenced: Depends-On: o/fenced#13",
		"~~~~",
		"<!-- template:",
		"Depends-On: o/comment#14",
		"-->",
		"<!-- Depends-On: o/comment#15 -->",
		"This Depends-On: o/inline#16 is prose, not a line of its own.",
		"Depends-On:",
		"Depends-On: o/g#7\r",
	}, "\n")
	got := ParseDependsOn(body, "o")
	want := []Ref{{"o/a", 1}, {"o/b", 2}, {"o/c", 3}, {"o/d", 4}, {"o/e", 5}, {"o/f", 6}, {"o/g", 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDependsOn =\n%v\nwant\n%v", got, want)
	}
}

func TestScanDependsOnReportsBadWords(t *testing.T) {
	refs, errs := ScanDependsOn("Depends-On: o/a#1 needs-the-api o/b#x\n", "o")
	if !reflect.DeepEqual(refs, []Ref{{"o/a", 1}}) {
		t.Errorf("refs = %v", refs)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), `"needs-the-api"`) {
		t.Errorf("errs = %v, want two naming the bad words", errs)
	}
}

func TestSetDependsOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		refs []Ref
		want string
	}{
		{"append to empty", "", []Ref{{"o/a", 1}}, "Depends-On: o/a#1"},
		{"append after text", "Hello\nworld", []Ref{{"o/a", 1}, {"o/b", 2}},
			"Hello\nworld\n\nDepends-On: o/a#1\nDepends-On: o/b#2"},
		{"append after text with blank", "Hello\n\n", []Ref{{"o/a", 1}},
			"Hello\n\n\nDepends-On: o/a#1\n"},
		{"keep existing, add after it", "Intro\nDepends-On: a#1\nOutro\n", []Ref{{"o/a", 1}, {"o/b", 2}},
			"Intro\nDepends-On: a#1\nDepends-On: o/b#2\nOutro\n"},
		{"add after last line without newline", "Intro\nDepends-On: https://github.com/o/a/pull/1", []Ref{{"o/a", 1}, {"o/b", 2}},
			"Intro\nDepends-On: https://github.com/o/a/pull/1\nDepends-On: o/b#2"},
		{"remove a line", "Intro\r\nDepends-On: o/a#1\r\nDepends-On: o/b#2\r\nOutro", []Ref{{"o/b", 2}},
			"Intro\r\nDepends-On: o/b#2\r\nOutro"},
		{"rewrite a shared line", "depends-on: o/a#1, o/b#2 o/c#3\n", []Ref{{"o/a", 1}, {"o/c", 3}},
			"depends-on: o/a#1 o/c#3\n"},
		{"remove all", "Intro\n\nDepends-On: o/a#1\n", nil, "Intro\n"},
		{"quoted and fenced lines untouched", "> Depends-On: o/a#1\n```\nDepends-On: o/a#1\n```\n", []Ref{{"o/b", 2}},
			"> Depends-On: o/a#1\n```\nDepends-On: o/a#1\n```\n\nDepends-On: o/b#2\n"},
		{"case of repo ignored", "Depends-On: O/A#1\n", []Ref{{"o/a", 1}}, "Depends-On: O/A#1\n"},
		{"replace in place", "x\nDepends-On: o/a#1\ny\n", []Ref{{"o/b", 2}}, "x\nDepends-On: o/b#2\ny\n"},
		{"unclosed comment", "Intro\n<!-- template", []Ref{{"o/a", 1}}, "Intro\nDepends-On: o/a#1\n<!-- template"},
		{"unclosed fence", "Intro\n```\ncode", []Ref{{"o/a", 1}}, "Intro\nDepends-On: o/a#1\n```\ncode"},
		{"no-break space after a ref", "Depends-On: o/a#1.\u00a0\nDepends-On: o/b#2", []Ref{{"o/b", 2}}, "Depends-On: o/b#2"},
		{"stray CR between refs", "Depends-On: o/a#1\rDepends-On: o/b#2", []Ref{{"o/b", 2}}, "Depends-On: o/b#2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SetDependsOn(tc.body, tc.refs)
			if got != tc.want {
				t.Errorf("SetDependsOn(%q) =\n%q\nwant\n%q", tc.body, got, tc.want)
			}
			// What SetDependsOn writes, ParseDependsOn reads back.
			back := ParseDependsOn(got, "o")
			if len(back) != len(tc.refs) {
				t.Errorf("read back %v, want %v", back, tc.refs)
			}
		})
	}
}

func TestScanDependsOnReadsOnlyLinesThatCount(t *testing.T) {
	body := strings.Join([]string{
		"Depends-On: o/a#1 <!-- o/hidden#1 -->",
		"text <!-- opened mid-line",
		"Depends-On: o/hidden#2",
		"--> Depends-On: o/hidden#3",
		"Depends-On: o/b#2\u00a0o/c#3.\u2003",
		"Depends-On: o/d#4\rDepends-On: o/e#5\u200b",
		"<!-- unclosed",
		"Depends-On: o/hidden#4",
	}, "\n")
	refs, errs := ScanDependsOn(body, "o")
	want := []Ref{{"o/a", 1}, {"o/b", 2}, {"o/c", 3}, {"o/d", 4}, {"o/e", 5}}
	if !reflect.DeepEqual(refs, want) || len(errs) != 0 {
		t.Errorf("ScanDependsOn = %v, %v; want %v and no errors", refs, errs, want)
	}
}

// TestScanDependsOnSkipsCommonMarkBlocks: lines that GitHub shows as
// code, as HTML or inside a quote are no links, even where no fence or
// quote marker begins them.
func TestScanDependsOnSkipsCommonMarkBlocks(t *testing.T) {
	body := strings.Join([]string{
		"Depends-On: o/a#1",
		"",
		"    Depends-On: o/indented#1",
		"",
		"> quoted",
		"Depends-On: o/lazy#2",
		"",
		"<details>",
		"Depends-On: o/html#3",
		"</details>",
		"",
		"Depends-On: o/b#2",
	}, "\n")
	refs, errs := ScanDependsOn(body, "o")
	want := []Ref{{"o/a", 1}, {"o/b", 2}}
	if !reflect.DeepEqual(refs, want) || len(errs) != 0 {
		t.Errorf("ScanDependsOn = %v, %v; want %v and no errors", refs, errs, want)
	}
	// A link added to a body that ends inside a <pre> block goes before it,
	// where it is seen.
	ed, err := AddDependsOn("text\n\n<pre>\nDepends-On: o/pre#1\n", "o", []Ref{{"o/c", 3}})
	if refs := ParseDependsOn(ed.Body, "o"); err != nil || !reflect.DeepEqual(refs, []Ref{{"o/c", 3}}) {
		t.Errorf("AddDependsOn gave %q, %v, which reads as %v", ed.Body, err, refs)
	}
}

// FuzzScanDependsOn: any body is read without a panic, and every reference
// it yields reads back as itself.
func FuzzScanDependsOn(f *testing.F) {
	for _, s := range []string{
		"Depends-On: https://github.com/o/a/pull/1, o/b#2 c#3.",
		"- depends-on: o/x.git#1\u00a0o/y#2\r\n> Depends-On: o/q#1\n```\nDepends-On: o/f#1\n```",
		"<!--\nDepends-On: o/c#1\n-->\nDepends-On: junk o/r#0 r#-1",
		"Depends-On: o/a#1 <!-- o/b#2\nDepends-On: o/c#3\n-->",
	} {
		f.Add(s, "o")
	}
	f.Fuzz(func(t *testing.T, body, owner string) {
		refs, errs := ScanDependsOn(body, owner)
		seen := map[string]bool{}
		for _, r := range refs {
			back, err := ParseRef(r.String(), "")
			if err != nil || back != r {
				t.Fatalf("ScanDependsOn(%q, %q) gave %v, which reads back as %v, %v", body, owner, r, back, err)
			}
			if seen[r.key()] {
				t.Fatalf("ScanDependsOn(%q) gave %v twice", body, r)
			}
			seen[r.key()] = true
		}
		for _, err := range errs {
			if err == nil || err.Error() == "" {
				t.Fatalf("ScanDependsOn(%q): an empty error", body)
			}
		}
	})
}
