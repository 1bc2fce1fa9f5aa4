// Package suggest finds the word a typo was meant to be, for every "did
// you mean" the program says: mistyped flags, commands, config keys,
// sibling names, layers and tasks.
package suggest

import "sort"

// Closest returns the candidate a typo away from word, or "". A typo is
// an insertion, deletion, substitution or swap of neighbours; a third of
// the word's length may be wrong (at least one letter), so "depend_on"
// finds depends_on and "jsno" finds json. Ties go to the candidate first
// in sorted order, so the answer does not depend on the caller's order.
func Closest(word string, candidates []string) string {
	best, bestDist := "", 0
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		d := Distance(word, c)
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(1, len(word)/3) {
		return ""
	}
	return best
}

// Distance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of two neighbours that
// turn a into b, each costing one.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Words people type are short; a long one is nobody's typo, and
		// the table would grow with the square of its length.
		return max(len(a), len(b))
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
