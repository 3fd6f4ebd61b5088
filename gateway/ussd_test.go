package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"sandesh/gateway/ussd"
	"sandesh/store"
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

// TestUSSDScreenIsOneStep counts the Redis round trips of each of
// ussdRequests through the webhook, and checks that the step recorded
// whether the answer ended the session.
func TestUSSDScreenIsOneStep(t *testing.T) {
	r := newRig(t)
	a, b := inboundFixtures(t, r)
	var trips atomic.Int64
	r.rdb.AddHook(tripCount(&trips))
	phones := map[string]string{"a": a, "b": b, "none": "+919876543299"}
	for _, tc := range ussdRequests {
		t.Run(tc.name, func(t *testing.T) {
			phone := phones[tc.mobile]
			form := ussdForm(phone, tc.text)
			form.Set("sessionId", "ATUid_"+tc.name)
			// The first request loads the script and fills the pool.
			if status, body := r.ussdPost(t, "", form); status != 200 {
				t.Fatalf("answer %d %q", status, body)
			}
			before := trips.Load()
			status, body := r.ussdPost(t, "", form)
			if got := trips.Load() - before; status != 200 || got != tc.trips {
				t.Fatalf("answer %d %q in %d round trips, want %d", status, body, got, tc.trips)
			}
			// The step recorded whether the answer ended the session.
			sessions, err := r.store.USSDSessions(context.Background(), phone, 1)
			if err != nil || len(sessions) != 1 || sessions[0].Ended != strings.HasPrefix(body, "END ") || sessions[0].Text != tc.text {
				t.Fatalf("session recorded as %+v (%v) for the answer %q", sessions, err, body)
			}
		})
	}
}

