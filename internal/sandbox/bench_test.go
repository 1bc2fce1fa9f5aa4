package sandbox

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// BenchmarkStart times starting /bin/true and waiting for it, in a
// sandbox and as a plain process group, one at a time and 14 at once (a
// stage of 14 siblings' setups), in the same run.
func BenchmarkStart(b *testing.B) {
	if err := Available(); err != nil {
		b.Skip("no sandbox on this machine:", err)
	}
	out, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	dir := b.TempDir()
	for _, par := range []int{1, 14} {
		b.Run(fmt.Sprintf("x%d", par), func(b *testing.B) {
			sums := map[bool]time.Duration{}
			for i := 0; i < b.N; i++ {
				for _, isolate := range []bool{i%2 == 0, i%2 != 0} {
					start := time.Now()
					var wg sync.WaitGroup
					for j := 0; j < par; j++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							p, err := Start(Spec{Isolate: isolate, Path: "/bin/true", Args: []string{"true"}, Dir: dir,
								Stdout: out, Stderr: out, Writable: []string{dir}})
							if err == nil {
								err = p.Wait()
							}
							if err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
					sums[isolate] += time.Since(start)
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(sums[true].Microseconds())/1000/n, "ms/sandboxed")
			b.ReportMetric(float64(sums[false].Microseconds())/1000/n, "ms/plain")
			b.ReportMetric(0, "ns/op")
		})
	}
}
