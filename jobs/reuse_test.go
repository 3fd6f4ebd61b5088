package jobs

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"
)

// goroutineID reads the running goroutine's id from its stack header, so
// a test can tell whether two calls ran on the same goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	return string(id)
}

func TestReuseKeepsGoroutinesBetweenCalls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		par   int // calls running at once
		calls int
		most  int // distinct goroutines allowed
	}{
		{"one at a time", 1, 30, 1},
		{"four at a time", 4, 40, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			r := newReuse(200 * time.Millisecond)
			var mu sync.Mutex
			seen := map[string]int{}
			for range tc.calls / tc.par {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range tc.par {
					wg.Add(1)
					r.Go(func() {
						defer wg.Done()
						<-start // all par calls run at once
						mu.Lock()
						seen[goroutineID()]++
						mu.Unlock()
					})
				}
				close(start)
				wg.Wait()
				time.Sleep(5 * time.Millisecond) // the goroutines go idle
			}
			total := 0
			for _, n := range seen {
				total += n
			}
			if total != tc.calls {
				t.Fatalf("ran %d calls, want %d", total, tc.calls)
			}
			if len(seen) > tc.most {
				t.Errorf("%d calls ran on %d goroutines, want at most %d", tc.calls, len(seen), tc.most)
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					t.Fatalf("%d idle goroutines still kept long after keep", runtime.NumGoroutine()-before)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
