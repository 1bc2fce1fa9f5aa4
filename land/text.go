package land

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the checklist for a terminal: a line per member in the
// order they land, each problem under it with its fix.
func (c *Checklist) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, p := range c.Problems {
		fmt.Fprintf(&b, "✘ %s\n    fix: %s\n", p.What, p.Fix)
	}
	for i, r := range c.Rows {
		mark := "✔"
		switch {
		case r.Merged:
			mark = "merged already as " + short(r.MergeSHA)
		case len(r.Problems) > 0:
			mark = "✘"
		case r.Moved:
			mark = fmt.Sprintf("✘ %s moved to %s since the tested build", r.Member.BaseRef, short(r.BaseTip))
		}
		fmt.Fprintf(&b, "%d. %-24s %-12s %s by %s  %s\n", i+1, r.Member.Ref(), r.Member.Sibling, short(r.Member.Head), orNothing([]string{r.Method}), mark)
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "     %s\n       fix: %s\n", p.What, p.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes how a landing ended for a terminal.
func (o *Outcome) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, l := range o.Landed {
		proof := "the tree tested"
		switch {
		case !l.Proof.Checked:
			proof = "not compared: no tree recorded"
		case !l.Proof.Same:
			proof = "DIFFERS from the tree tested " + strings.Join(l.Proof.Paths, ", ")
		}
		fmt.Fprintf(&b, "merged %-24s as %s: %s\n", l.Row.Member.Ref(), l.MergeSHA, proof)
	}
	if o.Halted != nil {
		var left []string
		for _, r := range o.Left {
			left = append(left, r.Member.Ref())
		}
		fmt.Fprintf(&b, "STOPPED HALFWAY: %s did not merge: %s\nnot merged: %s\n", o.Halted.Row.Member.Ref(), o.Halted.Why, strings.Join(left, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
