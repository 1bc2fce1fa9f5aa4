package workspace

import "testing"

// TestLinesOfPaths pins the line of each kind of path the validator asks
// for, with text that looks like TOML inside strings and comments.
func TestLinesOfPaths(t *testing.T) {
	text := `# [fake] header in a comment
[workspace]
name = "w"
description = """
[not.a.header]
name = "not a key"
"""
env = { A = "1",
  "B.C" = '2' }

[[siblings]]
name = "a"
depends_on = [
  "b", # a comment
  # another
  "c",
]

[[siblings]]
name = "b"
ci.test = ["x"]
matrix = [[1, 2],
  [3]]

[siblings.extra]
k = 1
`
	l := scanLines(text)
	for _, c := range []struct {
		path []string
		line int
	}{
		{[]string{"workspace"}, 2},
		{[]string{"workspace", "name"}, 3},
		{[]string{"workspace", "description"}, 4},
		{[]string{"workspace", "env"}, 8},
		{[]string{"workspace", "env", "A"}, 8},
		{[]string{"workspace", "env", "B.C"}, 9},
		{[]string{"siblings"}, 11},
		{[]string{"siblings", "#0"}, 11},
		{[]string{"siblings", "#0", "name"}, 12},
		{[]string{"siblings", "#0", "depends_on", "#0"}, 14},
		{[]string{"siblings", "#0", "depends_on", "#1"}, 16},
		{[]string{"siblings", "#1"}, 19},
		{[]string{"siblings", "#1", "ci", "test"}, 21},
		{[]string{"siblings", "#1", "ci", "test", "#0"}, 21},
		{[]string{"siblings", "#1", "matrix", "#1"}, 23},
		{[]string{"siblings", "#1", "matrix", "#1", "#0"}, 23},
		{[]string{"siblings", "#1", "extra", "k"}, 26},
	} {
		if got := l.exact(c.path...); got != c.line {
			t.Errorf("line of %q = %d, want %d", c.path, got, c.line)
		}
	}
	if got := l.exact("not", "a", "header"); got != 0 {
		t.Errorf("a header inside a string recorded at line %d", got)
	}
	if got := l.line("siblings", "#1", "nope"); got != 19 {
		t.Errorf("an unknown key's line = %d, want its table's, 19", got)
	}
}
