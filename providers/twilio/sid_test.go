package twilio

import (
	"strings"
	"testing"
)

func TestMessageSid(t *testing.T) {
	sid := "SM" + strings.Repeat("0123456789abcdef", 2)
	for _, tc := range []struct {
		name, body, want string
		wantErr          bool
	}{
		{"Twilio's answer", `{"account_sid": "AC` + strings.Repeat("1", 32) + `", "body": "Dose 1 recorded", "messaging_service_sid": null, "sid": "` + sid + `", "status": "queued"}`, sid, false},
		{"no spaces", `{"sid":"` + sid + `","status":"queued"}`, sid, false},
		{"a quoted sid in the text first", `{"body": "my \"sid\": \"SM` + strings.Repeat("f", 32) + `\"", "sid": "` + sid + `"}`, sid, false},
		{"another shape, decoded in full", `{"sid": "SM-custom-42"}`, "SM-custom-42", false},
		{"upper-case hex, decoded in full", `{"sid": "SM` + strings.Repeat("ABCDEF01", 4) + `"}`, "SM" + strings.Repeat("ABCDEF01", 4), false},
		{"null", `{"sid": null, "status": "queued"}`, "", false},
		{"absent", `{"status": "queued"}`, "", false},
		{"not JSON", `<html>OK</html>`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := messageSid([]byte(tc.body))
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("messageSid = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
