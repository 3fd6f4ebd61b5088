package memo

import (
	"fmt"
	"sync"
	"testing"
)

func TestMapKeepsAtMostMax(t *testing.T) {
	m := New[int](3)
	for i := range 10 {
		m.Put(fmt.Sprint(i), i)
		if v, ok := m.Get(fmt.Sprint(i)); !ok || v != i {
			t.Fatalf("just put %d, got %d %v", i, v, ok)
		}
		if len(m.m) > 3 {
			t.Fatalf("%d entries, max 3", len(m.m))
		}
	}
	m.Put("9", 9) // again: no eviction for a key already kept
	if len(m.m) != 3 {
		t.Fatalf("%d entries after re-putting a kept key", len(m.m))
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 1000 {
				k := fmt.Sprint(i*1000 + j)
				m.Put(k, j)
				m.Get(k)
			}
		})
	}
	wg.Wait()
	if len(m.m) > 3 {
		t.Fatalf("%d entries after concurrent use, max 3", len(m.m))
	}
}
