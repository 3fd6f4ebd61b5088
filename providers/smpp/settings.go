package smpp

import (
	"net"
	"time"

	"sandesh/providers"
)

// Settings are the keys of a provider of kind smpp in sandesh.yaml. Numbers
// are ints here so that an out-of-range value is reported by Check, not
// refused by the YAML decoder with a type name.
type Settings struct {
	Addr           string        `yaml:"addr"` // host:port of the SMSC
	SystemID       string        `yaml:"system_id"`
	Password       string        `yaml:"password" redact:"true"`
	SystemType     string        `yaml:"system_type"`
	SourceAddr     string        `yaml:"source_addr"`      // sender id or short code
	SourceTON      int           `yaml:"source_ton"`       // 5 alphanumeric, 1 international, 3 network-specific (short code)
	SourceNPI      int           `yaml:"source_npi"`       // 0 unknown, 1 ISDN
	Binds          int           `yaml:"binds"`            // transceiver connections; 0: 1
	Window         int           `yaml:"window"`           // outstanding submit_sm per bind; 0: 10
	EnquireLink    time.Duration `yaml:"enquire_link"`     // keep-alive interval; 0: 30s
	DLTEntityID    string        `yaml:"dlt_entity_id"`    // India: the principal entity id, sent as a TLV
	DLTEntityTag   int           `yaml:"dlt_entity_tag"`   // its TLV tag; 0: 0x1400
	DLTTemplateTag int           `yaml:"dlt_template_tag"` // the content template id's TLV tag; 0: 0x1401
}

// Check reports every problem with s through bad. The lengths are SMPP
// 3.4's field limits.
func (s *Settings) Check(bad providers.Report) {
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || port == "" {
		bad("addr", "required for kind smpp: host:port of the SMSC")
	}
	if s.SystemID == "" || len(s.SystemID) > 15 {
		bad("system_id", "required for kind smpp, at most 15 characters")
	}
	if len(s.Password) > 8 {
		bad("password", "at most 8 characters (SMPP 3.4)")
	}
	if len(s.SystemType) > 12 {
		bad("system_type", "at most 12 characters")
	}
	if s.SourceAddr == "" || len(s.SourceAddr) > 20 {
		bad("source_addr", "required for kind smpp, at most 20 characters")
	}
	for _, f := range []struct {
		key       string
		v, lo, hi int
	}{
		{"source_ton", s.SourceTON, 0, 6}, {"source_npi", s.SourceNPI, 0, 18},
		{"binds", s.Binds, 0, 32}, {"window", s.Window, 0, 255},
		{"dlt_entity_tag", s.DLTEntityTag, 0, 0xFFFF}, {"dlt_template_tag", s.DLTTemplateTag, 0, 0xFFFF},
	} {
		if f.v < f.lo || f.v > f.hi {
			bad(f.key, "must be from %d to %d, is %d", f.lo, f.hi, f.v)
		}
	}
	if s.EnquireLink < 0 || (s.EnquireLink > 0 && s.EnquireLink < time.Second) {
		bad("enquire_link", "must be at least 1s")
	}
}

// Config is the Config of the provider called name, for settings that
// passed Check; receipts and MOs go to the callbacks.
func (s Settings) Config(name string, onReceipt func(DeliveryReceipt) error, onMO func(MO) error) Config {
	return Config{
		Name: name, Addr: s.Addr, SystemID: s.SystemID, Password: s.Password, SystemType: s.SystemType,
		SourceAddr: s.SourceAddr, SourceTON: byte(s.SourceTON), SourceNPI: byte(s.SourceNPI),
		Binds: s.Binds, Window: s.Window, EnquireLink: s.EnquireLink,
		DLTEntityID: s.DLTEntityID, DLTEntityTag: uint16(s.DLTEntityTag), DLTTemplateTag: uint16(s.DLTTemplateTag),
		OnReceipt: onReceipt, OnMO: onMO,
	}
}
