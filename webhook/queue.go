package webhook

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// HistoryPageSize is how many finished runs a page of GET /runs lists.
const HistoryPageSize = 50

// queueQuery is what GET /runs is asked: a filter and a page.
type queueQuery struct {
	store.RunFilter
	Before int64 // list finished runs older than this one; 0 from the newest
}

// The forms GitHub allows, and so all a filter needs to accept: anything
// else is refused before it reaches the store or the page.
var (
	repoForm  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	loginForm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$`)
)

// maxKeyRefs bounds a changeset filter: a changeset has at most 50 PRs.
const maxKeyRefs = 50

// queueParams are the query parameters GET /runs takes.
var queueParams = []string{"repo", "pr", "author", "changeset", "before"}

// badQuery is a query GET /runs refuses. Its message never repeats what
// was sent: it is said as plain text, and a value someone else chose
// (in a link they sent) has no place in it.
type badQuery string

func (e badQuery) Error() string { return string(e) }

func parseQueueQuery(v url.Values) (queueQuery, error) {
	var q queueQuery
	for name, vals := range v {
		known := false
		for _, p := range queueParams {
			known = known || p == name
		}
		if !known {
			return q, badQuery("unknown query parameter: GET /runs takes " + strings.Join(queueParams, ", "))
		}
		if len(vals) != 1 {
			return q, badQuery("query parameter " + name + " given more than once")
		}
	}
	if v.Has("repo") {
		s := v.Get("repo")
		if !repoForm.MatchString(s) {
			return q, badQuery("repo must be a repository as owner/name, such as acme/core")
		}
		q.Repo = s
	}
	if v.Has("pr") {
		n, err := strconv.Atoi(v.Get("pr"))
		if err != nil || n <= 0 || n > 1<<31-1 {
			return q, badQuery("pr must be a pull request number, such as 12")
		}
		if q.Repo == "" {
			return q, badQuery("pr needs repo: ?repo=acme/core&pr=12")
		}
		q.PR = n
	}
	if v.Has("author") {
		s := v.Get("author")
		if !loginForm.MatchString(s) {
			return q, badQuery("author must be a GitHub login, such as alice")
		}
		q.Author = s
	}
	if v.Has("changeset") {
		s := v.Get("changeset")
		refs := strings.Split(s, ",")
		if len(refs) > maxKeyRefs {
			return q, badQuery("changeset must be at most 50 PRs")
		}
		for _, ref := range refs {
			repo, num, ok := strings.Cut(ref, "#")
			n, err := strconv.Atoi(num)
			if !ok || !repoForm.MatchString(repo) || err != nil || n <= 0 || num != strconv.Itoa(n) {
				return q, badQuery("changeset must be a changeset key: PRs as owner/name#N joined by commas, such as acme/core#12,acme/lib#3")
			}
		}
		q.Key = s
	}
	if v.Has("before") {
		n, err := strconv.ParseInt(v.Get("before"), 10, 64)
		if err != nil || n <= 0 {
			return q, badQuery("before must be a run id, such as 120")
		}
		q.Before = n
	}
	return q, nil
}

// values is q as a query string's values, without the page.
func (q queueQuery) values() url.Values {
	v := url.Values{}
	if q.Repo != "" {
		v.Set("repo", q.Repo)
	}
	if q.PR != 0 {
		v.Set("pr", strconv.Itoa(q.PR))
	}
	if q.Author != "" {
		v.Set("author", q.Author)
	}
	if q.Key != "" {
		v.Set("changeset", q.Key)
	}
	return v
}

// link is the path of GET /runs with v, relative to the page's own
// directory (the page is served at / and at /runs).
func link(v url.Values) string {
	if len(v) == 0 {
		return "runs"
	}
	return "runs?" + v.Encode()
}

// filterShown is one filter in force, and the page without it.
type filterShown struct {
	What, Value string
	Without     string
}

// queuePage is the data of GET /runs.
type queuePage struct {
	Filters []filterShown
	// Whole counts the whole queue, whatever the filters show.
	Whole    store.QueueCounts
	Building []liveRow
	Queued   []liveRow
	Waiting  []waitRow
	History  []runView
	// Newer and Older link the neighbouring pages of finished runs.
	Newer, Older string
	PageSize     int
	Live         bool
	Refresh      int
}

// liveRow is a queued or building run.
type liveRow struct {
	runView
	// Building: how long it has run, the step it is at and for how long.
	For, Step, StepFor string
	// Queued: when it may start and what it waits for.
	Due string
}

// waitRow is a changeset waiting for an approval.
type waitRow struct {
	store.Waiting
	Members []changeset.Member
	// Untrusted are the PRs whose heads need the approval: of authors
	// who are not trusted, at heads no approval covers yet.
	Untrusted []*changeset.PR
	Age       string
	Problem   string
}

func (h *Handler) serveRuns(w http.ResponseWriter, r *http.Request) {
	q, err := parseQueueQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	data, err := h.queuePage(ctx, q, h.clock.Now())
	if err != nil {
		h.log.WithError(err).Error("run list: store")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	h.page(w, "runs", data)
}

func (h *Handler) queuePage(ctx context.Context, q queueQuery, now time.Time) (*queuePage, error) {
	data := &queuePage{PageSize: h.historyPage, Refresh: 2 * liveRefresh}
	var err error
	if data.Whole, err = h.st.CountQueue(ctx); err != nil {
		return nil, err
	}
	// The whole live list, so a queued run's place counts every run
	// ahead of it, shown or not.
	live, err := h.st.LiveList(ctx, store.RunFilter{})
	if err != nil {
		return nil, err
	}
	building := map[string]int64{}
	for _, r := range live {
		if r.State == lifecycle.Building {
			building[r.Key] = r.ID
		}
	}
	ahead := 0
	for i := range live {
		r := &live[i]
		row := liveRow{runView: newRunView(r, now)}
		switch r.State {
		case lifecycle.Building:
			row.For = roundDuration(now.Sub(r.StartedAt).Truncate(time.Second))
			row.Step = r.Step
			if !r.StepAt.IsZero() {
				row.StepFor = roundDuration(now.Sub(r.StepAt).Truncate(time.Second))
			}
		case lifecycle.Queued:
			row.Due = dueWords(r, now, building[r.Key], ahead)
			if r.NotBefore.After(now) || building[r.Key] != 0 {
				break
			}
			ahead++
		}
		if !q.Matches(r.Changeset) {
			continue
		}
		if r.State == lifecycle.Building {
			data.Building = append(data.Building, row)
		} else {
			data.Queued = append(data.Queued, row)
		}
	}
	waiting, err := h.st.WaitingList(ctx, q.RunFilter)
	if err != nil {
		return nil, err
	}
	for _, wt := range waiting {
		row := waitRow{Waiting: wt, Age: age(now.Sub(wt.Since))}
		if wt.Changeset != nil {
			row.Members = wt.Changeset.Members
			for _, m := range wt.Changeset.Members {
				if !m.Trusted && m.PR != nil && (len(wt.Needs) == 0 || slices.Contains(wt.Needs, m.PR.Ref())) {
					row.Untrusted = append(row.Untrusted, m.PR)
				}
			}
		}
		if wt.RecordError != nil {
			row.Problem = wt.RecordError.Error()
		}
		data.Waiting = append(data.Waiting, row)
	}
	// One more than a page says whether there is an older page.
	hist, err := h.st.History(ctx, q.RunFilter, q.Before, h.historyPage+1)
	if err != nil {
		return nil, err
	}
	if len(hist) > h.historyPage {
		hist = hist[:h.historyPage]
		v := q.values()
		v.Set("before", strconv.FormatInt(hist[len(hist)-1].ID, 10))
		data.Older = link(v)
	}
	if q.Before != 0 {
		data.Newer = link(q.values())
	}
	for i := range hist {
		data.History = append(data.History, newRunView(&hist[i], now))
	}
	data.Live = data.Whole.Building+data.Whole.Queued > 0
	data.Filters = filtersShown(q)
	return data, nil
}

// filtersShown lists the filters in force, each with a link to the page
// without it (a PR's number goes with its repository).
func filtersShown(q queueQuery) []filterShown {
	var out []filterShown
	add := func(what, value string, drop ...string) {
		v := q.values()
		for _, d := range drop {
			v.Del(d)
		}
		out = append(out, filterShown{What: what, Value: value, Without: link(v)})
	}
	if q.Repo != "" {
		add("repository", q.Repo, "repo", "pr")
	}
	if q.PR != 0 {
		add("pull request", q.Repo+"#"+strconv.Itoa(q.PR), "pr")
	}
	if q.Author != "" {
		add("author", q.Author, "author")
	}
	if q.Key != "" {
		add("changeset", q.Key, "changeset")
	}
	return out
}

// heldUntil is past any time a queued run is really due: a trigger holds
// its run that long until its queued state is reported.
var heldUntil = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// dueWords says when a queued run may start and what it waits for: the
// end of its coalescing window, a run of its changeset building now, or
// a free worker behind ahead runs due before it.
func dueWords(r *store.Run, now time.Time, blockedBy int64, ahead int) string {
	switch {
	case r.NotBefore.After(heldUntil):
		return "being queued: its queued state is being reported"
	case r.NotBefore.After(now):
		return "due in " + roundDuration(r.NotBefore.Sub(now).Truncate(time.Second)) + " (" + r.NotBefore.UTC().Format("15:04:05 UTC") +
			"), once more events of its changeset can no longer join it"
	case blockedBy != 0:
		return "due; waits for run " + strconv.FormatInt(blockedBy, 10) + " of the same changeset to finish"
	case ahead == 0:
		return "due; next for a free worker"
	}
	return "due; waits for a free worker, " + plural(ahead, "run") + " ahead of it"
}
