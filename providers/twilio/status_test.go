package twilio_test

import (
	"testing"

	"sandesh/providers"
	"sandesh/providers/twilio"
)

func TestMapStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want providers.DeliveryStatus
	}{
		{"accepted", providers.DeliveryIgnore},
		{"scheduled", providers.DeliveryIgnore},
		{"queued", providers.DeliveryIgnore},
		{"sending", providers.DeliveryIgnore},
		{"sent", providers.DeliverySent},
		{"delivered", providers.DeliveryDelivered},
		{"read", providers.DeliveryDelivered},
		{"undelivered", providers.DeliveryUndelivered},
		{"failed", providers.DeliveryFailed},
		{"canceled", providers.DeliveryFailed},
		{"partially_delivered", providers.DeliveryIgnore},
		{"receiving", providers.DeliveryIgnore}, // inbound-only values
		{"received", providers.DeliveryIgnore},
		{"Delivered", providers.DeliveryIgnore}, // Twilio sends lower case only
		{"", providers.DeliveryIgnore},
		{"teleported", providers.DeliveryIgnore},
	} {
		if got := twilio.MapStatus(tc.in); got != tc.want {
			t.Errorf("MapStatus(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStatusCallbackURL(t *testing.T) {
	for _, tc := range []struct {
		public, provider, id, want string
	}{
		{"https://sms.example.org", "primary", "01J9Z0ABC", "https://sms.example.org/webhooks/twilio/primary/status?m=01J9Z0ABC"},
		{"https://sms.example.org", "backup-2", "a b&c=d/é", "https://sms.example.org/webhooks/twilio/backup-2/status?m=a+b%26c%3Dd%2F%C3%A9"},
		{"http://127.0.0.1:8080", "p", "", "http://127.0.0.1:8080/webhooks/twilio/p/status?m="},
	} {
		if got := twilio.StatusCallbackURL(tc.public, tc.provider, tc.id); got != tc.want {
			t.Errorf("StatusCallbackURL(%q, %q, %q) = %q, want %q", tc.public, tc.provider, tc.id, got, tc.want)
		}
	}
}