// TestActiveInAgreesWithActiveAppointment: the appointment a USSD screen
// shows from its step's view is the one activeAppointment finds by its own
// reads, on each day of a booking's life.
func TestActiveInAgreesWithActiveAppointment(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		t.Fatal(err)
	}
	const mobile = "+919876543230"
	states := []string{"booked today", "booked tomorrow", "cancelled", "completed, still named", "at a centre that is gone", "never booked"}
	for i, state := range states {
		mob := mobile
		if i >= 4 { // four beneficiaries to a mobile
			mob = "+919876543231"
		}
		v, err := r.gw.Register(ctx, Registration{Name: strings.ReplaceAll(state, ",", ""), Mobile: mob, BirthYear: 1980, Gender: "F", Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		booking := store.Appointment{BeneficiaryID: v.ID, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}
		switch state {
		case "booked tomorrow":
			booking.Date = r.tomorrow()
		case "at a centre that is gone":
			booking.CenterID = "C404"
		case "never booked":
			continue
		}
		a, err := r.store.BookAppointment(ctx, booking, "4821", r.today())
		if err != nil {
			t.Fatal(err)
		}
		switch state {
		case "cancelled":
			_, err = r.store.CancelAppointment(ctx, a.ID)
		case "completed, still named":
			err = r.rdb.HSet(ctx, r.store.KeyOf("appt", a.ID), "status", string(store.AppointmentCompleted)).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, day := range []string{"booking day", "the day after", "two days after"} {
		for _, mob := range []string{mobile, "+919876543231"} {
			view, err := r.store.StepUSSD(ctx, store.USSDStep{SessionID: "ATUid_" + day, Mobile: mob})
			if err != nil {
				t.Fatal(err)
			}
			bens, err := r.store.BeneficiariesByMobile(ctx, mob)
			if err != nil || len(bens) != len(view.People) {
				t.Fatalf("%d beneficiaries (%v), the view has %d", len(bens), err, len(view.People))
			}
			for i, p := range view.People {
				gotA, gotC, gotErr := r.gw.activeIn(p)
				wantA, wantC, wantErr := r.gw.activeAppointment(ctx, bens[i])
				same := (gotA == nil) == (wantA == nil) && gotC == wantC &&
					(gotErr == nil) == (wantErr == nil) && errors.Is(gotErr, ErrNotFound) == errors.Is(wantErr, ErrNotFound)
				if same && gotA != nil {
					same = gotA.ID == wantA.ID && gotA.Date == wantA.Date && gotA.Slot == wantA.Slot
				}
				if !same {
					t.Errorf("%s, %s: the view gives %+v at %+v (%v); the reads %+v at %+v (%v)",
						day, p.Name, gotA, gotC, gotErr, wantA, wantC, wantErr)
				}
			}
		}
		r.advance(24 * time.Hour)
	}
}

// ussdRequests are requests of the menu from the mobiles of
// inboundFixtures (a: one beneficiary, booked today; b: three — vaccinated,
// booked, neither; none: not registered) and the Redis round trips each
// costs: a screen that only shows is the one step that records the request
// and reads the mobile; choosing a language and resending a code add
// their own writes.
var ussdRequests = []struct {
	name, mobile, text string
	trips              int64
}{
	{"main menu", "b", "", 1},
	{"choose a person", "b", "1", 1},
	{"status", "b", "1*1", 1},
	{"appointment", "b", "2*2", 1},
	{"no appointment", "b", "2*3", 1},
	{"certificate", "b", "4*1", 1},
	{"no certificate", "b", "4*3", 1},
	{"choose a language", "b", "5", 1},
	{"invalid choice", "b", "9", 1},
	{"one person: appointment", "a", "2", 1},
	{"one person: status", "a", "1", 1},
	{"not registered", "none", "", 1},
	{"language chosen: the step, the choice", "b", "5*1", 2},
	// The step, the resend limit with the code, the SMS's record; its enqueue
	// goes on the queue's own connection.
	{"code resent", "a", "3", 3},
}

// BenchmarkUSSD answers each read-only screen of ussdRequests against
// Redis, one request after another, and reports the Redis round trips one
// request costs beside its time. Its mobiles are laid out as those of
// inboundFixtures, which a benchmark cannot call.
func BenchmarkUSSD(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		b.Fatal(err)
	}
	mobiles := map[string]string{"a": "+919876543210", "b": "+919876543220", "none": "+919876543299"}
	for _, p := range []struct{ name, mobile, lang, has string }{
		{"आशा पाटील", "a", "mr", "booking"},
		{"Priya Sharma", "b", "en", "doses"},
		{"Rahul Sharma", "b", "en", "booking"},
		{"Neha Sharma", "b", "en", ""},
	} {
		v, err := r.gw.Register(ctx, Registration{Name: p.name, Mobile: mobiles[p.mobile], BirthYear: 1980, Gender: "F", Language: p.lang})
		if err == nil && p.has == "doses" {
			r.givenDoses(b, v.ID, "COVISHIELD", "COVISHIELD")
		}
		if err == nil && p.has == "booking" {
			_, err = r.gw.Book(ctx, Booking{BeneficiaryID: v.ID, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	var trips atomic.Int64
	r.rdb.AddHook(tripCount(&trips))
	menu := r.gw.USSDMenu()
	for _, sc := range ussdRequests {
		if sc.trips > 1 {
			continue // writes: a language saved, a code resent (rate-limited)
		}
		b.Run(strings.NewReplacer(" ", "_", ":", "").Replace(sc.name), func(b *testing.B) {
			req := ussd.Request{SessionID: "ATUid_bench", ServiceCode: "*384*12#", Mobile: mobiles[sc.mobile], NetworkCode: "40411", Text: sc.text}
			want, err := r.gw.AnswerUSSD(ctx, menu, req)
			if err != nil {
				b.Fatal(err)
			}
			before := trips.Load()
			for b.Loop() {
				// Every answer is checked: another test run flushing the
				// database mid-run would otherwise pass for a fast screen.
				if got, err := r.gw.AnswerUSSD(ctx, menu, req); err != nil || got != want {
					b.Fatalf("answer %q, %v; want %q", got, err, want)
				}
			}
			b.ReportMetric(float64(trips.Load()-before)/float64(b.N), "redis_calls/op")
		})
	}
}
