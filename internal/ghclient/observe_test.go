package ghclient

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/logging"
)

// loggedAPIServer is an API server with ETags, and a debug logger writing
// JSON lines to buf.
func loggedAPIServer(t *testing.T) (*apiServer, *logrus.Logger, *bytes.Buffer) {
	var version atomic.Int32
	version.Store(1)
	s := newAPIServer(t, etagHandler(&version))
	buf := new(bytes.Buffer)
	log := logrus.New()
	log.SetOutput(buf)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(&logrus.JSONFormatter{})
	return s, log, buf
}

func TestLogsAndMetricsEveryCall(t *testing.T) {
	s, log, buf := loggedAPIServer(t)
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	f, _, _ := newTestFactory(t, s, "good", func(o *Options) { o.Logger = log; o.Observer = m })
	c, _ := f.Client()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, _, err := c.PullRequests.Get(ctx, "o", "r", 1); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one log line per call, got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{`"gh_method":"GET"`, `"gh_path":"/api/v3/repos/o/r/pulls/1"`, `"gh_status":200`, `"gh_ratelimit_remaining":4999`, `"gh_duration_ms"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %s lacks %s", lines[0], want)
		}
	}
	if !strings.Contains(lines[0], `"gh_cache_hit":false`) || !strings.Contains(lines[1], `"gh_cache_hit":true`) {
		t.Errorf("cache hit not logged:\n%s", out)
	}
	if strings.Contains(out, "good") {
		t.Errorf("log leaks the token:\n%s", out)
	}
	if got := metricValue(t, reg, "workspace_bot_github_requests_total", "status", "200"); got != 2 {
		t.Errorf("requests{GET,200} = %v, want 2", got)
	}
	if got := metricValue(t, reg, "workspace_bot_github_cache_hits_total", "", ""); got != 1 {
		t.Errorf("cache hits = %v, want 1", got)
	}
	if got := metricValue(t, reg, "workspace_bot_github_ratelimit_remaining", "resource", "core"); got != 4999 {
		t.Errorf("remaining = %v, want 4999", got)
	}
}

func TestTransportErrorsDoNotLeakToken(t *testing.T) {
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") })
	url := s.apiURL()
	s.Close() // connection refused from now on
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	log.SetLevel(logrus.DebugLevel)
	f, err := New(Options{APIURL: url, Token: "ghp_secretvalue", Logger: log, MaxAttempts: 2, RetryBase: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.Client()
	_, _, err = c.PullRequests.Get(context.Background(), "o", "r", 1)
	if err == nil {
		t.Fatal("want an error from a closed server")
	}
	if strings.Contains(err.Error(), "ghp_secretvalue") || strings.Contains(buf.String(), "ghp_secretvalue") {
		t.Errorf("token leaked: %v\n%s", err, buf.String())
	}
	if n := strings.Count(buf.String(), "github call"); n != 2 {
		t.Errorf("logged %d calls, want 2 attempts", n)
	}
}

// metricValue reads one counter or gauge from a registry, selected by one
// label (or none).
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return 0
}

// A call made for a delivery or a run logs with the logger its context
// carries, so the line names them.
func TestCallLogsCarryTheContextsFields(t *testing.T) {
	s, log, buf := loggedAPIServer(t)
	f, _, _ := newTestFactory(t, s, "good", func(o *Options) { o.Logger = log })
	c, _ := f.Client()
	ctx := logging.With(context.Background(), log.WithFields(logrus.Fields{logging.Delivery: "d-1", logging.Run: 7}))
	if _, _, err := c.PullRequests.Get(ctx, "o", "r", 1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"delivery":"d-1"`, `"run":7`, `"component":"github"`, `"gh_path":"/api/v3/repos/o/r/pulls/1"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %s lacks %s", buf.String(), want)
		}
	}
}
