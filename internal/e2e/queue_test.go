package e2e

import (
	"io"
	"net/http"
	"regexp"
)

// pageAt is what the service serves at the URL u, which must answer 200.
func (w *world) pageAt(u string) string {
	w.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return string(body)
}

// queueLink is the link to the queue page in a summary comment.
var queueLink = regexp.MustCompile(`\[The queue\]\((http[^)]+)\)`)

// queueURL is the queue page a summary links, or "".
func queueURL(summary string) string {
	if m := queueLink.FindStringSubmatch(summary); m != nil {
		return m[1]
	}
	return ""
}
