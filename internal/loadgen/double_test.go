package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCollector reads a double's NDJSON over HTTP in several polls: each
// message is kept once, in order, and nothing before the run is read.
func TestCollector(t *testing.T) {
	t0 := time.Now()
	var mu sync.Mutex
	var msgs []SMS
	add := func(sid string, offset time.Duration) {
		mu.Lock()
		msgs = append(msgs, SMS{SID: sid, To: "+919000000001", MessageID: "m" + sid, AtUnixNano: t0.Add(offset).UnixNano()})
		mu.Unlock()
	}
	var sinces []int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since, err := strconv.ParseInt(r.URL.Query().Get("since_unix_nano"), 10, 64)
		if r.URL.Path != "/messages" || err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sinces = append(sinces, since)
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, m := range msgs {
			if m.AtUnixNano >= since {
				enc.Encode(m)
			}
		}
	}))
	defer srv.Close()
	d := &double{c: client{base: srv.URL, hc: srv.Client()}}
	c := newCollector(d, t0)

	add("old", -time.Minute) // before the run
	add("1", time.Millisecond)
	add("2", 2*time.Millisecond)
	for _, step := range []struct {
		add     []string
		wantNew int
		wantAll string
	}{
		{nil, 2, "1 2"},
		{nil, 0, "1 2"},
		{[]string{"3", "4"}, 2, "1 2 3 4"},
		{[]string{"5"}, 1, "1 2 3 4 5"},
	} {
		for i, sid := range step.add {
			add(sid, time.Duration(10+i)*time.Millisecond)
		}
		n, err := c.poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var sids []string
		for _, m := range c.msgs {
			sids = append(sids, m.SID)
		}
		if n != step.wantNew || strings.Join(sids, " ") != step.wantAll {
			t.Fatalf("poll: %d new, all %v; want %d new, %s", n, sids, step.wantNew, step.wantAll)
		}
	}
	// Later polls reach back one second behind the newest message only.
	add("late", 5*time.Second)
	c.poll(context.Background())
	c.poll(context.Background())
	if want := t0.Add(4 * time.Second).UnixNano(); sinces[0] != t0.UnixNano() || sinces[len(sinces)-1] != want || len(c.msgs) != 6 {
		t.Errorf("since went %v, %d messages: want from %d to %d, 6 messages", sinces, len(c.msgs), t0.UnixNano(), want)
	}
}

func TestDoubleErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
		{"a bad line", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, `{"sid":"SM1","to":"+919000000001","at_unix_nano":1}`)
			fmt.Fprintln(w)
			fmt.Fprintln(w, `{"sid":`)
		}, "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			d := &double{c: client{base: srv.URL, hc: srv.Client()}}
			_, err := d.messages(context.Background(), time.Unix(0, 0))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
