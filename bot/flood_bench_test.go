package bot

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/pgtest"
	"github.com/provide-io/workspace-bot/internal/store"
)

// countingRuns counts the store queries the run loops make to find a
// claimable run.
type countingRuns struct {
	*store.Store
	claims atomic.Int64
}

func (c *countingRuns) ClaimRun(ctx context.Context, now time.Time) (*store.Run, error) {
	c.claims.Add(1)
	return c.Store.ClaimRun(ctx, now)
}

func (c *countingRuns) NextRunDue(ctx context.Context) (time.Time, bool, error) {
	c.claims.Add(1)
	return c.Store.NextRunDue(ctx)
}

// BenchmarkFlood floods a started queue with deliveries that build
// nothing, as the service stores them (AddDelivery, then Notify), and
// reports the queries its run loops made per delivery: waking them per
// delivery once cost a quarter of the service's CPU in such a flood.
//
//	go test ./bot -run '^$' -bench Flood -benchtime 20000x
func BenchmarkFlood(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), store.FileName))
		if err != nil {
			b.Fatal(err)
		}
		benchFlood(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st, err := store.Open(context.Background(), pgtest.DSN(b))
		if err != nil {
			b.Fatal(err)
		}
		benchFlood(b, st)
	})
}

func benchFlood(b *testing.B, st *store.Store) {
	const clients = 32
	defer st.Close()
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(io.Discard)
	bt, err := New(Options{GitHub: newFakeGitHub(), Builder: &fakeBuilder{Value: &ci.Result{Result: ci.Success}}, Records: st, Log: log,
		Config: func(context.Context) (*ConfigFile, error) { return nil, fmt.Errorf("no config in this benchmark") }})
	if err != nil {
		b.Fatal(err)
	}
	runs := &countingRuns{Store: st}
	var handled atomic.Int64
	q, err := NewQueue(bt, QueueOptions{Deliveries: st, Runs: runs, Workers: DefaultWorkers,
		Decode:     func(string, []byte) (Event, error) { return nil, nil }, // an event the bot does not handle
		OnDelivery: func(string, string) { handled.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer q.Stop(time.Second)
	// Let the loops settle into their idle wait before counting.
	time.Sleep(10 * time.Millisecond)
	base := runs.claims.Load()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, err := st.AddDelivery(ctx, store.Delivery{ID: fmt.Sprintf("flood-%d", i), Event: "ping", Payload: []byte("{}")}); err != nil {
					b.Error(err)
					return
				}
				q.Notify()
			}
		}()
	}
	wg.Wait()
	for handled.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(runs.claims.Load()-base)/float64(b.N), "run-queries/delivery")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
