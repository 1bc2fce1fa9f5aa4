package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docFiles are the README and every page under docs/, by path from the
// module root.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	files := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	paths = append(paths, filepath.Join(root, "README.md"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
	}
	return files
}

var (
	mdLinkRe    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeadingRe = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	fenceRe     = regexp.MustCompile("(?ms)^```.*?^```")
)

// anchors are the ids GitHub gives a page's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range mdHeadingRe.FindAllStringSubmatch(fenceRe.ReplaceAllString(text, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		id := b.String()
		for n := 1; out[id]; n++ {
			id = b.String() + "-" + string(rune('0'+n))
		}
		out[id] = true
	}
	return out
}

// TestDocsLinksResolve: every relative link of the README and docs/
// names a file that exists, and a heading in it when it has an anchor.
func TestDocsLinksResolve(t *testing.T) {
	files := docFiles(t)
	root := filepath.Join("..", "..")
	for name, text := range files {
		for _, m := range mdLinkRe.FindAllStringSubmatch(fenceRe.ReplaceAllString(text, ""), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			targetName := name
			if target != "" {
				targetName = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(name), target)))
				if _, err := os.Stat(filepath.Join(root, targetName)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", name, link, targetName)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			page, ok := files[targetName]
			if !ok {
				t.Errorf("%s: link %q: an anchor into %s, which is not a page", name, link, targetName)
				continue
			}
			if !anchors(page)[anchor] {
				t.Errorf("%s: link %q: %s has no heading #%s", name, link, targetName, anchor)
			}
		}
	}
}

var helpFlagRe = regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)`)

// TestEveryFlagIsDocumented: every flag a command's --help prints is
// written in the README or docs/ (as `--flag`), so that no option exists
// only for those who read the code.
func TestEveryFlagIsDocumented(t *testing.T) {
	var all strings.Builder
	for _, text := range docFiles(t) {
		all.WriteString(text)
	}
	docs := all.String()
	commands := [][]string{{"validate"}, {"test"}, {"changeset"}, {"merge"}, {"serve"}, {"action"},
		{"release", "plan"}, {"release", "open"}, {"demo"}, {"app", "create"}, {"run-job"}}
	var missing []string
	for _, c := range commands {
		_, out, errs := runCmd(t, append(append([]string{}, c...), "--help")...)
		help := out + errs
		flags := helpFlagRe.FindAllStringSubmatch(help, -1)
		// The Action takes its inputs from the environment, not flags.
		if len(flags) == 0 && c[0] != "demo" && c[0] != "action" {
			t.Errorf("%s --help lists no flags:\n%s", strings.Join(c, " "), help)
		}
		for _, f := range flags {
			if f[1] == "--help" {
				continue
			}
			if !regexp.MustCompile(regexp.QuoteMeta(f[1]) + `\b`).MatchString(docs) {
				missing = append(missing, strings.Join(c, " ")+" "+f[1])
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("flags no page documents:\n%s", strings.Join(missing, "\n"))
	}
}
