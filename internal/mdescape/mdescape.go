// Package mdescape makes text from outside safe to put into Markdown that
// GitHub renders: comments, check run summaries, step summaries. Branch
// names, titles, logins, commands and log lines are chosen by whoever
// opened a PR or wrote the code under test; escaped for their context,
// they render as the characters they are and never as Markdown, HTML, a
// table cell boundary or a live @mention.
//
// Each function is for one context:
//   - Text: running text on one line (a sentence, a list item);
//   - Code: an inline code span;
//   - Cell: either of those, put in a table cell;
//   - HTML: text inside an HTML element such as <summary>;
//   - Fence: a fenced code block of many lines.
package mdescape

import (
	"fmt"
	"html"
	"strings"
	"unicode"
)

// zwj, put after "@", keeps GitHub from reading a mention: "@org/team"
// shows as itself and notifies nobody.
const zwj = "\u200d"

// Text is s as running text on one line: line breaks and other control
// characters become spaces, every character that could start Markdown
// inline syntax (emphasis, code, links and images, HTML, entities, which
// could spell "@", strikethrough, table pipes) is backslash-escaped, a
// line-start marker (heading, list, quote, setext underline, ordered
// list) is escaped, and "@" cannot start a mention. Parentheses and "!"
// need nothing once "[" is escaped.
func Text(s string) string {
	s = oneLine(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>&|~", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '@':
			b.WriteString("@" + zwj)
		case i == 0 && strings.ContainsRune("#+-=>", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case (r == '.' || r == ')') && i > 0 && allDigits(s[:i]):
			// "1." or "1)" at the start would begin an ordered list.
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Code is s as an inline code span that nothing in s can close: the
// delimiter is one backtick longer than the longest run of backticks in
// s, and s is padded with a space on each side when it begins or ends
// with a backtick or a space (CommonMark strips one space from each side
// of a span, and a backtick next to the delimiter would lengthen it).
// Line breaks become spaces: a line that began "# " or "|" inside a span
// would be read as a block before the span. Mentions inside code are not
// live, so "@" stays as it is.
func Code(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	delim := strings.Repeat("`", longest+1)
	if s == "" || s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' || s[len(s)-1] == ' ' {
		s = " " + s + " "
	}
	return delim + s + delim
}

// Cell makes Text or Code output safe inside a table cell: GitHub splits
// a row at every "|" not preceded by a backslash, code spans included, and
// removes that one backslash again, so the cell shows the text unchanged.
func Cell(md string) string { return strings.ReplaceAll(md, "|", `\|`) }

// HTML is s as text inside an HTML element of a Markdown document (GitHub
// does not read Markdown there): HTML-escaped, on one line, "@" broken.
func HTML(s string) string {
	return strings.ReplaceAll(html.EscapeString(oneLine(s)), "@", "@"+zwj)
}

// Fence wraps text in a fenced code block that nothing inside can close:
// the fence is a run of backticks longer than any run in text (at least
// three). Code blocks show every character as written, mentions included
// but never live.
func Fence(text string) string {
	n, run := 3, 0
	for _, r := range text {
		if r == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	return f + "\n" + strings.TrimRight(text, "\n") + "\n" + f
}

// oneLine folds line breaks and other control characters into single
// spaces, so text meant for one line stays on it; bytes that are not
// UTF-8 become U+FFFD.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// URL is a link destination that cannot end the link early or break a
// table: spaces, parentheses, angle brackets, pipes, backslashes and
// control characters are percent-encoded. Only http and https links are
// kept; anything else becomes "#".
func URL(u string) string {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return "#"
	}
	var b strings.Builder
	for _, c := range []byte(u) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>|\\`\"'[]", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Plain is s for a plain-text field GitHub shows as written (a commit
// status description, a check run title): one line, no control
// characters, valid UTF-8.
func Plain(s string) string { return oneLine(s) }
