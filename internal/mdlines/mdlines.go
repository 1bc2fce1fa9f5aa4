// Package mdlines finds the lines of a Markdown text that count: those
// that begin outside fenced code blocks and HTML comments and are not
// quoted. Depends-On lines and comment commands are read from these lines
// only, so an example in a PR template's comment, a command shown in a code
// block, or someone else's words quoted in a reply never act.
//
// The reader is a small model of CommonMark, not a renderer. Where the
// model and GitHub's rendering can differ it errs towards not counting:
//   - A fence opens on a line of three or more backticks or tildes (a
//     backtick fence's info string has no backtick), at any indentation so
//     that fences nested in list items are seen, and closes on a line of
//     the same character, at least as long, with nothing but spaces after.
//     An unclosed fence runs to the end.
//   - A comment runs from "<!--", anywhere outside a fence (mid-line and in
//     quotes too), to the next "-->" after it; "<!-->" does not close
//     itself. An unclosed comment runs to the end.
//   - A quoted line (">" after optional spaces) never counts. Fences in
//     quotes end with the quote, so they do not change what later lines
//     are.
//   - Lines end at "\n", "\r\n" or a lone "\r", as in CommonMark.
package mdlines

import "strings"

// Line is one line of a text.
type Line struct {
	Start int    // byte offset of the line in the text
	Text  string // the line without its ending
	EOL   string // "\n", "\r\n", "\r", or "" for a last line without one
	// Counts is set when the line begins outside any fence or comment and
	// is not quoted: what it says is read.
	Counts bool
	// Visible is the part of Text that counts: all of it, or the part
	// before a comment opening on the line. Empty when the line does not
	// count.
	Visible string
	// Open is set when the line ends inside a fence or a comment: the next
	// line begins inside it.
	Open bool
}

// End is the offset just past the line and its ending.
func (l Line) End() int { return l.Start + len(l.Text) + len(l.EOL) }

// Lines splits text into lines, each marked with whether it counts. The
// lines' Text and EOL, joined, are text byte for byte.
func Lines(text string) []Line {
	var out []Line
	var fenceChar byte // the fence's character while inside one
	fenceLen := 0
	inComment := false
	for pos := 0; pos < len(text); {
		ln := split(text, pos)
		pos = ln.End()
		trimmed := strings.TrimLeft(ln.Text, " \t")
		switch {
		case fenceLen > 0:
			if c, n := fenceRun(trimmed); c == fenceChar && n >= fenceLen && strings.Trim(trimmed[n:], " \t") == "" {
				fenceLen = 0
			}
			ln.Open = fenceLen > 0
		case inComment:
			if i := strings.Index(ln.Text, "-->"); i >= 0 {
				inComment = endsInComment(ln.Text[i+3:])
			}
			ln.Open = inComment
		default:
			quoted := strings.HasPrefix(trimmed, ">")
			if c, n := fenceRun(trimmed); n > 0 && !quoted && (c == '~' || !strings.Contains(trimmed[n:], "`")) {
				fenceChar, fenceLen = c, n
				ln.Open = true
				break
			}
			visible := ln.Text
			if i := strings.Index(ln.Text, "<!--"); i >= 0 {
				visible = ln.Text[:i]
				inComment = endsInComment(ln.Text[i:])
			}
			ln.Open = inComment
			if !quoted {
				ln.Counts, ln.Visible = true, visible
			}
		}
		out = append(out, ln)
	}
	return out
}

// Counting returns the lines of text that count.
func Counting(text string) []Line {
	var out []Line
	for _, ln := range Lines(text) {
		if ln.Counts {
			out = append(out, ln)
		}
	}
	return out
}

// split reads the line that begins at pos.
func split(text string, pos int) Line {
	ln := Line{Start: pos}
	i := strings.IndexAny(text[pos:], "\r\n")
	if i < 0 {
		ln.Text = text[pos:]
		return ln
	}
	ln.Text = text[pos : pos+i]
	switch {
	case text[pos+i] == '\n':
		ln.EOL = "\n"
	case pos+i+1 < len(text) && text[pos+i+1] == '\n':
		ln.EOL = "\r\n"
	default:
		ln.EOL = "\r"
	}
	return ln
}

// fenceRun returns the character and length of a run of three or more
// backticks or tildes that s begins with, or 0, 0.
func fenceRun(s string) (byte, int) {
	if s == "" || (s[0] != '`' && s[0] != '~') {
		return 0, 0
	}
	n := 0
	for n < len(s) && s[n] == s[0] {
		n++
	}
	if n < 3 {
		return 0, 0
	}
	return s[0], n
}

// endsInComment reports whether s, read from outside a comment, ends
// inside one.
func endsInComment(s string) bool {
	for {
		i := strings.Index(s, "<!--")
		if i < 0 {
			return false
		}
		s = s[i+4:]
		j := strings.Index(s, "-->")
		if j < 0 {
			return true
		}
		s = s[j+3:]
	}
}
