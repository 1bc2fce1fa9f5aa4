package mdlines

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func visible(text string) []string {
	var out []string
	for _, ln := range Counting(text) {
		out = append(out, ln.Visible)
	}
	return out
}

func TestCounting(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string
	}{
		{"plain", "a\nb\r\nc\rd", []string{"a", "b", "c", "d"}},
		{"empty", "", nil},
		{"trailing newline makes no extra line", "a\n", []string{"a"}},
		{"backtick fence", "a\n```go\nhidden\n```\nb", []string{"a", "b"}},
		{"tilde fence", "~~~\nhidden\n~~~\nb", []string{"b"}},
		{"closing fence at least as long", "````\nhidden\n```\nstill hidden\n`````  \nb", []string{"b"}},
		{"closing fence of the same char", "```\nhidden\n~~~\nstill\n```\nb", []string{"b"}},
		{"closing fence has nothing after it", "```\nhidden\n``` x\nstill\n```\nb", []string{"b"}},
		{"unclosed fence runs to the end", "a\n```\nhidden\nhidden", []string{"a"}},
		{"indented fence in a list item", "- item\n\n    ```\n    hidden\n    ```\nb", []string{"- item", "", "b"}},
		{"backticks with a backtick after are inline code", "```a```\nb", []string{"```a```", "b"}},
		{"two backticks are no fence", "``\nb", []string{"``", "b"}},
		{"comment block", "<!--\nhidden\n-->\nb", []string{"", "b"}},
		{"one-line comment", "<!-- x -->\nb", []string{"", "b"}},
		{"comment opened mid-line", "a <!-- x\nhidden\n--> c\nb", []string{"a ", "b"}},
		{"comment closed and reopened on one line", "<!-- x\n--> y <!-- z\nhidden\n-->\nb", []string{"", "b"}},
		{"unclosed comment runs to the end", "a\n<!--\nhidden\nhidden", []string{"a", ""}},
		{"<!--> does not close itself", "<!-->\nhidden\n-->\nb", []string{"", "b"}},
		{"a fence inside a comment is text", "<!--\n```\n-->\nb", []string{"", "b"}},
		{"a comment inside a fence is text", "```\n<!--\n```\nb", []string{"b"}},
		{"quotes do not count", "> a\n  > b\n\nc", []string{"", "c"}},
		{"a fence in a quote ends with it", "> ```\nb", []string{"b"}},
		{"a comment in a quote hides what follows", "> x <!--\nhidden\n-->\n\nb", []string{"", "b"}},
		{"lone carriage returns end lines", "a\r```\rhidden\r```\rb", []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := visible(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Counting(%q) = %q, want %q", tc.text, got, tc.want)
			}
			checkAgainstModel(t, tc.text)
		})
	}
}

func TestLinesKeepOffsets(t *testing.T) {
	text := "a\r\n<!-- b\r\n-->\rc\n```\nd"
	lines := Lines(text)
	var b strings.Builder
	for _, ln := range lines {
		if text[ln.Start:ln.End()] != ln.Text+ln.EOL {
			t.Errorf("line %+v is not at its offset", ln)
		}
		b.WriteString(ln.Text + ln.EOL)
	}
	if b.String() != text {
		t.Errorf("lines join to %q", b.String())
	}
	open := make([]bool, len(lines))
	for i, ln := range lines {
		open[i] = ln.Open
	}
	if want := []bool{false, true, false, false, true, true}; !reflect.DeepEqual(open, want) {
		t.Errorf("Open = %v, want %v", open, want)
	}
}

