package cli

import "testing"

func TestEditDistanceCountsSwapsOnce(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"json", "json", 0}, {"jsno", "json", 1}, {"jsn", "json", 1}, {"tset", "test", 1}, {"", "ab", 2}, {"kitten", "sitting", 3}} {
		if got := EditDistance(c.a, c.b); got != c.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSuggestOnlyNearWords(t *testing.T) {
	names := []string{"validate", "test", "serve"}
	for word, want := range map[string]string{"tset": " (did you mean test?)", "serv": " (did you mean serve?)", "deploy": "", "": ""} {
		if got := Suggest(word, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
}
