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
	days := courseDays(t, 3)
	for i, otp := range []string{"222222", "333333", "444444"} {
		txn, sent, err := s.StartOTP(ctx, "v1", one.ID, otp, 3*time.Minute, budget, otpSMS(otp))
		if err != nil {
			t.Fatal(err)
		}
		got, cerr := s.ConfirmOTP(ctx, txn, "v1", otp)
		if i < budget.Max {
			m, _, err := s.Claim(ctx, sent, "w1", time.Minute)
			if sent == "" || err != nil || m.SendBody() != "OTP "+otp || cerr != nil || got.Beneficiary.ID != one.ID {
				t.Fatalf("match %d: SMS %q %q (%v), confirm %+v %v", i, sent, m.SendBody(), err, got, cerr)
			}
			// What the answer and the notice need comes back in the same step.
			b := got.Beneficiary
			if b.Name != one.Name || b.Mobile != mobile || len(b.Doses) != i || got.Prefs.Language != "mr" {
				t.Fatalf("match %d read %+v", i, got)
			}
			if i > 0 && (b.Doses[0].Number != 1 || b.Doses[0].Vaccine != "COVISHIELD") {
				t.Fatalf("match %d read doses %+v", i, b.Doses)
			}
			if _, err := s.ConfirmOTP(ctx, txn, "v1", otp); !errors.Is(err, ErrOTPExpired) {
				t.Fatalf("a used OTP confirmed again: %v", err)
			}
			// The next match finds one dose more.
			if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: one.ID, Vaccine: "COVISHIELD", Batch: "B1",
				CenterID: testCenter, Date: days[i], Mobile: mobile}, confirmTo(mobile)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// Past the budget: no SMS, and the transaction matches nobody.
		if sent != "" || !errors.As(cerr, &mismatch) {
			t.Fatalf("past the budget: SMS %q, confirm %+v %v", sent, got, cerr)
		}
	}
	// A beneficiary gone since the OTP was sent: the OTP is spent, nothing read.
	other := mustBeneficiary(t, s, "+919876543211")
	sms := otpSMS("555555")
	sms.To = other.Mobile
	txn, _, err = s.StartOTP(ctx, "v1", other.ID, "555555", 3*time.Minute, budget, sms)
	if err != nil {
		t.Fatal(err)
	}
	s.rdb.Del(ctx, s.beneficiaryKey(other.ID))
	if _, err := s.ConfirmOTP(ctx, txn, "v1", "555555"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirm for a deleted beneficiary: %v", err)
	}
	if _, err := s.ConfirmOTP(ctx, txn, "v1", "555555"); !errors.Is(err, ErrOTPExpired) {
		t.Fatalf("the OTP of a deleted beneficiary confirmed again: %v", err)
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
