package webhook

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
)

//go:embed run.html.tmpl
var runPageText string

var runPage = template.Must(template.New("run").Funcs(template.FuncMap{
	"ms":    func(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() },
	"short": text.ShortSHA,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(runPageText))

type runPageData struct {
	Run     *store.Run
	Members []changeset.Member
	Result  *ci.Result
	Failed  *ci.StepResult // the first failing step, whose log tail is shown
	Notes   []string       // what could not be shown, and why
}

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

func (h *Handler) serveRun(w http.ResponseWriter, r *http.Request) {
	run, ok := h.runFromPath(w, r)
	if !ok {
		return
	}
	data := runPageData{Run: run, Result: run.Result}
	if run.Changeset != nil {
		data.Members = run.Changeset.Members
	}
	if run.RecordError != nil {
		data.Notes = append(data.Notes, run.RecordError.Error())
	}
	if run.Result != nil {
		data.Failed = run.Result.FirstFailure()
	}
	var buf bytes.Buffer
	if err := runPage.Execute(&buf, data); err != nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Error("run page: template")
		http.Error(w, "could not render the run page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(buf.Bytes())
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
	if _, err := io.Copy(w, log); err != nil && r.Context().Err() == nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Warn("run log: copy cut short")
	}
}
