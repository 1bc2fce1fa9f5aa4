package suggest

import (
	"strings"
	"testing"
)

func TestDistanceCountsSwapsOnce(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"json", "json", 0}, {"jsno", "json", 1}, {"jsn", "json", 1}, {"tset", "test", 1}, {"", "ab", 2}, {"kitten", "sitting", 3}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := Distance(strings.Repeat("a", 5000), "a"); got != 5000 {
		t.Errorf("a long word: %d", got)
	}
}

func TestClosestOnlyNearWords(t *testing.T) {
	names := []string{"validate", "test", "serve", "depends_on"}
	for word, want := range map[string]string{"tset": "test", "serv": "serve", "depend_on": "depends_on", "deploy": "", "": ""} {
		if got := Closest(word, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
