package bot

import (
	"fmt"
	"unicode/utf8"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/mdescape"
)

// Annotation is a failing test shown on the line of a file in a check
// run, in the repository of the PR the check run is on.
type Annotation struct {
	Path      string `json:"path"` // relative to the repository's root
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Level     string `json:"annotation_level"` // notice, warning, failure
	Title     string `json:"title,omitempty"`
	Message   string `json:"message"`
	// RawDetails is the failure's output (its traceback).
	RawDetails string `json:"raw_details,omitempty"`
}

// AnnotationBatch is how many annotations GitHub takes in one request;
// a check run gets more through further updates.
const AnnotationBatch = 50

// maxAnnotations bounds one check run's annotations: the failures of a
// broken suite would otherwise cost a request per 50 of them.
const maxAnnotations = 4 * AnnotationBatch

// GitHub's limits on an annotation's fields, in bytes.
const (
	maxAnnotationTitle   = 255
	maxAnnotationMessage = 64 << 10
	maxAnnotationDetails = 64 << 10
)

// annotations are the failing tests of res with a place in a repository,
// by the sibling (or the workspace's name) whose repository holds it.
// Annotations are plain text on GitHub: nothing in them is rendered.
func annotations(res *ci.Result) map[string][]Annotation {
	if res == nil {
		return nil
	}
	failed, _ := res.FailedTests()
	out := map[string][]Annotation{}
	for _, f := range failed {
		if f.Checkout == "" || f.Path == "" || len(out[f.Checkout]) == maxAnnotations {
			continue
		}
		line := max(f.Line, 1)
		msg := f.Message
		if msg == "" {
			msg = "failed"
		}
		out[f.Checkout] = append(out[f.Checkout], Annotation{
			Path: f.Path, StartLine: line, EndLine: line, Level: "failure",
			Title:      clipBytes(mdescape.Plain(fmt.Sprintf("%s (%s)", f.ID, f.Step)), maxAnnotationTitle),
			Message:    clipBytes(msg, maxAnnotationMessage),
			RawDetails: clipBytes(f.Output, maxAnnotationDetails),
		})
	}
	return out
}

// clipBytes cuts s to at most n bytes, on a character boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for i := 0; i < utf8.UTFMax && !utf8.ValidString(s); i++ {
		s = s[:len(s)-1] // a character cut in two
	}
	return s + "…"
}
