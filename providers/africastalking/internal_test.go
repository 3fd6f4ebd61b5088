package africastalking

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"syscall"
	"testing"
	"time"

	"sandesh/providers"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", time.Second},
		{"3", 3 * time.Second},
		{" 3 ", 3 * time.Second},
		{"0", time.Second},
		{"-5", time.Second},
		{"120", 2 * time.Minute},
		{"Sun, 01 Mar 2026 10:00:30 GMT", 30 * time.Second},
		{"Sun, 01 Mar 2026 09:00:00 GMT", time.Second}, // in the past
		{"tomorrow", time.Second},
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// temporaryCauses must list exactly the temporary codes, in order, so an
// empty-recipients answer is classified the same way every time.
func TestTemporaryCauses(t *testing.T) {
	var want []int
	for code, cls := range recipientCodes {
		if cls.temporary {
			want = append(want, code)
		}
	}
	sort.Ints(want)
	if len(want) != len(temporaryCauses) {
		t.Fatalf("temporaryCauses %v, want %v", temporaryCauses, want)
	}
	for i := range want {
		if want[i] != temporaryCauses[i] {
			t.Fatalf("temporaryCauses %v, want %v", temporaryCauses, want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"InvalidPhoneNumber", 64, "InvalidPhoneNumber"},
		{"a\r\nb\x00c", 64, "a  b c"},
		{"abcdef", 3, "abc…"},
		{"\xff\xfeok", 64, "\uFFFDok"},
	} {
		if got := clean(tc.in, tc.max); got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// traceRoundTripper plays a transport's trace events, then fails.
type traceRoundTripper struct {
	events func(*httptrace.ClientTrace)
	err    error
}

func (rt traceRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	rt.events(httptrace.ContextClientTrace(req.Context()))
	return nil, rt.err
}

// TestWriteTracking: only a request written whole can have reached AT.
func TestWriteTracking(t *testing.T) {
	reset := &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name          string
		events        func(*httptrace.ClientTrace)
		err           error
		wantCode      string
		wantAmbiguous bool
	}{
		{"dial failed", func(tr *httptrace.ClientTrace) { tr.GetConn("at:443") },
			&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "network", false},
		{"write failed half-way", func(tr *httptrace.ClientTrace) {
			tr.GetConn("at:443")
			tr.WroteRequest(httptrace.WroteRequestInfo{Err: reset})
		}, reset, "network", false},
		{"timeout while writing", func(tr *httptrace.ClientTrace) {
			tr.GetConn("at:443")
			tr.WroteRequest(httptrace.WroteRequestInfo{Err: context.DeadlineExceeded})
		}, context.DeadlineExceeded, "timeout", false},
		{"written, then reset", func(tr *httptrace.ClientTrace) {
			tr.GetConn("at:443")
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}, reset, "network", true},
		{"written, then timeout", func(tr *httptrace.ClientTrace) {
			tr.GetConn("at:443")
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}, context.DeadlineExceeded, "timeout", true},
		{"written on a dead pooled connection, retry could not dial", func(tr *httptrace.ClientTrace) {
			tr.GetConn("at:443")
			tr.WroteRequest(httptrace.WroteRequestInfo{})
			tr.GetConn("at:443") // the transport's own retry: nothing reached the wire
		}, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "network", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{Name: "primary", Username: "app", APIKey: "atsk_k"})
			if err != nil {
				t.Fatal(err)
			}
			p.client.Transport = traceRoundTripper{tc.events, tc.err}
			_, err = p.Send(context.Background(), providers.Outbound{To: "+254711000000", Body: "hi"})
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != tc.wantCode || !pe.Temporary || pe.Ambiguous != tc.wantAmbiguous {
				t.Errorf("Send error %#v (%v), want temporary %q ambiguous %v", pe, err, tc.wantCode, tc.wantAmbiguous)
			}
		})
	}
}
