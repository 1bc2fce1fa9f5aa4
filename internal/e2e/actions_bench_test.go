package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// statusTimes stamps, by the machine's clock, each status the service
// posts, as the emulator receives it: "repo@sha state" -> first time.
type statusTimes struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *statusTimes) hook(w *world) {
	s.at = map[string]time.Time{}
	w.gh.SetHook(func(method, path string, body []byte) *githubtest.Fault {
		if method != "POST" || !strings.Contains(path, "/statuses/") {
			return nil
		}
		now := time.Now()
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/") // repos/o/r/statuses/sha
		state := "other"
		for _, st := range []string{"success", "failure", "error", "pending"} {
			if strings.Contains(string(body), `"state":"`+st+`"`) {
				state = st
			}
		}
		if len(parts) == 5 {
			key := parts[1] + "/" + parts[2] + "@" + parts[4] + " " + state
			s.mu.Lock()
			if _, ok := s.at[key]; !ok {
				s.at[key] = now
			}
			s.mu.Unlock()
		}
		return nil
	})
}

func (s *statusTimes) get(repo, sha, state string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at[repo+"@"+sha+" "+state]
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkActionsCoordination is the service's own time on a run built
// on GitHub Actions: from the dispatch to the job fetching its plan, plus
// from the result posted to the final status on GitHub. The runner is
// the test runner (the real binary, started at once); the rest of a
// run's time is the build itself. Reported beside it, as a baseline from
// the same run: the job's build time, and the same change built by the
// local executor, delivery to final status.
func BenchmarkActionsCoordination(b *testing.B) {
	w := newWorld(b, worldOptions{actions: &actionsWorld{}, siblings: []string{"core"}, coalesce: time.Millisecond})
	times := &statusTimes{}
	times.hook(w)
	n := w.openPR("acme/core", "bench", "", map[string]string{"README": "0\n"})
	var starts, finishes, totals, builds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.push("acme/core", "bench", map[string]string{"README": fmt.Sprintf("%d\n", i+1)})
		sha := w.head("acme/core", n)
		sent := time.Now()
		w.send("pull_request", w.prPayload("synchronize", "acme/core", n))
		w.waitFor("success", func() bool { return !times.get("acme/core", sha, "success").IsZero() })
		done := times.get("acme/core", sha, "success")
		rs := w.runs()
		r := rs[len(rs)-1]
		d, err := w.st.GetDispatch(context.Background(), r.ID)
		if err != nil {
			b.Fatal(err)
		}
		starts = append(starts, d.StartedAt.Sub(d.DispatchedAt))
		finishes = append(finishes, done.Sub(d.ResultAt))
		totals = append(totals, done.Sub(sent))
		if r.Result != nil {
			builds = append(builds, time.Duration(r.Result.DurationMS)*time.Millisecond)
		}
	}
	b.StopTimer()
	coord := make([]time.Duration, len(starts))
	for i := range starts {
		coord[i] = starts[i] + finishes[i]
	}
	b.ReportMetric(float64(median(starts).Microseconds())/1000, "dispatch-to-start-ms-p50")
	b.ReportMetric(float64(median(finishes).Microseconds())/1000, "result-to-status-ms-p50")
	b.ReportMetric(float64(median(coord).Microseconds())/1000, "coordination-ms-p50")
	b.ReportMetric(float64(median(totals).Microseconds())/1000, "delivery-to-status-ms-p50")
	b.ReportMetric(float64(median(builds).Microseconds())/1000, "build-ms-p50")

	// The baseline: the same kind of change, built here.
	l := newWorld(b, worldOptions{siblings: []string{"core"}, coalesce: time.Millisecond})
	ltimes := &statusTimes{}
	ltimes.hook(l)
	ln := l.openPR("acme/core", "bench", "", map[string]string{"README": "0\n"})
	var local []time.Duration
	for i := 0; i < max(b.N, 3); i++ {
		l.push("acme/core", "bench", map[string]string{"README": fmt.Sprintf("%d\n", i+1)})
		sha := l.head("acme/core", ln)
		sent := time.Now()
		l.send("pull_request", l.prPayload("synchronize", "acme/core", ln))
		l.waitFor("success", func() bool { return !ltimes.get("acme/core", sha, "success").IsZero() })
		local = append(local, ltimes.get("acme/core", sha, "success").Sub(sent))
	}
	b.ReportMetric(float64(median(local).Microseconds())/1000, "local-delivery-to-status-ms-p50")
	b.ReportMetric(float64(median(totals))/float64(median(local)), "actions/local")
}

