package smsdouble_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"sandesh/providers/twilio"
	"sandesh/providers/twilio/smsdouble"
)

// received is one status callback as the gateway would see it.
type received struct {
	form  url.Values
	valid bool // X-Twilio-Signature checks out
}

// receiver stands in for the gateway's status webhook: it answers status
// and passes each callback on, after release lets it (nil: at once).
func receiver(t *testing.T, authToken string, status int, release <-chan struct{}) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 100)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		valid := twilio.ValidSignature(authToken, "http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature"))
		got <- received{r.PostForm, valid}
		if release != nil {
			<-release
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	return ts, got
}

// next waits for the next callback.
func next(t *testing.T, got <-chan received) received {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no callback within 5s")
		return received{}
	}
}

// waitCallbacks waits until the double counted want.
func waitCallbacks(t *testing.T, d *smsdouble.Server, want smsdouble.CallbackCounts) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for d.Record().Callbacks != want {
		if time.Now().After(deadline) {
			t.Fatalf("callbacks %+v, want %+v", d.Record().Callbacks, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallbacks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		callbacks   string
		undelivered float64
		answer      int // the receiver's status
		want        []string
		wantCounts  smsdouble.CallbackCounts
	}{
		{"default", "sent,delivered", 0, 200, []string{"sent", "delivered"}, smsdouble.CallbackCounts{Posted: 2}},
		{"undelivered", "sent,delivered", 1, 200, []string{"sent", "undelivered"}, smsdouble.CallbackCounts{Posted: 2}},
		{"all three, listed out of order", "delivered,queued,sent", 0, 204, []string{"queued", "sent", "delivered"}, smsdouble.CallbackCounts{Posted: 3}},
		{"only the last", "delivered", 0, 200, []string{"delivered"}, smsdouble.CallbackCounts{Posted: 1}},
		{"receiver fails", "sent,delivered", 0, 500, []string{"sent", "delivered"}, smsdouble.CallbackCounts{Failed: 2}},
		{"none", "none", 0, 200, nil, smsdouble.CallbackCounts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cbs, err := smsdouble.ParseCallbacks(tc.callbacks)
			if err != nil {
				t.Fatal(err)
			}
			d, ts := start(t, smsdouble.Config{Callbacks: cbs, Faults: smsdouble.Faults{Undelivered: tc.undelivered}})
			app, got := receiver(t, d.AuthToken(), tc.answer, nil)
			p := provider(t, d, ts, app.URL, 5*time.Second)
			r, err := p.Send(context.Background(), outbound("id 1"))
			if err != nil {
				t.Fatal(err)
			}
			for _, status := range tc.want {
				cb := next(t, got)
				want := url.Values{"MessageSid": {r.ProviderMessageID}, "SmsSid": {r.ProviderMessageID},
					"MessageStatus": {status}, "SmsStatus": {status}, "AccountSid": {d.AccountSID()},
					"From": {"+15005550006"}, "To": {"+919812345678"}, "ApiVersion": {"2010-04-01"}}
				if status == "undelivered" {
					want.Set("ErrorCode", "30003")
				}
				if !cb.valid || cb.form.Encode() != want.Encode() {
					t.Errorf("callback (signature valid %v)\n got %s\nwant %s", cb.valid, cb.form.Encode(), want.Encode())
				}
			}
			waitCallbacks(t, d, tc.wantCounts)
			select {
			case cb := <-got:
				t.Errorf("unexpected callback %s", cb.form.Encode())
			default:
			}
		})
	}
}

// A full queue drops callbacks and counts them.
func TestCallbacksDropped(t *testing.T) {
	d, ts := start(t, smsdouble.Config{Callbacks: smsdouble.DefaultCallbacks, CallbackWorkers: 1, CallbackQueue: 1})
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // also when the test fails early: the receiver's Close waits for its handlers
	app, got := receiver(t, d.AuthToken(), 200, release)
	p := provider(t, d, ts, app.URL, 5*time.Second)

	p.Send(context.Background(), outbound("m1"))
	next(t, got)                                 // the only sender is stuck in m1's first callback
	p.Send(context.Background(), outbound("m2")) // waits in the queue
	p.Send(context.Background(), outbound("m3")) // finds it full
	// The 201 goes out before a message's callbacks are queued: wait for
	// the queuing, not just the answers.
	waitCallbacks(t, d, smsdouble.CallbackCounts{Dropped: 2})
	free()
	for range 3 {
		next(t, got)
	}
	waitCallbacks(t, d, smsdouble.CallbackCounts{Posted: 4, Dropped: 2})
}

func TestParseCallbacks(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    smsdouble.Callbacks
		wantErr bool
	}{
		{"sent,delivered", smsdouble.PostSent | smsdouble.PostDelivered, false},
		{"queued, sent ,delivered", smsdouble.PostQueued | smsdouble.PostSent | smsdouble.PostDelivered, false},
		{"none", 0, false},
		{"delivered,delivered", smsdouble.PostDelivered, false},
		{"", 0, true},
		{"sent,", 0, true},
		{"undelivered", 0, true},
		{"none,sent", 0, true},
	} {
		got, err := smsdouble.ParseCallbacks(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseCallbacks(%q) = %v, %v", tc.in, got, err)
		}
		if err == nil {
			if back, _ := smsdouble.ParseCallbacks(got.String()); back != got {
				t.Errorf("%q → %q does not read back", tc.in, got.String())
			}
		}
	}
	if s := smsdouble.DefaultCallbacks.String(); s != "sent,delivered" {
		t.Errorf("DefaultCallbacks %q", s)
	}
}
