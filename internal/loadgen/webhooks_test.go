package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"sandesh/providers/twilio"
)

// TestInboundSignature sends inbound SMS the way a run does, over HTTP, to
// a server that checks them as the gateway does: twilio.ValidSignature
// over public_url + the path as received, with the form's fields.
func TestInboundSignature(t *testing.T) {
	type seen struct {
		url    string
		params map[string]string
		sig    string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		params := map[string]string{}
		for k, v := range r.PostForm {
			if len(v) != 1 {
				t.Errorf("form key %s repeated", k)
			}
			params[k] = v[0]
		}
		got <- seen{url: r.URL.RequestURI(), params: params, sig: r.Header.Get("X-Twilio-Signature")}
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
	}))
	defer srv.Close()

	const token = "0123456789abcdef0123456789abcdef"
	sidPattern := regexp.MustCompile(`^SM[0-9a-f]{32}$`)
	for _, tc := range []struct {
		name      string
		publicURL string // what the generator signs with ("" = the server's URL)
		checkURL  string // what the checker uses as public_url ("" = the server's URL)
		token     string // the checker's token
		wantValid bool
	}{
		{name: "public url is the gateway's url", token: token, wantValid: true},
		{name: "behind a proxy: signed and checked with public_url", publicURL: "https://sms.example.org",
			checkURL: "https://sms.example.org", token: token, wantValid: true},
		{name: "signed with the wrong public url", publicURL: "https://other.example.org", token: token},
		{name: "checked with another token", token: "fedcba9876543210fedcba9876543210"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{URL: srv.URL, PublicURL: tc.publicURL, AuthToken: token, Provider: "primary",
				Duration: 1, Mix: Mix{{KindInbound, 1}}, Beneficiaries: 1, AdminKey: "k"}
			cfg, err := cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			r := newRunner(cfg)
			m := &member{Person: Person{ID: "12345678901234", Name: Name(1), Mobile: Mobile(5, 1)}}
			r.inbound(context.Background(), m)
			s := <-got
			check := tc.checkURL
			if check == "" {
				check = srv.URL
			}
			if s.url != "/webhooks/twilio/primary/sms" {
				t.Errorf("posted to %s", s.url)
			}
			if valid := twilio.ValidSignature(tc.token, check+s.url, s.params, s.sig); valid != tc.wantValid {
				t.Errorf("ValidSignature = %v, want %v (params %v)", valid, tc.wantValid, s.params)
			}
			p := s.params
			if !sidPattern.MatchString(p["MessageSid"]) || p["From"] != m.Mobile || p["To"] != TwilioNumber ||
				p["Body"] != "STATUS" || p["NumSegments"] != "1" || p["AccountSid"] != cfg.AccountSID {
				t.Errorf("form %v", p)
			}
			ks := r.stats[KindInbound]
			if ks.requests != 1 || ks.statuses["200"] != 1 || ks.badBodies != 0 {
				t.Errorf("recorded %d requests, statuses %v, %d bad bodies", ks.requests, ks.statuses, ks.badBodies)
			}
			if len(r.exps) != 1 || r.exps[0].mobile != m.Mobile || r.exps[0].kind != KindInbound {
				t.Errorf("expectations %+v", r.exps)
			}
		})
	}
}

// TestInboundReplyLimit: the sixth STATUS from one mobile within ten
// minutes is sent but owes no reply, as the gateway answers five.
func TestInboundReplyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<Response/>`))
	}))
	defer srv.Close()
	cfg, err := Config{URL: srv.URL, AuthToken: "t", Duration: 1, Mix: Mix{{KindInbound, 1}}, Beneficiaries: 1, AdminKey: "k"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(cfg)
	m := &member{Person: Person{Mobile: Mobile(5, 2)}}
	for range 7 {
		r.inbound(context.Background(), m)
	}
	if r.stats[KindInbound].requests != 7 || len(r.exps) != repliesPerWindow {
		t.Fatalf("%d requests, %d replies expected; want 7 and %d", r.stats[KindInbound].requests, len(r.exps), repliesPerWindow)
	}
}
