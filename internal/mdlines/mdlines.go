// Package mdlines finds the lines of a Markdown text that count: those
// that begin outside code blocks, HTML blocks and HTML comments and are
// not quoted. Depends-On lines and comment commands are read from these
// lines only, so an example in a PR template's comment, a command shown in
// a code block, or someone else's words quoted in a reply never act.
//
// The block structure comes from a CommonMark parser (goldmark): a line
// that it places in an indented or fenced code block, in an HTML block, or
// in a block quote (lazy continuation lines included) does not count.
// GitHub renders with another CommonMark implementation, and the two are
// not identical where it matters most (is "<!-->" a whole comment?), so a
// stricter line reader runs too and a line counts only when both agree:
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

import (
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Line is one line of a text.
type Line struct {
	Start int    // byte offset of the line in the text
	Text  string // the line without its ending
	EOL   string // "\n", "\r\n", "\r", or "" for a last line without one
	// Counts is set when the line begins outside any code block, HTML
	// block, fence or comment and is not quoted: what it says is read.
	Counts bool
	// Visible is the part of Text that counts: all of it, or the part
	// before a comment opening on the line. Empty when the line does not
	// count.
	Visible string
	// Open is set when the line ends inside a fence, a comment or an HTML
	// block that only its end tag closes (<pre>, <script>, ...): the next
	// line begins inside it, even after a blank line.
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
	hideBlocks(text, out)
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

// blocks reads block structure only: inline parsing (emphasis, links)
// cannot change which lines are code, HTML or quoted, and leaving it out
// keeps the work linear in a hostile body. Link reference definitions stay
// paragraph text, which only ever counts more lines, never fewer, and the
// line reader still hides what it hides.
var blocks = parser.NewParser(parser.WithBlockParsers(parser.DefaultBlockParsers()...))

// hideBlocks clears Counts and Visible on the lines that the CommonMark
// parser places in a code block, an HTML block or a block quote, and sets
// Open on the lines inside an HTML block that only its end tag closes.
func hideBlocks(src string, lines []Line) {
	if len(lines) == 0 {
		return
	}
	stop := parseLimit(lines)
	for i := stop; i < len(lines); i++ {
		lines[i].Counts, lines[i].Visible = false, ""
	}
	if stop == 0 {
		return
	}
	lines = lines[:stop]
	// goldmark ends lines at "\n" only; a lone "\r" becomes "\n", byte
	// for byte, so offsets still index src.
	b := []byte(src[:lines[stop-1].End()])
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			b[i] = '\n'
		}
	}
	lineAt := func(off int) int {
		return sort.Search(len(lines), func(i int) bool { return lines[i].End() > off })
	}
	hide := func(segs *text.Segments) {
		for i := 0; i < segs.Len(); i++ {
			if k := lineAt(segs.At(i).Start); k < len(lines) {
				lines[k].Counts, lines[k].Visible = false, ""
			}
		}
	}
	doc := blocks.Parse(text.NewReader(b))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Blockquote:
			hideAll(n, hide)
			return ast.WalkSkipChildren, nil
		case *ast.FencedCodeBlock:
			if n.Info != nil {
				hide(segmentsOf(n.Info.Segment))
			}
			hide(n.Lines())
		case *ast.CodeBlock:
			hide(n.Lines())
		case *ast.HTMLBlock:
			// Comments are the line reader's, whose end is stricter.
			if n.HTMLBlockType == ast.HTMLBlockType2 {
				break
			}
			hide(n.Lines())
			if closedByTag(n.HTMLBlockType) {
				segs := n.Lines()
				for i := 0; i < segs.Len(); i++ {
					if k := lineAt(segs.At(i).Start); k < len(lines) {
						lines[k].Open = true
					}
				}
				if n.HasClosure() {
					hide(segmentsOf(n.ClosureLine))
				}
			}
		}
		return ast.WalkContinue, nil
	})
}

// Bounds on what the parser reads. Its work per line grows with the
// line's nesting times the length of its indentation, so one line of
// 16 Ki ">" takes seconds; these bounds keep a hostile body linear.
// GitHub caps a body or comment at 65,536 characters (at most 256 KiB of
// UTF-8), and people do not nest quotes 32 deep; the price is a line
// indented 256 columns, even inside a code block, after which no link or
// command is read (the safe side: one that does not act, never one that
// acts unseen).
const (
	maxParse  = 256 << 10 // bytes
	maxQuotes = 32        // ">" markers before a line's text
	maxIndent = 256       // bytes of spaces, tabs and ">" before a line's text
)

// parseLimit returns the index of the first line the parser does not
// read: the line past maxParse bytes or the first too deeply nested one.
// That line and every one after it do not count, erring towards not
// acting on what cannot be read safely.
func parseLimit(lines []Line) int {
	for i, ln := range lines {
		if ln.End() > maxParse {
			return i
		}
		quotes, n := 0, 0
		for ; n < len(ln.Text); n++ {
			if c := ln.Text[n]; c == '>' {
				quotes++
			} else if c != ' ' && c != '\t' {
				break
			}
		}
		if n > maxIndent || quotes > maxQuotes {
			return i
		}
	}
	return len(lines)
}

// hideAll hides the lines of every block under n.
func hideAll(n ast.Node, hide func(*text.Segments)) {
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && c.Type() == ast.TypeBlock {
			hide(c.Lines())
			if f, ok := c.(*ast.FencedCodeBlock); ok && f.Info != nil {
				hide(segmentsOf(f.Info.Segment))
			}
			if h, ok := c.(*ast.HTMLBlock); ok && h.HasClosure() {
				hide(segmentsOf(h.ClosureLine))
			}
		}
		return ast.WalkContinue, nil
	})
}

// closedByTag reports the HTML block types that a blank line does not
// end (CommonMark's types 1 to 5; 2, the comment, is the line reader's).
func closedByTag(t ast.HTMLBlockType) bool {
	return t >= ast.HTMLBlockType1 && t <= ast.HTMLBlockType5
}

func segmentsOf(s text.Segment) *text.Segments {
	segs := text.NewSegments()
	segs.Append(s)
	return segs
}
