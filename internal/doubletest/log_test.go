package doubletest

import (
	"net/url"
	"testing"
	"time"
)

func TestLog(t *testing.T) {
	type failure struct{ status int }
	l := NewLog[string, failure]("test")
	if f := l.Failure(l.Call(), nil); f != nil {
		t.Fatalf("unscripted call failed: %+v", f)
	}
	l.Respond(func(n int, form url.Values) *failure {
		if n == 2 || form.Get("fail") == "1" {
			return &failure{status: 500}
		}
		return nil
	})
	for _, tc := range []struct {
		form url.Values
		want int
	}{
		{nil, 500}, // call 2
		{nil, 0},   // call 3
		{url.Values{"fail": {"1"}}, 500},
	} {
		f := l.Failure(l.Call(), tc.form)
		if (f == nil) != (tc.want == 0) || (f != nil && f.status != tc.want) {
			t.Fatalf("call %d: %+v, want %d", l.Calls(), f, tc.want)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Accept("a")
		l.Accept("b")
	}()
	l.WaitCount(t, 2, 5*time.Second)
	<-done
	if got := l.Messages(); l.Count() != 2 || l.Calls() != 4 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("messages %v, count %d, calls %d", got, l.Count(), l.Calls())
	}
}
