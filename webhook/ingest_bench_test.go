package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/pgtest"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/store"
)

// BenchmarkIngest measures acknowledged, durably stored deliveries per
// second and the acknowledgement latency: 32 clients post the real signed
// pull_request payload to a real listener on loopback, each request with a
// new delivery id. "bounded" is the service as it runs, with its bound on
// the bytes in flight and its server's timeouts; "unbounded" is the
// baseline in the same run, without them; both on SQLite. "postgres" is
// the service as it runs with --database, against a PostgreSQL server on
// the same machine (internal/pgtest). Run it as in the README:
//
//	go test ./webhook -run '^$' -bench Ingest -benchtime 20000x
func BenchmarkIngest(b *testing.B) {
	// internal/server's defaults.
	served := func(s *http.Server) {
		s.ReadHeaderTimeout, s.ReadTimeout, s.MaxHeaderBytes = 10*time.Second, 30*time.Second, 64<<10
	}
	sqlite := func(b *testing.B) string { return filepath.Join(b.TempDir(), store.FileName) }
	b.Run("bounded", func(b *testing.B) { benchIngest(b, sqlite(b), DefaultMaxInFlight, served) })
	b.Run("unbounded", func(b *testing.B) { benchIngest(b, sqlite(b), 1<<62, func(*http.Server) {}) })
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.DSN(b)
		// A test server may run without fsync; the figure says which.
		d := durable(b, dsn)
		benchIngest(b, dsn, DefaultMaxInFlight, served)
		b.ReportMetric(d, "durable")
	})
}

// durable is 1 when the server at dsn makes a commit durable before it
// answers (fsync and synchronous_commit on), else 0.
func durable(b *testing.B, dsn string) float64 {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var fsync, syncCommit string
	if err := db.QueryRow(`SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit); err != nil {
		b.Fatal(err)
	}
	if fsync == "on" && syncCommit == "on" {
		return 1
	}
	return 0
}

func benchIngest(b *testing.B, database string, maxInFlight int64, config func(*http.Server)) {
	const clients = 32
	ctx := context.Background()
	st, err := store.Open(ctx, database)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	h, err := New(Options{Secret: []byte(testSecret), Store: st, Events: bot.Events(), Log: log, MaxInFlight: maxInFlight})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	config(srv.Config)
	srv.Start()
	defer srv.Close()

	body, err := bodyOf("pull_request/opened.payload.json")
	if err != nil {
		b.Fatal(err)
	}
	sig := phony.Sign([]byte(testSecret), body)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
				req.Header.Set("X-Hub-Signature-256", sig)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	if n, err := st.CountDeliveries(ctx, store.DeliveryPending); err != nil || n != b.N {
		b.Fatalf("%d deliveries stored (%v), want %d", n, err, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}

func bodyOf(rel string) ([]byte, error) {
	d, err := phony.Load(filepath.Join(fixtures, rel))
	if err != nil {
		return nil, err
	}
	return phony.Marshal(d)
}
