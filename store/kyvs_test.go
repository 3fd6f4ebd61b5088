package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestKYVSSteps(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const mobile = "+919876543210"
	one := mustBeneficiary(t, s, mobile)
	if err := s.SetMobileLanguage(ctx, mobile, "mr"); err != nil {
		t.Fatal(err)
	}
	// The verifier's own limit, spent with the reads.
	for i, want := range []bool{true, true, false} {
		a, err := s.AskAbout(ctx, "kyvs-verifier:v1", 2, time.Hour, mobile)
		if err != nil || a.Allowed != want {
			t.Fatalf("ask %d: %+v %v, want allowed=%v", i, a, err, want)
		}
		if want && (!slices.Equal(a.BeneficiaryIDs, []string{one.ID}) || a.Prefs.Language != "mr") {
			t.Fatalf("ask %d read %+v", i, a)
		}
		if !want && a.RetryAfter <= 0 {
			t.Fatalf("refused without a wait: %+v", a)
		}
	}
	otpSMS := func(otp string) *NewMessage {
		return &NewMessage{To: mobile, Template: "kyvs_otp", Body: "OTP " + otp, Masked: "OTP ****",
			Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute}
	}
	budget := OTPBudget{Max: 2, Window: time.Hour}
	// No match: a transaction, no SMS, and nothing of the budget spent.
	txn, sent, err := s.StartOTP(ctx, "v1", "", "111111", 3*time.Minute, budget, otpSMS("111111"))
	if err != nil || len(txn) != 32 || sent != "" {
		t.Fatalf("no match: %q %q %v", txn, sent, err)
	}
	var mismatch *OTPMismatchError
	if _, err := s.ConfirmOTP(ctx, txn, "v1", "111111"); !errors.As(err, &mismatch) {
		t.Fatalf("an unmatched transaction confirmed: %v", err)
	}
	for i, otp := range []string{"222222", "333333", "444444"} {
		txn, sent, err := s.StartOTP(ctx, "v1", one.ID, otp, 3*time.Minute, budget, otpSMS(otp))
		if err != nil {
			t.Fatal(err)
		}
		ben, cerr := s.ConfirmOTP(ctx, txn, "v1", otp)
		if i < budget.Max {
			m, _, err := s.Claim(ctx, sent, "w1", time.Minute)
			if sent == "" || err != nil || m.SendBody() != "OTP "+otp || cerr != nil || ben != one.ID {
				t.Fatalf("match %d: SMS %q %q (%v), confirm %q %v", i, sent, m.SendBody(), err, ben, cerr)
			}
			continue
		}
		// Past the budget: no SMS, and the transaction matches nobody.
		if sent != "" || !errors.As(cerr, &mismatch) {
			t.Fatalf("past the budget: SMS %q, confirm %q %v", sent, ben, cerr)
		}
	}
	keys := s.rdb.Keys(ctx, s.prefix+"kyvs:*").Val()
	for _, k := range keys {
		for f, v := range s.rdb.HGetAll(ctx, k).Val() {
			if strings.Contains(v, "222222") {
				t.Fatalf("%s %s holds the OTP in clear", k, f)
			}
		}
	}
}
