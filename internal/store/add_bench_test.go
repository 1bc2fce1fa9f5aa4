package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAddDelivery measures group-committed inserts of 28 KB payloads
// (a pull_request delivery's size) from 32 goroutines, without HTTP.
func BenchmarkAddDelivery(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := make([]byte, 28<<10)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, err := s.AddDelivery(ctx, Delivery{ID: fmt.Sprint(i), Event: "pull_request", Payload: payload}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}
