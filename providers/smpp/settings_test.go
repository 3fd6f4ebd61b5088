package smpp

import (
	"slices"
	"testing"
	"time"
)

func TestSettingsCheck(t *testing.T) {
	valid := func() Settings {
		return Settings{Addr: "smsc.example.net:2775", SystemID: "sandesh", Password: "pw123456", SourceAddr: "CoWIN", SourceTON: 5}
	}
	for _, tc := range []struct {
		name   string
		mutate func(s *Settings)
		want   []string // keys reported
	}{
		{"valid", func(s *Settings) {}, nil},
		{"all limits", func(s *Settings) {
			s.SystemID, s.SystemType, s.SourceAddr = "123456789012345", "123456789012", "12345678901234567890"
			s.SourceNPI, s.Binds, s.Window, s.DLTEntityTag, s.EnquireLink = 18, 32, 255, 0xFFFF, time.Second
		}, nil},
		{"nothing set", func(s *Settings) { *s = Settings{} }, []string{"addr", "system_id", "source_addr"}},
		{"addr without port", func(s *Settings) { s.Addr = "smsc.example.net" }, []string{"addr"}},
		{"long fields", func(s *Settings) {
			s.SystemID, s.Password, s.SystemType, s.SourceAddr = "1234567890123456", "123456789", "1234567890123", "123456789012345678901"
		}, []string{"system_id", "password", "system_type", "source_addr"}},
		{"out of range", func(s *Settings) {
			s.SourceTON, s.SourceNPI, s.Binds, s.Window, s.DLTEntityTag, s.DLTTemplateTag = 7, -1, 33, 256, 0x10000, -1
		}, []string{"source_ton", "source_npi", "binds", "window", "dlt_entity_tag", "dlt_template_tag"}},
		{"enquire_link too short", func(s *Settings) { s.EnquireLink = time.Millisecond }, []string{"enquire_link"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.mutate(&s)
			var got []string
			s.Check(func(key, format string, args ...any) { got = append(got, key) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems with %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSettingsConfig(t *testing.T) {
	s := Settings{Addr: "smsc:2775", SystemID: "sandesh", SourceAddr: "CoWIN", SourceTON: 5, SourceNPI: 1, DLTEntityTag: 0x1400, DLTTemplateTag: 0x1401}
	c := s.Config("operator", nil, nil)
	if c.Name != "operator" || c.SourceTON != 5 || c.SourceNPI != 1 || c.DLTEntityTag != 0x1400 || c.DLTTemplateTag != 0x1401 || c.Addr != "smsc:2775" {
		t.Errorf("Config = %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Errorf("New refuses settings that passed Check: %v", err)
	}
}