// fanOut opens count changesets (one PR each, in acme/core) over spread,
// each a test of testFor, and returns each one's time from its delivery
// to its final status, and the time from the first delivery to the last
// final status.
func fanOut(b *testing.B, w *world, count int, spread, testFor time.Duration) (each []time.Duration, all time.Duration, sentByPR map[int]time.Time) {
	times := &statusTimes{}
	times.hook(w)
	type cs struct {
		n   int
		sha string
	}
	var sets []cs
	for i := 0; i < count; i++ {
		n := w.openPR("acme/core", "fan-"+strconv.Itoa(i), "", map[string]string{"check.sh": fmt.Sprintf("sleep %g; echo core ok\n", testFor.Seconds())})
		sets = append(sets, cs{n, w.head("acme/core", n)})
	}
	sent := make([]time.Time, count)
	start := time.Now()
	for i, c := range sets {
		if count > 1 {
			time.Sleep(time.Until(start.Add(spread * time.Duration(i) / time.Duration(count-1))))
		}
		sent[i] = time.Now()
		w.send("pull_request", w.prPayload("opened", "acme/core", c.n))
	}
	sentByPR = map[int]time.Time{}
	for i, c := range sets {
		sentByPR[c.n] = sent[i]
	}
	var last time.Time
	for i, c := range sets {
		w.waitFor("success of "+strconv.Itoa(i), func() bool { return !times.get("acme/core", c.sha, "success").IsZero() })
		done := times.get("acme/core", c.sha, "success")
		each = append(each, done.Sub(sent[i]))
		if done.After(last) {
			last = done
		}
	}
	return each, last.Sub(start), sentByPR
}

func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// BenchmarkFanOut: 50 changesets arriving in 10 s, each a 5 s test. With
// the actions executor and a runner per job (50 at once), each changeset's
// time from delivery to final status against one changeset's alone, in
// the same run; the same with the local executor and 2 workers, for
// contrast. The changesets' arrival is paced by the clock: it is the
// load, not a wait for an event.
func BenchmarkFanOut(b *testing.B) {
	const count, spread, test = 50, 10 * time.Second, 5 * time.Second
	for _, c := range []struct {
		name string
		o    worldOptions
	}{
		// The service builds nothing itself: its workers only dispatch,
		// and as many again handle deliveries.
		{"actions-50-runners", worldOptions{actions: &actionsWorld{}, siblings: []string{"core"}, coalesce: time.Millisecond, workers: 8}},
		// Runners with machines of their own: each job takes the test's
		// time and posts a success, and costs this machine nothing, so
		// what is left is the service's own scaling.
		{"actions-50-stand-in-runners", worldOptions{actions: &actionsWorld{standIn: test}, siblings: []string{"core"}, coalesce: time.Millisecond, workers: 8}},
		{"local-2-workers", worldOptions{siblings: []string{"core"}, coalesce: time.Millisecond}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := newWorld(b, c.o)
				one, _, _ := fanOut(b, w, 1, 0, test)
				w2 := newWorld(b, c.o)
				each, all, sent := fanOut(b, w2, count, spread, test)
				b.ReportMetric(one[0].Seconds(), "one-s")
				b.ReportMetric(median(each).Seconds(), "each-s-p50")
				b.ReportMetric(maxOf(each).Seconds(), "each-s-max")
				b.ReportMetric(all.Seconds(), "all-s")
				b.ReportMetric(maxOf(each).Seconds()/one[0].Seconds(), "max/one")
				if c.o.actions != nil {
					w2.reportPhases(b, sent)
				}
			}
		})
	}
}

// reportPhases reports where the runs of a world with actions spent
// their time, p50 over its runs: from the run's creation to its dispatch
// (the service), from the dispatch to the job's start (the runner), the
// job itself, and from its result to the run's end in the store.
func (w *world) reportPhases(b *testing.B, sent map[int]time.Time) {
	var handled, queued, starting, building, ending []time.Duration
	for _, r := range w.runs() {
		for _, m := range r.Changeset.Members {
			if t, ok := sent[m.PR.Number]; ok {
				handled = append(handled, r.CreatedAt.Sub(t))
			}
		}
		d, err := w.st.GetDispatch(context.Background(), r.ID)
		if err != nil {
			b.Fatal(err)
		}
		queued = append(queued, d.DispatchedAt.Sub(r.CreatedAt))
		starting = append(starting, d.StartedAt.Sub(d.DispatchedAt))
		building = append(building, d.ResultAt.Sub(d.StartedAt))
		ending = append(ending, r.FinishedAt.Sub(d.ResultAt))
	}
	b.ReportMetric(median(handled).Seconds(), "sent-to-created-s-p50")
	b.ReportMetric(median(queued).Seconds(), "created-to-dispatch-s-p50")
	b.ReportMetric(median(starting).Seconds(), "dispatch-to-start-s-p50")
	b.ReportMetric(median(building).Seconds(), "job-s-p50")
	b.ReportMetric(median(ending).Seconds(), "result-to-end-s-p50")
}