// TestCommonMarkBlocks covers what only a CommonMark parser sees: each
// case has a command and a Depends-On line where GitHub shows them as code,
// HTML or part of a quote, and a last line that counts.
func TestCommonMarkBlocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string
	}{
		{"indented code", "a\n\n    /workspace test\n    Depends-On: o/r#1\n\nb", []string{"a", "", "", "b"}},
		{"indented code with a tab", "\t/workspace test\n\nb", []string{"", "b"}},
		{"indented code after a list ends it", "- item\n\n<!-- -->\n\n    /workspace test\n\nb", []string{"- item", "", "", "", "", "b"}},
		{"four spaces in a paragraph are text", "a\n    /workspace test", []string{"a", "    /workspace test"}},
		{"lazy quote continuation", "> quoted\n/workspace test\nDepends-On: o/r#1\n\nb", []string{"", "b"}},
		{"lazy continuation in a nested quote", "> > quoted\n/workspace test\n\nb", []string{"", "b"}},
		{"lazy continuation in a quoted list", "> - item\n/workspace test\n\nb", []string{"", "b"}},
		{"a fence in a quote takes no lazy line", "> ```\n/workspace test", []string{"/workspace test"}},
		{"html block", "<details>\n/workspace test\nDepends-On: o/r#1\n\nb", []string{"", "b"}},
		{"html block of a closing tag", "</div>\n/workspace test\n\nb", []string{"", "b"}},
		{"pre block across blank lines", "<pre>\n\n/workspace test\n\n</pre>\nb", []string{"b"}},
		{"script block across blank lines", "<script>\n\n/workspace test\n</script> x\n\nb", []string{"", "b"}},
		{"inline html is text", "<b>bold</b> /workspace test\nb", []string{"<b>bold</b> /workspace test", "b"}},
		{"fence in a list item ends with the item", "- ```\n  /workspace test\n\nb", []string{"- ```", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := visible(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Counting(%q) = %q, want %q", tc.text, got, tc.want)
			}
			checkAgainstModel(t, tc.text)
		})
	}
}

// TestParseBounds: past the bounds that keep the parser linear, nothing
// counts, and what comes before is read as usual.
func TestParseBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string
	}{
		{"32 quotes are read", "a\n" + strings.Repeat(">", 32) + " q\n\nb", []string{"a", "", "b"}},
		{"33 quotes stop reading", "a\n" + strings.Repeat(">", 33) + " q\n\nb", []string{"a"}},
		{"spaced quotes count too", "a\n" + strings.Repeat("> ", 33) + "q\n\nb", []string{"a"}},
		{"256 columns are read", "a\n\n- x\n" + strings.Repeat(" ", 256) + "y\n\nb", []string{"a", "", "- x", strings.Repeat(" ", 256) + "y", "", "b"}},
		{"257 columns stop reading", "a\n\n- x\n" + strings.Repeat(" ", 257) + "y\n\nb", []string{"a", "", "- x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := visible(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Counting(%.60q) = %.200q, want %.200q", tc.text, got, tc.want)
			}
			checkAgainstModel(t, tc.text)
		})
	}
	long := strings.Repeat("text\n", maxParse/5) + "/workspace test\n"
	got := Counting(long)
	if n := len(got); n != maxParse/5 || got[n-1].Visible != "text" {
		t.Errorf("a body over %d bytes: %d lines count, the last %q", maxParse, n, got[n-1].Visible)
	}
}

func TestOpenHTMLBlock(t *testing.T) {
	lines := Lines("<pre>\nx\n\n</pre>\ny")
	var open []bool
	for _, ln := range lines {
		open = append(open, ln.Open)
	}
	if want := []bool{true, true, true, false, false}; !reflect.DeepEqual(open, want) {
		t.Errorf("Open = %v, want %v", open, want)
	}
}

// The model reads text in another way than Lines: one pass over the bytes,
// with regular expressions for fence lines, marking each byte hidden or
// not. It answers, for each line, what Lines must say.
var (
	modelLine     = regexp.MustCompile(`^[^\r\n]*(\r\n|\r|\n)?`)
	modelBacktick = regexp.MustCompile("^[ \t]*(`{3,})[^`]*$")
	modelTilde    = regexp.MustCompile(`^[ \t]*(~{3,})`)
	modelQuote    = regexp.MustCompile(`^[ \t]*>`)
)

type modelLineInfo struct {
	start, end    int // the line's text, without its ending
	counts        bool
	visible       string
	openAfter     bool
	hiddenAtStart bool
}

