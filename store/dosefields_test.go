package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStoredDoseRoundTrip(t *testing.T) {
	at := time.UnixMilli(1796305240213).UTC()
	for _, tc := range []struct {
		name string
		d    Dose
	}{
		{"walk-in", Dose{Vaccine: "COVISHIELD", Batch: "4121Z025", Date: "2027-01-01", CenterID: "C001", CertificateID: "5730477070793", RecordedAt: at}},
		{"booked", Dose{Vaccine: "COVAXIN", Batch: "B1", Date: "2027-01-01", CenterID: "C001", CertificateID: "5730477070793",
			AppointmentID: "1a23c22c6df48b3fc872bcecf85", RecordedAt: at}},
		{"every field at its longest", Dose{Vaccine: "SPUTNIK_LIGHT", Batch: strings.Repeat("B", 20), Date: "2027-01-01",
			CenterID: strings.Repeat("c", 32), CertificateID: "5730477070793", AppointmentID: strings.Repeat("a", 64), RecordedAt: at}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStoredDose(storedDose(tc.d))
			if err != nil || got != tc.d {
				t.Errorf("round trip = %+v, %v; want %+v", got, err, tc.d)
			}
		})
	}
	legacy := `{"dose":0,"vaccine":"COVISHIELD","batch":"LG1","date":"2026-12-03","center_id":"C9","certificate_id":"5730477070793","recorded_at":"2026-12-03T13:40:40.213460248Z"}`
	if d, err := parseStoredDose(legacy); err != nil || d.Vaccine != "COVISHIELD" || d.CenterID != "C9" || d.RecordedAt.IsZero() {
		t.Errorf("legacy JSON = %+v, %v", d, err)
	}
	for _, bad := range []string{"", "COVISHIELD|B1", "A|B|C|D|E|not-ms|F", "{"} {
		if _, err := parseStoredDose(bad); err == nil {
			t.Errorf("%q read as a dose", bad)
		}
	}
}

// TestDosesAreFieldsOfTheBeneficiary: a dose is kept in the beneficiary's
// hash, which stays in Redis's compact encoding with the longest fields
// split into parts, and reads back whole through every reader.
func TestDosesAreFieldsOfTheBeneficiary(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	b := mustBeneficiary(t, s, "+919876543210")
	long := strings.Repeat("c", 32) // the longest centre id
	for _, d := range []NewDose{
		{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: strings.Repeat("B", 20), CenterID: long, Date: "2027-01-01"},
		{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B2", CenterID: testCenter, Date: "2027-01-29"},
	} {
		if _, err := s.RecordDose(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if keys := s.rdb.Keys(ctx, "*:doses").Val(); len(keys) != 0 {
		t.Errorf("a list was made for the doses: %v", keys)
	}
	// miniredis has no OBJECT ENCODING; CI's Redis answers it.
	if enc, err := s.rdb.ObjectEncoding(ctx, s.beneficiaryKey(b.ID)).Result(); err == nil && enc != "listpack" {
		t.Errorf("beneficiary hash encoded %s, want listpack", enc)
	}
	got, err := s.Beneficiary(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Doses) != 2 || got.Doses[0].Number != 1 || got.Doses[0].CenterID != long || got.Doses[0].Batch != strings.Repeat("B", 20) ||
		got.Doses[1].Number != 2 || got.Doses[1].Date != "2027-01-29" {
		t.Fatalf("doses read back %+v", got.Doses)
	}
	v, err := s.StepUSSD(ctx, USSDStep{SessionID: "s1", Mobile: b.Mobile, ServiceCode: "*123#"})
	if err != nil || len(v.People) != 1 || !slices.Equal(v.People[0].Doses, got.Doses) {
		t.Fatalf("USSD read %+v, %v; want the doses %+v", v.People, err, got.Doses)
	}
	// A third would complete nothing (COVAXIN takes two) but the rules still
	// read the last date from the fields: a dose the same day is refused.
	if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B3", CenterID: testCenter, Date: "2027-01-29"}, nil); !errors.Is(err, ErrDosedToday) {
		t.Errorf("second dose on 2027-01-29: %v, want ErrDosedToday", err)
	}
}
