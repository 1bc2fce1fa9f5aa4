package cli

import "testing"

func TestSuggestOnlyNearWords(t *testing.T) {
	names := []string{"validate", "test", "serve"}
	for word, want := range map[string]string{"tset": " (did you mean test?)", "serv": " (did you mean serve?)", "deploy": "", "": ""} {
		if got := Suggest(word, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
}
