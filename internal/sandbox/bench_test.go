package sandbox

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// BenchmarkStart times starting /bin/true and waiting for it three
// ways, one at a time and 14 at once (a stage of 14 siblings' setups),
// in the same run: as a plain process group; in a sandbox of its own
// (Start: the init is this binary re-executed, its mounts made, for
// every command); and in a Box opened once, with a throwaway uid, the
// build root handed over and a network of its own, as a run's steps are.
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
	boxSpec := Spec{Isolate: true, Writable: []string{dir}, Net: NetIsolated}
	if os.Geteuid() == 0 {
		boxSpec.User = &User{Name: "throwaway", UID: 2147483002, GID: 2147483002}
		if m, err := NewIDMap(boxSpec.User); err == nil {
			defer m.Close()
			boxSpec.IDMap = m
		}
	}
	box, err := Open(boxSpec)
	if err != nil {
		b.Fatal(err)
	}
	defer box.Close()
	modes := []string{"plain", "sandboxed", "in-box"}
	for _, par := range []int{1, 14} {
		b.Run(fmt.Sprintf("x%d", par), func(b *testing.B) {
			sums := map[string]time.Duration{}
			for i := 0; i < b.N; i++ {
				for k := range modes {
					mode := modes[(i+k)%len(modes)]
					start := time.Now()
					var wg sync.WaitGroup
					for j := 0; j < par; j++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							s := Spec{Isolate: mode == "sandboxed", Path: "/bin/true", Args: []string{"true"}, Dir: dir,
								Stdout: out, Stderr: out, Writable: []string{dir}}
							var p *Process
							var err error
							if mode == "in-box" {
								p, err = box.Start(s)
							} else {
								p, err = Start(s)
							}
							if err == nil {
								err = p.Wait()
							}
							if err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
					sums[mode] += time.Since(start)
				}
			}
			n := float64(b.N)
			for _, m := range modes {
				b.ReportMetric(float64(sums[m].Microseconds())/1000/n, "ms/"+m)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
