package mdescape

import (
	"strings"
	"testing"
)

// Hostile names: each closes or opens some Markdown construct.
const (
	branch  = "a`@provide-io/security-team`|b"
	command = "pytest -q || exit 1"
)

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"make test":    "`make test`",
		branch:         "``a`@provide-io/security-team`|b``",
		"a``b":         "```a``b```",
		"`x`":          "`` `x` ``",
		" padded ":     "`  padded  `",
		"":             "`  `",
		"two\nlines":   "`two lines`",
		"# not a head": "`# not a head`",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCell(t *testing.T) {
	if got, want := Cell(Code(branch)), "``a`@provide-io/security-team`\\|b``"; got != want {
		t.Errorf("Cell(Code(branch)) = %q, want %q", got, want)
	}
	if got, want := Cell(Code(command)), "`pytest -q \\|\\| exit 1`"; got != want {
		t.Errorf("Cell(Code(command)) = %q, want %q", got, want)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, 1.2s": "plain words, 1.2s",
		branch:              "a\\`@\u200dprovide-io/security-team\\`\\|b",
		"**bold** <b>&amp;": "\\*\\*bold\\*\\* \\<b\\>\\&amp;",
		"# heading":         "\\# heading",
		"- item":            "\\- item",
		"12. item":          "12\\. item",
		"[x](javascript:)":  "\\[x\\](javascript:)",
		"![i](u) &#64;a":    "!\\[i\\](u) \\&#64;a",
		"a\r\nb\x1bc":       "a b c",
		"cc @alice":         "cc @\u200dalice",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTML(t *testing.T) {
	if got, want := HTML("<b>@team</b>\n"), "&lt;b&gt;@\u200dteam&lt;/b&gt; "; got != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
}

func TestFence(t *testing.T) {
	if got, want := Fence("ok\nnot ok ```x```\n"), "````\nok\nnot ok ```x```\n````"; got != want {
		t.Errorf("Fence = %q, want %q", got, want)
	}
}

// FuzzEscape checks what each context needs, for any input: a code span
// no run inside can close, a cell no pipe inside can split, text that
// reads back as itself with no live syntax and no mention.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{branch, command, "", "`", "``a`", " ", "@a", "a\\|b", "1. x", "<!-- x -->", "a\nb", "\\", "@\u200d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := oneLine(s)

		code := Code(s)
		n := 0
		for n < len(code) && code[n] == '`' {
			n++
		}
		delim := strings.Repeat("`", n)
		inner := code[n : len(code)-n]
		if len(code) < 2*n || !strings.HasSuffix(code, delim) || strings.Contains(inner, delim) {
			t.Fatalf("Code(%q) = %q: the span can be closed early", s, code)
		}
		if inner[0] == '`' || inner[len(inner)-1] == '`' {
			t.Fatalf("Code(%q) = %q: a backtick touches the delimiter", s, code)
		}
		if inner != line && inner != " "+line+" " {
			t.Fatalf("Code(%q) = %q: shows %q", s, code, inner)
		}

		for _, md := range []string{Cell(code), Cell(Text(s))} {
			for i := 0; i < len(md); i++ {
				if md[i] == '|' && (i == 0 || md[i-1] != '\\') {
					t.Fatalf("Cell of %q = %q: an unescaped pipe at %d", s, md, i)
				}
			}
		}

		text := Text(s)
		var back strings.Builder
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c == '\\' {
				if i+1 == len(text) {
					t.Fatalf("Text(%q) = %q ends in a lone backslash", s, text)
				}
				i++
				back.WriteByte(text[i])
				continue
			}
			if strings.IndexByte("`*_[]<>&|~", c) >= 0 {
				t.Fatalf("Text(%q) = %q: %q at %d is not escaped", s, text, c, i)
			}
			back.WriteByte(c)
		}
		if got := strings.ReplaceAll(back.String(), "@"+zwj, "@"); got != line {
			t.Fatalf("Text(%q) = %q reads back as %q", s, text, got)
		}
		if i := strings.Index(text, "@"); i >= 0 && !strings.HasPrefix(text[i:], "@"+zwj) {
			t.Fatalf("Text(%q) = %q: a mention can start at %d", s, text, i)
		}
		if strings.ContainsAny(text, "\r\n") || strings.ContainsAny(code, "\r\n") {
			t.Fatalf("Text or Code of %q spans lines", s)
		}
	})
}
