package africastalking_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sandesh/providers"
	"sandesh/providers/africastalking"
	"sandesh/providers/africastalking/attest"
)

func TestParseReport(t *testing.T) {
	const id = "ATXid_3f2a9c1e0b7d4a5f8e6c2b1a0d9f8e7c"
	for _, tc := range []struct {
		status, reason string
		want           providers.DeliveryStatus
		wantCode       string
		wantOptedOut   bool
	}{
		{"Sent", "", providers.DeliverySent, "", false},
		{"Submitted", "", providers.DeliverySent, "", false},
		{"Buffered", "", providers.DeliverySent, "", false},
		{"Success", "", providers.DeliveryDelivered, "", false},
		{"Rejected", "", providers.DeliveryFailed, "at_rejected", false},
		{"Failed", "", providers.DeliveryUndelivered, "at_failed", false},
		{"AbsentSubscriber", "", providers.DeliveryUndelivered, "at_absentsubscriber", false},
		{"Expired", "", providers.DeliveryUndelivered, "at_expired", false},
		// Every failureReason AT documents.
		{"Failed", "InsufficientCredit", providers.DeliveryUndelivered, "at_insufficientcredit", false},
		{"Failed", "InvalidLinkId", providers.DeliveryUndelivered, "at_invalidlinkid", false},
		{"Failed", "UserIsInactive", providers.DeliveryUndelivered, "at_userisinactive", false},
		{"Failed", "UserInBlacklist", providers.DeliveryUndelivered, "at_userinblacklist", true},
		{"Rejected", "UserInBlacklist", providers.DeliveryFailed, "at_userinblacklist", true},
		{"Failed", "UserAccountSuspended", providers.DeliveryUndelivered, "at_useraccountsuspended", false},
		{"Failed", "NotNetworkSubscriber", providers.DeliveryUndelivered, "at_notnetworksubscriber", false},
		{"Failed", "UserNotSubscribedToProduct", providers.DeliveryUndelivered, "at_usernotsubscribedtoproduct", false},
		{"Failed", "UserDoesNotExist", providers.DeliveryUndelivered, "at_userdoesnotexist", false},
		{"Failed", "DeliveryFailure", providers.DeliveryUndelivered, "at_deliveryfailure", false},
		{"Rejected", "DoNotDisturbRejection", providers.DeliveryFailed, "at_donotdisturbrejection", false},
		{"AbsentSubscriber", "DeliveryFailure", providers.DeliveryUndelivered, "at_deliveryfailure", false},
		// A reason that is not a word is not stored.
		{"Failed", "Bad reason <script>", providers.DeliveryUndelivered, "at_unknown", false},
		{"Failed", strings.Repeat("x", 65), providers.DeliveryUndelivered, "at_unknown", false},
		// Reasons only count for failures.
		{"Success", "UserInBlacklist", providers.DeliveryDelivered, "", false},
		{"Sent", "DeliveryFailure", providers.DeliverySent, "", false},
		// Case as AT may change it; unknown statuses say nothing.
		{"success", "", providers.DeliveryDelivered, "", false},
		{"FAILED", "", providers.DeliveryUndelivered, "at_failed", false},
		{"Queued", "", providers.DeliveryIgnore, "", false},
		{"Delivered", "", providers.DeliveryIgnore, "", false},
	} {
		t.Run(tc.status+" "+tc.reason, func(t *testing.T) {
			form := url.Values{"id": {id}, "status": {tc.status}, "phoneNumber": {"+254711000000"},
				"networkCode": {"63902"}, "retryCount": {"0"}}
			if tc.reason != "" {
				form.Set("failureReason", tc.reason)
			}
			r, err := africastalking.ParseReport(form)
			if err != nil {
				t.Fatal(err)
			}
			want := africastalking.Report{ProviderMessageID: id, Status: tc.want, ErrorCode: tc.wantCode, OptedOut: tc.wantOptedOut}
			if r != want {
				t.Errorf("ParseReport = %+v, want %+v", r, want)
			}
		})
	}
}

func TestParseReportBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		form    url.Values
		wantErr string
	}{
		{"no id", url.Values{"status": {"Success"}}, "without an id"},
		{"empty id", url.Values{"id": {""}, "status": {"Success"}}, "without an id"},
		{"id too long", url.Values{"id": {strings.Repeat("a", 101)}, "status": {"Success"}}, "longer than 100"},
		{"id with a newline", url.Values{"id": {"ATXid_1\n2"}, "status": {"Success"}}, "printable ASCII"},
		{"id with NUL", url.Values{"id": {"ATXid_\x00"}, "status": {"Success"}}, "printable ASCII"},
		{"id with DEL", url.Values{"id": {"ATXid_\x7f"}, "status": {"Success"}}, "printable ASCII"},
		{"id not ASCII", url.Values{"id": {"ATXid_é"}, "status": {"Success"}}, "printable ASCII"},
		{"no status", url.Values{"id": {"ATXid_1"}}, "without a status"},
		{"empty status", url.Values{"id": {"ATXid_1"}, "status": {""}}, "without a status"},
		{"status with a control character", url.Values{"id": {"ATXid_1"}, "status": {"Success\r\n"}}, "status"},
		{"status not a word", url.Values{"id": {"ATXid_1"}, "status": {"Success; drop"}}, "status"},
		{"status too long", url.Values{"id": {"ATXid_1"}, "status": {strings.Repeat("a", 65)}}, "status"},
		{"nothing", url.Values{}, "without an id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := africastalking.ParseReport(tc.form)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseReport = %+v, %v; want an error about %q", r, err, tc.wantErr)
			}
		})
	}
	// The limits themselves are fine.
	for _, id := range []string{"a", strings.Repeat("a", 100), "ATXid_ !~"} {
		if _, err := africastalking.ParseReport(url.Values{"id": {id}, "status": {"Success"}}); err != nil {
			t.Errorf("id %q: %v", id, err)
		}
	}
}

// A report the double posts parses: the round trip the gateway's webhook
// tests rely on.
func TestReportRoundTrip(t *testing.T) {
	srv := attest.NewServer(t)
	p := newProvider(t, srv, nil)
	r, err := p.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan africastalking.Report, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		rep, err := africastalking.ParseReport(req.PostForm)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- rep
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(app.Close)
	resp, err := srv.PostReport(context.Background(), app.URL, r.ProviderMessageID, "AbsentSubscriber", "")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PostReport = %v, %v", resp, err)
	}
	want := africastalking.Report{ProviderMessageID: r.ProviderMessageID, Status: providers.DeliveryUndelivered, ErrorCode: "at_absentsubscriber"}
	if rep := <-got; rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
}
