package mdlines

import (
	"strings"
	"testing"
)

// realisticBody is a PR body as people write them: a template with
// comments, a checklist, a fenced log, a quote and Depends-On lines.
func realisticBody() string {
	var b strings.Builder
	b.WriteString("<!-- Describe the change. Link PRs in other siblings with Depends-On lines. -->\n\n")
	b.WriteString("## What\n\nMoves the config loader to the new schema and updates the callers in\nthe framework layer. The old keys are still read, with a warning.\n\n")
	b.WriteString("## Why\n\n> The loader reads keys it does not know and fails late.\n> -- issue 41\n\n")
	b.WriteString("## Checklist\n\n- [x] tests\n- [x] docs\n- [ ] changelog\n  - fragment added in `.changeset/`\n\n")
	b.WriteString("```console\n$ pytest -q\n" + strings.Repeat("........................................ [ 10%]\n", 40) + "```\n\n")
	b.WriteString("    indented example\n    Depends-On: o/example#1\n\n")
	b.WriteString("Depends-On: provide-io/provide-foundation#412\nDepends-On: provide-io/provide-testkit#88\n")
	return b.String()
}

// hostileBodies are 1 MB each, shaped to make a Markdown reader do the
// most work per byte: deep nesting of quotes and lists, every line a
// block opener, an unclosed comment, long runs of markers.
var benchSize = 1 << 20

func hostileBodies() map[string]string {
	size := benchSize
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	var stairs strings.Builder
	for i := 0; stairs.Len() < size; i++ {
		stairs.WriteString(strings.Repeat(" ", 2*(i%700)) + "- x\n")
	}
	return map[string]string{
		"nested-quotes-one-line": fill(">"),
		"nested-lists-one-line":  fill("- "),
		"deep-quotes-each-line":  fill(strings.Repeat(">", 1000) + " x\n"),
		"list-stairs":            stairs.String(),
		"fences":                 fill("```\n"),
		"html-openers":           fill("<div>\n"),
		"comment-openers":        fill("<!--\n"),
		"indented-code":          fill("    /workspace test\n"),
		"lazy-lines":             fill("> a\nb\n"),
		"inline-markers":         fill("*_`[<"),
	}
}

func BenchmarkLines(b *testing.B) {
	body := realisticBody()
	b.Run("realistic", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			Lines(body)
		}
	})
	for name, body := range hostileBodies() {
		b.Run("hostile-1MB/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				Lines(body)
			}
		})
	}
}