func model(text string) []modelLineInfo {
	const (
		out = iota
		fence
		comment
	)
	mode, fenceRun := out, ""
	var lines []modelLineInfo
	for pos := 0; pos < len(text); {
		whole := modelLine.FindStringSubmatch(text[pos:])
		body := whole[0][:len(whole[0])-len(whole[1])]
		li := modelLineInfo{start: pos, end: pos + len(body), hiddenAtStart: mode != out}
		next := pos + len(whole[0])
		switch mode {
		case fence:
			closer := regexp.MustCompile("^[ \t]*" + regexp.QuoteMeta(fenceRun) + regexp.QuoteMeta(fenceRun[:1]) + "*[ \t]*$")
			if closer.MatchString(body) {
				mode = out
			}
			li.openAfter = mode != out
			lines = append(lines, li)
			pos = next
			continue
		case out:
			quoted := modelQuote.MatchString(body)
			m := modelBacktick.FindStringSubmatch(body)
			if m == nil {
				m = modelTilde.FindStringSubmatch(body)
			}
			if m != nil && !quoted {
				mode, fenceRun = fence, m[1]
				li.openAfter = true
				lines = append(lines, li)
				pos = next
				continue
			}
			li.counts = !quoted
		}
		firstHidden := -1
		for j := 0; j < len(body); {
			switch {
			case mode == out && strings.HasPrefix(body[j:], "<!--"):
				if firstHidden < 0 {
					firstHidden = j
				}
				mode = comment
				j += 4
			case mode == comment && strings.HasPrefix(body[j:], "-->"):
				mode = out
				j += 3
			default:
				j++
			}
		}
		if li.counts {
			li.visible = body
			if firstHidden >= 0 {
				li.visible = body[:firstHidden]
			}
		}
		li.openAfter = mode != out
		lines = append(lines, li)
		pos = next
	}
	return lines
}

func checkAgainstModel(t *testing.T, text string) {
	t.Helper()
	got := Lines(text)
	want := model(text)
	if len(got) != len(want) {
		t.Fatalf("%q: %d lines, the model has %d", text, len(got), len(want))
	}
	for i, ln := range got {
		m := want[i]
		if ln.Start != m.start || ln.Start+len(ln.Text) != m.end || text[ln.Start:ln.End()] != ln.Text+ln.EOL {
			t.Fatalf("%q line %d: at %d..%d, the model says %d..%d", text, i, ln.Start, ln.Start+len(ln.Text), m.start, m.end)
		}
		if ln.Counts && m.hiddenAtStart {
			t.Fatalf("%q line %d (%q) counts but begins inside a fence or comment", text, i, ln.Text)
		}
		// The model is the line reader alone: the parser may hide more
		// (code, HTML blocks, lazy quote lines) and keep more open, but
		// never counts a line the model hides or shows a different part.
		if ln.Counts && (!m.counts || ln.Visible != m.visible) || !ln.Counts && ln.Visible != "" || m.openAfter && !ln.Open {
			t.Fatalf("%q line %d (%q): counts=%v visible=%q open=%v; the model says counts=%v visible=%q open=%v",
				text, i, ln.Text, ln.Counts, ln.Visible, ln.Open, m.counts, m.visible, m.openAfter)
		}
		if strings.Contains(ln.Visible, "<!--") {
			t.Fatalf("%q line %d: visible part %q holds a comment", text, i, ln.Visible)
		}
	}
	if n := len(got); n > 0 && got[n-1].End() != len(text) {
		t.Fatalf("%q: lines end at %d of %d", text, got[n-1].End(), len(text))
	}
}

func FuzzLines(f *testing.F) {
	for _, s := range []string{
		"", "a\nb", "```\nx\n```\ny", "~~~~\n~~~\n~~~~~\nz", "<!-- a\nb --> c <!-- d\ne\n-->f",
		"> ```\n/cmd", "a <!--\r/cmd\r-->\r\n/cmd", "<!-->\n-->", "```a```\n/cmd", "   ```\n   x\n  ```  \ny",
		"- Depends-On: o/a#1 <!-- o/b#2 -->\n", "\r\r\n\n", "<!---->\n<!--->-->",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkAgainstModel(t, text)
	})
}
