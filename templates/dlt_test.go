package templates

import (
	"strings"
	"testing"
)

func TestWithDLTIDs(t *testing.T) {
	s := mustLoad(t)
	oldID, _, _ := s.DLT("appointment_slip", "ta")
	got, err := s.WithDLTIDs(map[string]map[string]string{"appointment_slip": {"ta": "1707161234567890123", "hi": "1707161234567890124"}})
	if err != nil {
		t.Fatal(err)
	}
	if id, _, _ := got.DLT("appointment_slip", "ta"); id != "1707161234567890123" {
		t.Errorf("ta id = %s", id)
	}
	r, err := got.Render("appointment_slip", "hi", Vars{"center": "PHC", "date": "14/02", "slot": "9-11", "code": "4821"})
	if err != nil || r.DLTTemplateID != "1707161234567890124" {
		t.Errorf("rendered with id %q, %v", r.DLTTemplateID, err)
	}
	if id, _, _ := got.DLT("appointment_slip", "en"); id == "" || id == "1707161234567890123" {
		t.Errorf("en id = %s: a language not named keeps its id", id)
	}
	if id, _, _ := s.DLT("appointment_slip", "ta"); id != oldID {
		t.Error("WithDLTIDs changed the set it was called on")
	}
	enID, _, _ := s.DLT("security_code", "en")
	for _, tc := range []struct {
		ids  map[string]map[string]string
		want string
	}{
		{map[string]map[string]string{"appointment_slp": {"en": "1707161234567890123"}}, "appointment_slp: no such message"},
		{map[string]map[string]string{"appointment_slip": {"fr": "1707161234567890123"}}, "appointment_slip.fr: no such language"},
		{map[string]map[string]string{"appointment_slip": {"en": "12345"}}, `appointment_slip.en: "12345" is not a DLT template id`},
		{map[string]map[string]string{"appointment_slip": {"en": enID}}, "is also"},
	} {
		if _, err := s.WithDLTIDs(tc.ids); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithDLTIDs(%v) = %v, want %q", tc.ids, err, tc.want)
		}
	}
}
