package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
)

func (h *Handler) runFromPath(w http.ResponseWriter, r *http.Request) (*store.Run, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "run id must be a positive number", http.StatusBadRequest)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	run, err := h.st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no run "+strconv.FormatInt(id, 10), http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		h.log.WithError(err).WithField(logging.Run, id).Error("run page: store")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return nil, false
	}
	return run, true
}

// page renders one of pages' templates with its headers. Everything from
// outside (titles, branch names, commands, logs) is escaped by
// html/template, and the CSP forbids what escaping would have missed.
func (h *Handler) page(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.WithError(err).Error("page " + name + ": template")
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Write(buf.Bytes())
}

func (h *Handler) serveRun(w http.ResponseWriter, r *http.Request) {
	run, ok := h.runFromPath(w, r)
	if !ok {
		return
	}
	v := newRunView(run, h.clock.Now())
	if h.workflowRun != nil {
		v.WorkflowURL, v.Attempt = h.workflowRun(r.Context(), run.ID)
	}
	h.page(w, "run", v)
}

func (h *Handler) serveRunLog(w http.ResponseWriter, r *http.Request) {
	run, ok := h.runFromPath(w, r)
	if !ok {
		return
	}
	log, err := h.st.OpenLog(r.Context(), run.ID)
	if err != nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Error("run log: store")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	defer log.Close()
	// text/plain with nosniff: build output is untrusted and must never be
	// rendered as a page. The log is copied from disk a buffer at a time,
	// whatever its size and however many read it at once.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if run.Result != nil {
		writeCheckouts(w, run.Result)
	}
	if _, err := io.Copy(w, log); err != nil && r.Context().Err() == nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Warn("run log: copy cut short")
	}
}

// writeCheckouts writes the checkout steps, which come first in a run and
// which the runner reports in its result rather than in the streamed log,
// in the log's own form: a header, the output, a footer.
func writeCheckouts(w io.Writer, res *ci.Result) {
	for _, s := range res.Steps {
		if s.Name != "checkout" || s.Result == ci.Skipped {
			continue
		}
		fmt.Fprintf(w, "==> checkout %s: %s\n", s.Sibling, s.Command)
		if s.LogTail != "" {
			io.WriteString(w, s.LogTail)
			if s.LogTail[len(s.LogTail)-1] != '\n' {
				io.WriteString(w, "\n")
			}
		}
		fmt.Fprintf(w, "<== checkout %s: %s in %s\n", s.Sibling, s.Result, time.Duration(s.DurationMS)*time.Millisecond)
	}
}
