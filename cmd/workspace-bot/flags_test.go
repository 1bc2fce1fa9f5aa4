package main

import (
	"strings"
	"testing"
)

// A mistyped flag names itself, suggests the near one and shows the
// command's usage, in every subcommand; nothing runs.
func TestUnknownFlagIsNamed(t *testing.T) {
	cases := []struct {
		args    []string
		want    string
		suggest string
	}{
		{[]string{"validate", "--bogus"}, "error: unknown flag: --bogus", ""},
		{[]string{"validate", "--jsno"}, "error: unknown flag: --jsno", "did you mean --json?"},
		{[]string{"test", "--jsn"}, "error: unknown flag: --jsn", "did you mean --json?"},
		{[]string{"test", "--kepp"}, "error: unknown flag: --kepp", "did you mean --keep?"},
		{[]string{"serve", "--bogus"}, "error: unknown flag: --bogus", ""},
		{[]string{"serve", "--worker=3"}, "error: unknown flag: --worker", "did you mean --workers?"},
		{[]string{"changeset", "--bogus", "o/r#1"}, "error: unknown flag: --bogus", ""},
		{[]string{"release", "plan", "--bogus"}, "error: unknown flag: --bogus", ""},
		{[]string{"release", "plan", "--dry-run"}, "error: unknown flag: --dry-run", ""},
		{[]string{"demo", "--kep"}, "error: unknown flag: --kep", "did you mean --keep?"},
		{[]string{"action", "--bogus"}, "error: unknown flag: --bogus", ""},
		{[]string{"version", "--bogus"}, "error: unknown flag: --bogus", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout should be empty, got %q", out)
			}
			if !strings.Contains(errs, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, errs)
			}
			if c.suggest != "" && !strings.Contains(errs, c.suggest) {
				t.Errorf("stderr lacks %q:\n%s", c.suggest, errs)
			}
			if c.suggest == "" && strings.Contains(errs, "did you mean") {
				t.Errorf("no flag is close, yet a suggestion was made:\n%s", errs)
			}
			if !strings.Contains(errs, "usage: workspace-bot "+c.args[0]) {
				t.Errorf("stderr lacks the usage:\n%s", errs)
			}
		})
	}
}

// A word a command does not take is refused, never ignored.
func TestStrayArgumentsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"demo", "extra"}, {"version", "extra"}, {"action", "extra"}, {"serve", "extra"}} {
		code, _, errs := runCmd(t, args...)
		if code != exitUsage || !strings.Contains(errs, `"extra"`) {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, errs)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runCmd(t, "help", "test")
	_, _, direct := runCmd(t, "test", "--help")
	if code != exitOK || out+direct == "" {
		t.Fatalf("help test: exit %d", code)
	}
	code, _, errs := runCmd(t, "help", "test")
	if code != exitOK || errs != direct {
		t.Errorf("help test should print what test --help prints:\n%s\nvs\n%s", errs, direct)
	}
	for _, flag := range []string{"--keep", "--verbose", "--json", "--pr"} {
		if !strings.Contains(direct, flag) {
			t.Errorf("test --help lacks %s:\n%s", flag, direct)
		}
	}
	if code, _, errs := runCmd(t, "help", "tset"); code != exitUsage || !strings.Contains(errs, "did you mean test?") {
		t.Errorf("help tset: exit %d\n%s", code, errs)
	}
	if code, _, errs := runCmd(t, "tset"); code != exitUsage || !strings.Contains(errs, `unknown command "tset" (did you mean test?)`) {
		t.Errorf("tset: exit %d\n%s", code, errs)
	}
	code, v1, _ := runCmd(t, "--version")
	_, v2, _ := runCmd(t, "version")
	if code != exitOK || !strings.HasPrefix(v1, "workspace-bot ") || v1 != v2 {
		t.Errorf("--version printed %q, version printed %q", v1, v2)
	}
	// Commands without flags show no empty flags section.
	for _, cmd := range []string{"version"} {
		_, _, errs := runCmd(t, cmd, "--help")
		if strings.Contains(errs, "flags:") {
			t.Errorf("%s --help shows a flags section with nothing in it:\n%s", cmd, errs)
		}
	}
	// plan advertises only what plan accepts.
	_, _, errs = runCmd(t, "release", "plan", "--help")
	if strings.Contains(errs, "--dry-run") || strings.Contains(errs, "--branch") {
		t.Errorf("release plan --help advertises open's flags:\n%s", errs)
	}
	_, _, errs = runCmd(t, "release", "open", "--help")
	if !strings.Contains(errs, "--dry-run") || !strings.Contains(errs, "--branch") {
		t.Errorf("release open --help lacks its flags:\n%s", errs)
	}
}
