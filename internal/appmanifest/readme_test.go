package appmanifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	setupStart = "<!-- app-setup: generated from the code; a test checks it -->\n"
	setupEnd   = "<!-- /app-setup -->"
)

// The README's steps for making the App by hand list the manifest's
// permissions and events: whoever clicks through GitHub's form asks for
// what app create asks for. Wherever the docs put the steps, one file
// holds them.
func TestREADMEListsTheManifest(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	var found []string
	for _, path := range append([]string{"../../README.md"}, docs...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(data), setupStart)
		if !ok {
			continue
		}
		found = append(found, path)
		block, _, ok := strings.Cut(rest, setupEnd)
		if !ok {
			t.Fatalf("%s: %q has no %q after it", path, setupStart, setupEnd)
		}
		if block != SetupMarkdown() {
			t.Errorf("%s lists, for an App made by hand:\n%s\nThe code asks for:\n%s\nReplace the block with the latter.", path, block, SetupMarkdown())
		}
	}
	if len(found) != 1 {
		t.Errorf("the steps to make the App by hand, marked %q, are in %v: want them in one file", strings.TrimSpace(setupStart), found)
	}
	for _, e := range Events() {
		if eventTitles[e] == "" {
			t.Errorf("event %s: give it its title on GitHub's settings page in eventTitles", e)
		}
	}
}
