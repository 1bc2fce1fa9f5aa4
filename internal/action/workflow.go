package action

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Workflow speaks to the GitHub Actions runner: workflow commands on Out
// (the step's stdout); outputs and the step summary go through the files
// the runner names in GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
type Workflow struct {
	Out io.Writer
	mu  sync.Mutex
}

// escapeData escapes a command's message as the runner expects.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeProperty escapes a command property value.
func escapeProperty(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

func (w *Workflow) command(name, props, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if props != "" {
		props = " " + props
	}
	fmt.Fprintf(w.Out, "::%s%s::%s\n", name, props, escapeData(msg))
}

// Mask tells the runner to hide value in every later log line.
func (w *Workflow) Mask(value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	for _, line := range strings.Split(value, "\n") {
		if line != "" {
			w.command("add-mask", "", line)
		}
	}
}

// Error adds an error annotation with a title.
func (w *Workflow) Error(title, msg string) {
	w.command("error", "title="+escapeProperty(title), msg)
}

// Warning adds a warning annotation with a title.
func (w *Workflow) Warning(title, msg string) {
	w.command("warning", "title="+escapeProperty(title), msg)
}

// Notice adds a notice annotation.
func (w *Workflow) Notice(msg string) { w.command("notice", "", msg) }

// Group prints a collapsible group whose body is untrusted text: it is
// wrapped in stop-commands markers with a random token, so output of the
// code under test cannot issue workflow commands (set outputs, unmask).
func (w *Workflow) Group(title, body string) {
	token := randomToken()
	w.command("group", "", title)
	w.mu.Lock()
	fmt.Fprintf(w.Out, "::stop-commands::%s\n", token)
	io.WriteString(w.Out, body)
	if body != "" && !strings.HasSuffix(body, "\n") {
		io.WriteString(w.Out, "\n")
	}
	fmt.Fprintf(w.Out, "::%s::\n", token)
	w.mu.Unlock()
	w.command("endgroup", "", "")
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// SetOutput appends name=value to the GITHUB_OUTPUT file, using the
// heredoc form with a random delimiter so any value is safe.
func SetOutput(file, name, value string) error {
	if file == "" {
		return fmt.Errorf("GITHUB_OUTPUT is not set: run inside GitHub Actions or set it to a file path")
	}
	delim := "ghadelimiter_" + randomToken()
	return appendFile(file, fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim))
}

// AppendSummary appends Markdown to the GITHUB_STEP_SUMMARY file.
func AppendSummary(file, markdown string) error {
	if file == "" {
		return nil
	}
	return appendFile(file, markdown)
}

func appendFile(name, text string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
