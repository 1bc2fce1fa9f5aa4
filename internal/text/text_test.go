package text

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	if ShortSHA("0123456789abcdef") != "0123456789ab" || ShortSHA("abc") != "abc" {
		t.Error("ShortSHA")
	}
	if FirstLine("a\nb") != "a" || FirstLine("a") != "a" {
		t.Error("FirstLine")
	}
	if got := Truncate("a \n b", 10); got != "a b" {
		t.Errorf("Truncate folds to %q", got)
	}
	if got := []rune(Truncate(strings.Repeat("é", 200), 140)); len(got) != 140 || got[139] != '…' {
		t.Errorf("Truncate cut to %d characters ending %q", len(got), got[len(got)-1])
	}
}
