package smpp

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/smpp/smsctest"
)

// BenchmarkSend is the SMPP path's throughput against the npm test SMSC:
// 2 transceiver binds with a window of 10 each, one-part GSM-7 messages,
// 20 senders, with and without delivery receipts flowing back on the same
// binds. It reports messages per second.
func BenchmarkSend(b *testing.B) {
	for _, receipts := range []bool{false, true} {
		b.Run(fmt.Sprintf("receipts=%v", receipts), func(b *testing.B) {
			s := smsctest.Start(b, smsctest.Options{})
			if !receipts {
				s.Control(b, smsctest.Control{Receipt: smsctest.ReceiptNone})
			}
			var got atomic.Int64
			p, err := New(Config{Name: "operator", Addr: s.Addr, SystemID: s.SystemID, Password: s.Password,
				SourceAddr: "CoWIN", Binds: 2, Window: 10,
				OnReceipt: func(DeliveryReceipt) error { got.Add(1); return nil }})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close() })
			p.Start()
			for deadline := time.Now().Add(10 * time.Second); p.Bound() < 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("binds not up")
				}
			}
			m := providers.Outbound{To: "+919876543210", Body: "Your security code is 4821.", Encoding: "GSM-7", Segments: 1}
			b.SetParallelism(10) // 20 senders on 2 cores: enough to fill both windows
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Send(context.Background(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
