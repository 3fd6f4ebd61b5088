package twilio_test

import (
	"context"
	"net/http"
	"testing"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"sandesh/providers/twilio/twiliotest"
)

var sink *openapi.ApiService

// BenchmarkClientPerCall compares what Send builds per call with building a
// full twilio.RestClient per call.
func BenchmarkClientPerCall(b *testing.B) {
	creds := client.NewCredentials("AC1", "t1")
	b.Run("NewRestClientWithParams", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := &client.Client{Credentials: creds, HTTPClient: &http.Client{Transport: http.DefaultTransport}}
			c.SetAccountSid("AC1")
			sink = twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: c}).Api
		}
	})
	b.Run("ApiService only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := &client.Client{Credentials: creds, HTTPClient: &http.Client{Transport: http.DefaultTransport}}
			c.SetAccountSid("AC1")
			sink = openapi.NewApiService(&client.RequestHandler{Client: c})
		}
	})
}

// BenchmarkSend sends through the double over loopback HTTP with many
// goroutines, the shape of a worker's hot path.
func BenchmarkSend(b *testing.B) {
	srv := twiliotest.NewServer(b)
	p := newProvider(b, srv, nil)
	b.SetParallelism(16) // ×GOMAXPROCS senders
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Send(context.Background(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
