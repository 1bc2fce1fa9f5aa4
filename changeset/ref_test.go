package changeset

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in, owner string
		want      Ref
		err       string
	}{
		{"https://github.com/o/r/pull/12", "", Ref{"o/r", 12}, ""},
		{"https://github.com/o/r/pull/12/files", "", Ref{"o/r", 12}, ""},
		{"https://github.com/o/r/pull/12#issuecomment-1", "", Ref{"o/r", 12}, ""},
		{"https://ghe.example.com/team/repo.js/pull/3", "", Ref{"team/repo.js", 3}, ""},
		{"http://127.0.0.1:9/o/r/pull/4/", "", Ref{"o/r", 4}, ""},
		{"o/r#7", "x", Ref{"o/r", 7}, ""},
		{"  provide-io/provide-foundation#1  ", "", Ref{"provide-io/provide-foundation", 1}, ""},
		{"r#8", "owner", Ref{"owner/r", 8}, ""},
		{"r#8", "", Ref{}, "names no owner"},
		{"o/r#0", "", Ref{}, "positive number"},
		{"o/r", "", Ref{}, "not a pull request reference"},
		{"#3", "o", Ref{}, "not a pull request reference"},
		{"o/r/s#3", "", Ref{}, "not a pull request reference"},
		{"https://github.com/o/r/issues/3", "", Ref{}, "not a pull request URL"},
		{"https://github.com/o/r/pull/x", "", Ref{}, "positive number"},
		{"-x#1", "o", Ref{"o/-x", 1}, ""},
		{"o/r.git#2", "", Ref{"o/r", 2}, ""},
		{"o/.git#2", "", Ref{}, "not a GitHub owner/repository name"},
		{"o/..git#2", "", Ref{}, "not a GitHub owner/repository name"},
		{"o/r.git.git#2", "", Ref{}, "not a GitHub owner/repository name"},
		{"https://github.com/o/.git/pull/2", "", Ref{}, "not a GitHub owner/repository name"},
	} {
		got, err := ParseRef(tc.in, tc.owner)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRef(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q, %q) = %v, %v; want %v", tc.in, tc.owner, got, err, tc.want)
		}
	}
}

// FuzzParseRef: any input either fails or gives a reference that reads
// back as itself, so what Depends-On lines and commands write is read
// again the same way.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"https://github.com/o/r/pull/12", "https://ghe.example.com/team/repo.js/pull/3/files?x#y", "o/r#7", "r#8",
		"o/r.git#2", "o/..git#1", "https://h/o/r/pull/+5", "https://h/o%2Fx/r/pull/1", "o/r#00012", "\u00a0o/r#1\u00a0",
		"o/r#99999999999999999999", "-x/-y#1",
	} {
		f.Add(s, "o")
	}
	f.Fuzz(func(t *testing.T, s, owner string) {
		ref, err := ParseRef(s, owner)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseRef(%q): an empty error", s)
			}
			return
		}
		if ref.Number <= 0 || strings.Count(ref.Repo, "/") != 1 {
			t.Fatalf("ParseRef(%q, %q) = %#v", s, owner, ref)
		}
		back, err := ParseRef(ref.String(), "")
		if err != nil || back != ref {
			t.Fatalf("ParseRef(%q, %q) = %v, which reads back as %v, %v", s, owner, ref, back, err)
		}
	})
}
