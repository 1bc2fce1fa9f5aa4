package version

import (
	"strings"
	"testing"
)

func TestConstraintAllows(t *testing.T) {
	cases := []struct {
		constraint string
		yes, no    []string
	}{
		{">=3.11", []string{"3.11", "3.11.0", "3.12.4", "v3.11.1", "4"}, []string{"3.10.9", "3.9", "3.11.0rc1", "python"}},
		{">3.11", []string{"3.11.1", "3.12"}, []string{"3.11", "3.11.0"}},
		{"<=1.2", []string{"1.2.0", "1.1.9", "1.2.0rc1"}, []string{"1.2.1"}},
		{"<1", []string{"0.9.9"}, []string{"1.0.0", "1.0.1"}},
		{"==1.2.3", []string{"1.2.3", "1.2.3+local"}, []string{"1.2.4", "1.2.3rc1"}},
		{"!=1.2.3", []string{"1.2.4"}, []string{"1.2.3"}},
		{"==3.11.*", []string{"3.11", "3.11.9", "3.11.0rc1"}, []string{"3.12.0", "3.1.1"}},
		{"!=3.11.*", []string{"3.12.0"}, []string{"3.11.4"}},
		{"~=1.4.2", []string{"1.4.2", "1.4.9"}, []string{"1.5.0", "1.4.1"}},
		{"~=1.4", []string{"1.4", "1.9.1"}, []string{"2.0", "1.3.9"}},
		{">=0.1.0,<1", []string{"0.4.18", "0.1.0"}, []string{"1.0.0", "0.0.9"}},
		{">=3.11, <3.13", []string{"3.12.7"}, []string{"3.13.0", "3.10.0"}},
		{"1.6.x", []string{"1.6.0", "1.6.12"}, []string{"1.7.0"}},
		{"3.11", []string{"3.11.4"}, []string{"3.12.0"}},
		{"^1.2.3", []string{"1.2.3", "1.9.0"}, []string{"2.0.0", "1.2.2", "2.0.0rc1"}},
		{"^0.4.1", []string{"0.4.9"}, []string{"0.5.0"}},
		{"~1.2.3", []string{"1.2.9"}, []string{"1.3.0"}},
		{"*", []string{"0.0.1", "anything"}, nil},
		{"", []string{"1"}, nil},
		{">=1.0.0rc1", []string{"1.0.0rc2", "1.0.0", "1.0.0.post1"}, []string{"1.0.0b9", "1.0.0a1", "1.0.0.dev3"}},
	}
	for _, c := range cases {
		con, err := ParseConstraint(c.constraint)
		if err != nil {
			t.Errorf("ParseConstraint(%q): %v", c.constraint, err)
			continue
		}
		for _, v := range c.yes {
			if !con.Allows(v) {
				t.Errorf("%q should allow %q", c.constraint, v)
			}
		}
		for _, v := range c.no {
			if con.Allows(v) {
				t.Errorf("%q should not allow %q", c.constraint, v)
			}
		}
	}
}

func TestConstraintRefused(t *testing.T) {
	for in, want := range map[string]string{
		">=":         "has no version",
		">=abc":      `"abc" is not a version`,
		">=3.11.*":   "a wildcard goes only with == or !=",
		"~=3":        "~= needs at least two parts",
		">=1,":       "an empty clause",
		">=1.0 beta": "is not a version",
		"=>1.0":      "is not a version",
	} {
		_, err := ParseConstraint(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConstraint(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestVersionIn(t *testing.T) {
	for in, want := range map[string]string{
		"uv 0.4.18 (Homebrew 2024-09-17)": "0.4.18",
		"Python 3.11.7":                   "3.11.7",
		"ruff 0.6.9\n":                    "0.6.9",
		"mypy 1.11.2 (compiled: yes)":     "1.11.2",
		"git version 2.39.5":              "2.39.5",
		"tool v1.2.3-rc1":                 "1.2.3-rc1",
		"Python 3.13.0rc1":                "3.13.0rc1",
		"no version here":                 "",
		"built 2024-09-17":                "",
	} {
		if got := VersionIn(in); got != want {
			t.Errorf("VersionIn(%q) = %q, want %q", in, got, want)
		}
	}
}
