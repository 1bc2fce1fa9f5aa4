package land

import (
	"context"
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

// Foreground checks members and, unless dryRun or a problem stops it,
// lands them, writing the checklist and the outcome to w: the CLI's
// landing, which nothing resumes. ok says whether everything landed as
// tested (with dryRun: whether it could land); say is the last word for
// the person at the terminal.
//
// Once everything landed as tested, the releases rels names are tagged
// (and published).
func Foreground(ctx context.Context, g GitHub, members []Member, dryRun bool, rels func(*Outcome) []Release, w io.Writer) (ok bool, say string, err error) {
	cl, err := Check(ctx, g, "", members, Options{})
	if err != nil {
		return false, "", err
	}
	if err := cl.WriteText(w); err != nil {
		return false, "", err
	}
	switch {
	case cl.Blocked() || len(cl.Moved()) > 0:
		return false, "nothing was merged: fix what the checklist names, then run merge again", nil
	case dryRun:
		return true, "dry run: nothing was built or merged; without --dry-run the changeset is built first and lands if it passes", nil
	}
	out, err := Land(ctx, g, cl, Unrecorded)
	if err != nil {
		return false, "", err
	}
	if err := out.WriteText(w); err != nil {
		return false, "", err
	}
	if out.Halted != nil {
		return false, "the landing stopped halfway: what merged stays merged; fix what stopped it, then run merge again", nil
	}
	if !out.AsTested() {
		return false, "landed, but not as tested: compare the trees named above", nil
	}
	var failed []string
	for _, t := range TagReleases(ctx, g, rels(out)) {
		what := "tagged " + t.Release.Member.Ref() + " " + t.Release.Tag
		if !t.Created {
			what = t.Release.Member.Ref() + ": tag " + t.Release.Tag + " was there already"
		}
		if t.Err != nil {
			what, failed = what+": "+t.Err.Error(), append(failed, t.Release.Tag)
		}
		fmt.Fprintln(w, what)
	}
	if len(failed) > 0 {
		return false, "landed as tested; not tagged: " + strings.Join(failed, ", "), nil
	}
	return true, "landed as tested", nil
}
