package gateway

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// ussdPost sends an Africa's Talking USSD callback and returns the answer.
func (r *rig) ussdPost(t *testing.T, query string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.Post(r.url+"/webhooks/ussd"+query, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ussdForm(phone, text string) url.Values {
	return url.Values{"sessionId": {"ATUid_0b9e8c5d"}, "serviceCode": {"*384*12#"}, "phoneNumber": {phone},
		"networkCode": {"40411"}, "text": {text}}
}

// TestUSSDOverHTTP drives the menu through the webhook against the real
// registry: one Marathi beneficiary on A, three English ones on B.
func TestUSSDOverHTTP(t *testing.T) {
	r := newRig(t)
	a, b := inboundFixtures(t, r)
	for _, tc := range []struct {
		name, phone, text string
		wantPrefix        string
		wantContains      []string
	}{
		{"main menu in the beneficiary's language", a, "", "CON ", []string{"1 "}},
		{"status of the only beneficiary", a, "1", "END ", []string{"आशा पाटील"}},
		{"appointment", a, "2", "END ", []string{"PHC Aundh", "09:00-11:00"}},
		{"certificate before any dose", a, "4", "END ", nil},
		{"several beneficiaries: choose", b, "1", "CON ", []string{"Priya", "Rahul", "Neha"}},
		{"status of the first", b, "1*1", "END ", []string{"Priya Sharma", "fully vaccinated", "2"}},
		{"certificate of the first", b, "4*1", "END ", nil},
		{"invalid choice re-shows the menu", b, "9", "CON ", []string{"Invalid choice."}},
		{"national format phone", "09876543220", "", "CON ", []string{"1 Status"}},
		{"unregistered", "+919876543299", "", "END ", []string{"not registered"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := r.ussdPost(t, "", ussdForm(tc.phone, tc.text))
			if status != 200 || !strings.HasPrefix(body, tc.wantPrefix) {
				t.Fatalf("answer %d %q, want 200 starting %q", status, body, tc.wantPrefix)
			}
			if n := utf8.RuneCountInString(body); n > 182 {
				t.Fatalf("answer is %d characters, over 182: %q", n, body)
			}
			for _, w := range tc.wantContains {
				if !strings.Contains(body, w) {
					t.Fatalf("answer %q does not contain %q", body, w)
				}
			}
		})
	}

	// Resend by USSD: the code goes by SMS, never on screen.
	before := len(r.outbound(t, a))
	status, body := r.ussdPost(t, "", ussdForm(a, "3"))
	if status != 200 || !strings.HasPrefix(body, "END ") || fourDigits.MatchString(body) {
		t.Fatalf("resend answer %d %q", status, body)
	}
	if got := r.outbound(t, a)[before:]; len(got) != 1 || got[0].Template != "security_code" || got[0].Language != "mr" {
		t.Fatalf("resend queued %+v, want one Marathi security_code SMS", got)
	}

	// A language chosen by USSD is remembered for SMS replies too.
	if status, _ := r.ussdPost(t, "", ussdForm(b, "5*2")); status != 200 {
		t.Fatalf("language choice = %d", status)
	}
	if prefs, _ := r.store.MobilePrefs(context.Background(), b); prefs.Language != "hi" {
		t.Fatalf("language after 5*2 = %q, want hi", prefs.Language)
	}
	status, body = r.ussdPost(t, "", ussdForm(b, ""))
	if status != 200 || !strings.HasPrefix(body, "CON ") || strings.Contains(body, "Status") {
		t.Fatalf("menu after choosing Hindi = %q", body)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no session", url.Values{"phoneNumber": {a}, "text": {""}}, 400},
		{"bad phone", ussdForm("12ab", ""), 400},
		{"no phone", url.Values{"sessionId": {"x"}, "text": {""}}, 400},
		{"text over 1 KB", ussdForm(a, strings.Repeat("1*", 600)), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := r.ussdPost(t, "", tc.form); status != tc.want || !strings.Contains(body, `"error"`) {
				t.Fatalf("answer %d %q, want %d with a JSON error", status, body, tc.want)
			}
		})
	}
}

func TestUSSDToken(t *testing.T) {
	r := newRigWith(t, func(o *ServerOptions) { o.USSDToken = "s3cret-ussd-token" })
	a, _ := inboundFixtures(t, r)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 403}, {"?token=wrong", 403}, {"?token=s3cret-ussd-token", 200},
	} {
		if status, _ := r.ussdPost(t, tc.query, ussdForm(a, "")); status != tc.want {
			t.Errorf("token %q = %d, want %d", tc.query, status, tc.want)
		}
	}
}

func TestUSSDRedisDown(t *testing.T) {
	r := newRig(t)
	r.rdb.Close()
	if status, _ := r.ussdPost(t, "", ussdForm("+919876543210", "1")); status != 503 {
		t.Fatalf("USSD with Redis down = %d, want 503", status)
	}
}
