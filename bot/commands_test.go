package bot

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/mdlines"
)

func TestParseCommands(t *testing.T) {
	type want struct {
		verb string
		args []string
		bad  bool
	}
	cases := []struct {
		name string
		body string
		want []want
	}{
		{"plain", "/workspace test", []want{{verb: "test"}}},
		{"crlf and trailing space", "/workspace retest  \r\n", []want{{verb: "retest"}}},
		{"several lines", "thanks!\n/workspace link o/a#1 b#2\n/workspace status\n", []want{
			{verb: "link", args: []string{"o/a#1", "b#2"}}, {verb: "status"}}},
		{"quoted line ignored", "> /workspace test\nlooks good", nil},
		{"indented ignored", "  /workspace test", nil},
		{"mid-line ignored", "please /workspace test", nil},
		{"prefix of another word", "/workspaces test", nil},
		{"bare word is help", "/workspace", []want{{verb: "help"}}},
		{"--help is help", "/workspace test --help", []want{{verb: "help"}}},
		{"case of verb", "/workspace TEST", []want{{verb: "test"}}},
		{"unknown verb", "/workspace deploy", []want{{verb: "deploy", bad: true}}},
		{"unknown flag", "/workspace test --force", []want{{verb: "test", bad: true}}},
		{"extra argument", "/workspace cancel now", []want{{verb: "cancel", args: []string{"now"}, bad: true}}},
		{"link needs refs", "/workspace link", []want{{verb: "link", bad: true}}},
		{"unlink", "/workspace unlink https://github.com/o/r/pull/3", []want{{verb: "unlink", args: []string{"https://github.com/o/r/pull/3"}}}},
		// Commands shown in code or hidden in a
		// comment were accepted.
		{"fenced block ignored", "try this:\n```\n/workspace test\n```\n", nil},
		{"tilde fence ignored", "~~~sh\n/workspace cancel\n~~~", nil},
		{"unclosed fence runs to the end", "```\n/workspace test", nil},
		{"HTML comment ignored", "<!--\n/workspace cancel\n-->", nil},
		{"comment opened mid-line", "note <!-- hidden\n/workspace cancel\n--> done", nil},
		{"after the fence closes", "```\nx\n```\n/workspace status", []want{{verb: "status"}}},
		{"comment after the command", "/workspace test <!-- why -->", []want{{verb: "test"}}},
		{"after the comment closes", "<!-- a -->\n/workspace status", []want{{verb: "status"}}},
		{"quoted fence", "> ```\n/workspace status", []want{{verb: "status"}}},
		{"lone CR ends a line", "hi\r/workspace status\r", []want{{verb: "status"}}},
		// Lines that GitHub shows inside a quote or an HTML block, with no
		// marker of their own.
		{"lazy quote continuation ignored", "> can you run\n/workspace cancel", nil},
		{"HTML block ignored", "<details>\n/workspace cancel\n</details>", nil},
		{"after the quote ends", "> quoted\n\n/workspace status", []want{{verb: "status"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseCommands(tc.body, "/workspace")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d commands %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Verb != w.verb || !reflect.DeepEqual(g.Args, w.args) && len(w.args)+len(g.Args) > 0 {
					t.Errorf("command %d = %q %q, want %q %q", i, g.Verb, g.Args, w.verb, w.args)
				}
				if (g.Err != nil) != w.bad {
					t.Errorf("command %d error = %v, want bad=%v", i, g.Err, w.bad)
				}
				if g.Err != nil && !errors.Is(g.Err, errUsage) {
					t.Errorf("command %d error %v does not wrap errUsage", i, g.Err)
				}
			}
		})
	}
}

func TestParseCommandsOtherWord(t *testing.T) {
	got := parseCommands("/ws test\n/workspace test", "/ws")
	if len(got) != 1 || got[0].Verb != "test" {
		t.Fatalf("got %+v, want one test command for /ws", got)
	}
	if parseCommands("/workspace test", "") != nil {
		t.Fatal("an empty command word must match nothing")
	}
}

func TestHelpTextNamesEveryVerb(t *testing.T) {
	h := helpText("/workspace")
	for _, v := range []string{verbTest, verbRetest, verbStatus, verbCancel, verbLink, verbUnlink, verbHelp} {
		if !strings.Contains(h, "`/workspace "+v) {
			t.Errorf("help does not mention %s:\n%s", v, h)
		}
	}
}

func TestTrustHelpers(t *testing.T) {
	if !isBotLogin("dependabot[bot]") || isBotLogin("alice") {
		t.Fatal("isBotLogin")
	}
	trusted := []string{"OWNER", "MEMBER", "COLLABORATOR"}
	if !associationTrusted("member", trusted) || associationTrusted("CONTRIBUTOR", trusted) || associationTrusted("", trusted) {
		t.Fatal("associationTrusted")
	}
	for perm, want := range map[string]bool{"admin": true, "maintain": true, "write": true, "triage": false, "read": false, "none": false, "": false} {
		if canWrite(perm) != want {
			t.Errorf("canWrite(%q) = %v", perm, !want)
		}
	}
}

// FuzzParseCommands: the parser never panics, and a command is only ever
// read from a line that counts (mdlines), at its first column.
func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"/workspace test", "/workspace link o/a#1 b#2\r\n/workspace status", "> /workspace test",
		"```\n/workspace test\n```", "<!--\n/workspace cancel\n-->", "/workspace test <!-- x", "~~~\n/workspace test",
		"/workspace", "/workspace test --help", "/workspace link --x=y o/r#1", "/workspace\t\u00a0test", "a\r/workspace retest\r",
		"<!-- a --> /workspace test", "    /workspace test", "/workspace unlink -- -x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		counting := map[string]bool{}
		for _, ln := range mdlines.Counting(body) {
			counting[strings.TrimRight(ln.Visible, " \t")] = true
		}
		for _, c := range parseCommands(body, "/workspace") {
			if !counting[c.Line] {
				t.Fatalf("command %q read from a line that does not count in %q", c.Line, body)
			}
			if !strings.HasPrefix(c.Line, "/workspace") {
				t.Fatalf("command line %q does not start with the command word", c.Line)
			}
			if c.Err == nil && helpVerb(c.Verb) == "" {
				t.Fatalf("unknown verb %q accepted from %q", c.Verb, c.Line)
			}
			if c.Err != nil && !errors.Is(c.Err, errUsage) {
				t.Fatalf("error %v does not wrap errUsage", c.Err)
			}
		}
	})
}

func helpVerb(v string) string {
	switch v {
	case verbTest, verbRetest, verbStatus, verbCancel, verbLink, verbUnlink, verbHelp:
		return v
	}
	return ""
}
