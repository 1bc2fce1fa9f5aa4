package release

import (
	"strings"
	"testing"
)

func TestRequirementRewrite(t *testing.T) {
	v := func(s string) Version {
		x, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct {
		req, old, new, want string
		bump                Bump
	}{
		{"provide-foundation>=0.4.0", "0.4.0", "0.5.0", "", Minor}, // inside: unchanged
		{"provide-foundation>=0.4.0,<0.5", "0.4.2", "0.5.0", "provide-foundation>=0.5.0,<0.6", Minor},
		{"provide-foundation >= 0.4.0, < 0.5.0 ; python_version >= '3.11'", "0.4.0", "0.5.0", "provide-foundation >= 0.5.0, < 0.6.0 ; python_version >= '3.11'", Minor},
		{"pkg[x,y]>=1.2,<2", "1.9.0", "2.0.0", "pkg[x,y]>=2.0,<3", Major},
		{"pkg~=0.4", "0.4.1", "0.5.0", "", Minor}, // ~=0.4 is >=0.4,==0.*
		{"pkg~=1.4", "1.4.0", "2.0.0", "pkg~=2.0", Major},
		{"pkg~=0.4.1", "0.4.1", "0.5.0", "pkg~=0.5.0", Minor},
		{"pkg~=1.2.3", "1.2.3", "1.2.4", "", Patch},
		{"pkg==1.2.3", "1.2.3", "1.2.4", "pkg==1.2.4", Patch},
		{"pkg==0.4.*", "0.4.3", "0.5.0", "pkg==0.5.*", Minor},
		{"pkg>0.4,<=0.4.9", "0.4.9", "0.5.0", "pkg>=0.5,<=0.5.0", Minor},
		{"pkg (>=0.1,<0.2)", "0.1.0", "0.2.0", "pkg (>=0.2,<0.3)", Minor},
	} {
		r, err := parseRequirement(tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.req, err)
		}
		got, changed, err := r.rewrite(v(tc.new), v(tc.old), tc.bump)
		if err != nil {
			t.Errorf("%s -> %s: %v", tc.req, tc.new, err)
			continue
		}
		want := tc.want
		if want == "" {
			want = tc.req
		}
		if got != want || changed != (tc.want != "") {
			t.Errorf("%s -> %s: got %q (changed %v), want %q", tc.req, tc.new, got, changed, want)
		}
	}
	for _, bad := range []string{"pkg!=0.5.0", "pkg===0.4.0"} {
		r, err := parseRequirement(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.rewrite(v("0.5.0"), v("0.4.0"), Minor); err == nil || !strings.Contains(err.Error(), "edit it by hand") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
	if _, err := parseRequirement("pkg>=0.4.0rc1"); err != nil {
		t.Fatal(err) // parsing is lenient; evaluating is not
	}
	r, _ := parseRequirement("pkg>=0.4.0rc1")
	if _, err := r.allows(v("0.5.0")); err == nil || !strings.Contains(err.Error(), "not numeric") {
		t.Errorf("pre-release bound: %v", err)
	}
	if _, err := parseRequirement("pkg=>1"); err == nil {
		t.Error("=> accepted")
	}
}

func TestVersionBumpPreOne(t *testing.T) {
	for _, tc := range []struct {
		v    string
		b    Bump
		want string
	}{
		{"0.4.2", Major, "0.5.0"},
		{"0.4.2", Minor, "0.5.0"},
		{"0.4.2", Patch, "0.4.3"},
		{"1.4.2", Major, "2.0.0"},
		{"1.4.2", Minor, "1.5.0"},
		{"1.4.2", None, "1.4.2"},
	} {
		v, err := ParseVersion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Bump(tc.b).String(); got != tc.want {
			t.Errorf("%s + %s = %s, want %s", tc.v, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"1.2", "v1.2.3", "1.2.3rc1", "01.2.3", "1..3", ""} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseFragment(t *testing.T) {
	f, err := parseFragment("foundation", ".changeset/brave-fox.md", []byte("---\n\"provide-foundation\": minor\n'pyvider': patch\ntofusoup: major\n\"pyvider\": minor\n---\n\nAdd the thing.\n\nMore.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Bumps["provide-foundation"] != Minor || f.Bumps["pyvider"] != Minor || f.Bumps["tofusoup"] != Major || len(f.Bumps) != 3 {
		t.Errorf("bumps = %v", f.Bumps)
	}
	if f.Summary != "Add the thing.\n\nMore." {
		t.Errorf("summary = %q", f.Summary)
	}
	if f, err := parseFragment("s", ".changeset/empty.md", []byte("---\n---\n")); err != nil || len(f.Bumps) != 0 {
		t.Errorf("empty changeset: %v %v", f.Bumps, err)
	}
	for text, want := range map[string]string{
		"no front matter":                 "no front matter",
		"---\n\"a\": minor\n":             "not closed",
		"---\n\"a\": huge\n---\nx\n":      `"huge" is not a bump`,
		"---\njust words\n---\nx\n":       "is not \"package\"",
		"---\n\"a: minor\n---\nsummary\n": "is not \"package\"",
	} {
		_, err := parseFragment("s", ".changeset/x.md", []byte(text))
		var ie *InputError
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ".changeset/x.md") || !asInput(err, &ie) {
			t.Errorf("%q: err = %v, want %q", text, err, want)
		}
	}
}

func TestParseCommit(t *testing.T) {
	for msg, want := range map[string]Bump{
		"feat: add x":                           Minor,
		"feat(api): add x":                      Minor,
		"fix: y":                                Patch,
		"perf(core): faster":                    Patch,
		"feat!: drop py3.10":                    Major,
		"refactor(x)!: rename":                  Major,
		"fix: z\n\nBREAKING CHANGE: it changed": Major,
		"chore: deps":                           None,
		"docs: readme":                          None,
		"Merge branch 'x'":                      None,
		"feature: not conventional":             None,
		"fix:missing space":                     None,
	} {
		if got := parseCommit("sha", msg).Bump(); got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
}
