// Package text shortens what people read: commit SHAs, the first line of a
// message, and descriptions cut to a limit such as GitHub's 140 characters
// for a commit status.
package text

import "strings"

// ShortSHA is a commit SHA as people read it: its first 12 characters.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// FirstLine is s up to its first newline.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Truncate folds s to one line (runs of white space become one space) and
// cuts it to at most n characters, ending a cut with "…".
func Truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
