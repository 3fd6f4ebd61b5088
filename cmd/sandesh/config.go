package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone must load on machines without a zoneinfo database

	"github.com/nyaruka/phonenumbers"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"sandesh/langs"
	"sandesh/providers"
	"sandesh/providers/africastalking"
	"sandesh/providers/smpp"
	"sandesh/providers/twilio"
	"sandesh/reminders"
	"sandesh/templates"
)

// Config is the whole configuration of the sandesh process: loaded once by
// LoadConfig, validated, and passed down. Nothing else reads the environment.
//
// Every scalar key can be overridden by the environment variable SANDESH_<KEY>
// (nested keys joined by "_", e.g. SANDESH_BREAKER_OPEN_FOR); the names are
// derived from the yaml tags. Fields tagged redact:"true" are secrets: they never
// appear in error messages and are masked by Redacted and LogValue.
type Config struct {
	Listen        string `yaml:"listen"`
	MetricsListen string `yaml:"metrics_listen"` // set: /metrics without auth there; on listen it needs the admin key
	PublicURL     string `yaml:"public_url"`
	RedisURL      string `yaml:"redis_url" redact:"password"`
	Secret        string `yaml:"secret" redact:"true"`
	// PreviousSecrets are secrets Secret replaced: what they keyed keeps
	// working until it is re-keyed or expires (README, "Rotating the secret").
	PreviousSecrets []string         `yaml:"previous_secrets" redact:"true"`
	AdminKey        string           `yaml:"admin_key" redact:"true"`
	DefaultRegion   string           `yaml:"default_region"`
	Timezone        string           `yaml:"timezone"`
	Languages       []string         `yaml:"languages"`
	USSDToken       string           `yaml:"ussd_token" redact:"true"`
	Simulator       bool             `yaml:"simulator"`
	Retention       time.Duration    `yaml:"retention"` // message records are kept this long
	LogLevel        string           `yaml:"log_level"` // debug, info, warn or error
	Providers       []ProviderConfig `yaml:"providers"` // failover order
	Breaker         BreakerConfig    `yaml:"breaker"`
	Workers         WorkersConfig    `yaml:"workers"`
	Reminders       RemindersConfig  `yaml:"reminders"`
	// DLTTemplates are the DLT template ids the programme registered on
	// the DLT portal, by message and language, in place of the embedded
	// ones: dlt_templates: {appointment_slip: {hi: "1107…"}}.
	DLTTemplates map[string]map[string]string `yaml:"dlt_templates"`
	// KYVSVerifierPerHour caps the OTPs one verifier key may request an hour.
	KYVSVerifierPerHour int `yaml:"kyvs_verifier_per_hour"`

	Location *time.Location `yaml:"-"` // Timezone, loaded by Validate
	Embedded bool           `yaml:"-"` // RedisURL is empty: run an embedded in-memory Redis
}

// ProviderConfig configures one SMS provider. Providers are tried in the order
// they are listed. The keys of each kind are owned and checked by its package;
// a provider has the keys of its kind only (another kind's key is refused as
// unknown, and the start-up log shows only its kind's keys).
type ProviderConfig struct {
	Name string `yaml:"name"` // [a-z0-9-]+, appears in webhook paths
	Kind string `yaml:"kind"` // twilio, smpp, africastalking or console
	TPS  int    `yaml:"tps"`  // send-rate cap in messages/second; 0: none

	Twilio twilio.Settings         `yaml:"-"` // kind twilio
	SMPP   smpp.Settings           `yaml:"-"` // kind smpp
	AT     africastalking.Settings `yaml:"-"` // kind africastalking
}

// providerSection is the keys of one provider kind.
type providerSection interface {
	Check(bad providers.Report)
}

// section is the keys of p's kind, nil for console or an unknown kind.
func (p *ProviderConfig) section() providerSection {
	switch p.Kind {
	case KindTwilio:
		return &p.Twilio
	case KindSMPP:
		return &p.SMPP
	case KindAT:
		return &p.AT
	}
	return nil
}

// UnmarshalYAML decodes the common keys, then the rest into the section of
// the provider's kind. Unknown keys were refused before (nodeWalker).
func (p *ProviderConfig) UnmarshalYAML(n *yaml.Node) error {
	type common ProviderConfig // without this method
	var c common
	if err := n.Decode(&c); err != nil {
		return err
	}
	*p = ProviderConfig(c)
	if s := p.section(); s != nil {
		return n.Decode(s)
	}
	return nil
}

var providerConfigType = reflect.TypeFor[ProviderConfig]()

// providerFields maps the keys a provider of kind may have to their fields:
// the common ones and its kind's. For an unknown kind (reported by Validate)
// every kind's keys are accepted.
func providerFields(kind string) map[string]reflect.StructField {
	fields := yamlFields(providerConfigType)
	kinds := []string{kind}
	if (&ProviderConfig{Kind: kind}).section() == nil && kind != KindConsole {
		kinds = []string{KindTwilio, KindSMPP, KindAT}
	}
	for _, k := range kinds {
		if s := (&ProviderConfig{Kind: k}).section(); s != nil {
			maps.Copy(fields, yamlFields(reflect.TypeOf(s).Elem()))
		}
	}
	return fields
}

// BreakerConfig configures the circuit breaker kept per provider.
type BreakerConfig struct {
	Failures int           `yaml:"failures"` // consecutive failures that open the breaker
	OpenFor  time.Duration `yaml:"open_for"` // how long it stays open before one trial request
}

// RemindersConfig is when due-dose reminders go out (API.md "Due-dose
// reminders"), in the programme's timezone.
type RemindersConfig struct {
	Enabled    bool   `yaml:"enabled"`
	Hours      string `yaml:"hours"`      // "09:00-21:00": sent only inside, on one day
	At         string `yaml:"at"`         // "10:00": when the worker starts the day's run
	Precaution bool   `yaml:"precaution"` // also remind of the precaution dose, 182 days after a complete course

	Window reminders.Window `yaml:"-"` // Hours, parsed by Validate
	Start  reminders.Clock  `yaml:"-"` // At, parsed by Validate
}

// WorkersConfig is the worker concurrency of each outbound queue.
type WorkersConfig struct {
	OTP           int `yaml:"otp"`
	Transactional int `yaml:"transactional"`
	Bulk          int `yaml:"bulk"`
}

// Defaults applied by LoadConfig before the file and the environment.
const (
	DefaultListen    = "127.0.0.1:3000"
	DefaultRetention = 90 * 24 * time.Hour
)

// Provider kinds.
const (
	KindTwilio  = "twilio"
	KindConsole = "console"
	KindSMPP    = "smpp"
	KindAT      = "africastalking"
)

// EnvPrefix starts the name of every environment variable that overrides a key.
const EnvPrefix = "SANDESH_"

// minSecretLen is the shortest accepted secret, in bytes.
const minSecretLen = 32

func defaultConfig() Config {
	return Config{
		DefaultRegion: "IN",
		Timezone:      "Asia/Kolkata",
		Languages:     []string{"en", "hi", "mr"},
		Retention:     DefaultRetention,
		LogLevel:      "info",
		Breaker:       BreakerConfig{Failures: 5, OpenFor: 30 * time.Second},
		Workers:       WorkersConfig{OTP: 20, Transactional: 50, Bulk: 30},
		Reminders:     RemindersConfig{Enabled: true, Hours: "09:00-21:00", At: "10:00"},

		KYVSVerifierPerHour: 1000,
	}
}

// LoadConfig builds the configuration from the defaults, the YAML file at path
// (none when path is ""), and the environment, in that order of increasing
// precedence, then validates it. env looks a variable up (os.LookupEnv in
// production); ${VAR} in the file's values is expanded with it, an undefined
// variable becoming "". PORT sets listen to 0.0.0.0:$PORT when listen is set
// neither in the file nor by SANDESH_LISTEN. With no provider configured, a
// single console provider is used.
func LoadConfig(path string, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	c := defaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(path, data, env, &c); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return nil, err
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
		if port, ok := env("PORT"); ok && port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return nil, fmt.Errorf("config: PORT: %q is not a port number", port)
			}
			c.Listen = "0.0.0.0:" + port
		}
	}
	if len(c.Providers) == 0 {
		c.Providers = []ProviderConfig{{Name: KindConsole, Kind: KindConsole}}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeYAML decodes a config document into c. ${VAR} is expanded per scalar
// value after parsing, so an expanded value can never change the document's
// structure: before parsing each reference is replaced by a marker that is a
// plain scalar everywhere (even inside [flow, lists]), and after parsing the
// markers in values are replaced by the variables' values. Unknown keys,
// duplicate keys and ill-typed values are reported with their line and full key.
//
// A key left empty (or null) in the file is treated as not set and keeps its
// default; a key set to an expanded ${VAR} that is undefined is set to "".
func decodeYAML(path string, data []byte, env func(string) (string, bool), c *Config) error {
	if bytes.Contains(data, []byte(varOpen)) || bytes.Contains(data, []byte(varClose)) {
		return fmt.Errorf("config: %s: contains U+E000 or U+E001, reserved for ${VAR} expansion", path)
	}
	data = varRef.ReplaceAll(data, []byte(varOpen+"${1}"+varClose))
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil // empty file, or only comments
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s:%d: the document must be a mapping of keys", path, doc.Content[0].Line)
	}
	w := nodeWalker{path: path, env: env}
	w.walk(doc.Content[0], reflect.TypeFor[Config](), "")
	if len(w.errs) > 0 {
		return errors.Join(w.errs...)
	}
	// The walk has expanded and normalised the tree; encode it again (the
	// encoder quotes whatever needs it) and decode with unknown fields refused.
	text, err := yaml.Marshal(&doc)
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// isNull reports whether n is a plain null: an empty value, ~ or null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.ShortTag() == "!!null"
}

// varRef is the only form of variable reference expanded in config values.
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// varOpen and varClose enclose a variable's name in the text given to the
// parser: private-use characters, valid in a plain scalar in any context.
const varOpen, varClose = "\uE000", "\uE001"

var varMark = regexp.MustCompile(varOpen + `([A-Za-z_][A-Za-z0-9_]*)` + varClose)

// expandVars replaces the variable markers in s by the variables' values.
func expandVars(s string, env func(string) (string, bool)) string {
	return varMark.ReplaceAllStringFunc(s, func(mark string) string {
		v, _ := env(mark[len(varOpen) : len(mark)-len(varClose)])
		return v
	})
}

// unmarkVars turns variable markers back into ${VAR}, for messages.
func unmarkVars(s string) string {
	return varMark.ReplaceAllString(s, "$${${1}}")
}

// nodeWalker walks a parsed YAML tree alongside the Go type it decodes into.
type nodeWalker struct {
	path string // of the file, for messages
	env  func(string) (string, bool)
	errs []error
}

func (w *nodeWalker) fail(n *yaml.Node, key, format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("config: %s:%d: %s: %s", w.path, n.Line, key, fmt.Sprintf(format, args...)))
}

var durationType = reflect.TypeFor[time.Duration]()

func (w *nodeWalker) walk(n *yaml.Node, t reflect.Type, key string) {
	if n.Kind == yaml.AliasNode {
		return // the anchored node is checked where it is defined
	}
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(n, key, "want a mapping of keys")
			return
		}
		fields, unknown := yamlFields(t), "unknown key"
		if t == providerConfigType {
			kind := mappingValue(n, "kind", w.env)
			fields = providerFields(kind)
			if kind != "" {
				unknown = "unknown key for kind " + kind
			}
		}
		seen := map[string]int{}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			k.Value = unmarkVars(k.Value) // keys are not expanded
			if k.Value == "<<" {
				kept = append(kept, k, v) // merge key: decoded by yaml.v3, unknown keys still refused
				continue
			}
			path := joinKey(key, k.Value)
			if line, dup := seen[k.Value]; dup {
				w.fail(k, path, "defined twice (first at line %d)", line)
				continue
			}
			seen[k.Value] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				w.fail(k, path, "%s", unknown)
				continue
			}
			if isNull(v) {
				continue // not set: the default stays
			}
			w.walk(v, f.Type, path)
			kept = append(kept, k, v)
		}
		n.Content = kept
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(n, key, "want a mapping of keys")
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := joinKey(key, unmarkVars(k.Value))
			if line, dup := seen[k.Value]; dup {
				w.fail(k, path, "defined twice (first at line %d)", line)
				continue
			}
			seen[k.Value] = k.Line
			if k.Kind != yaml.ScalarNode {
				w.fail(k, path, "want a plain key")
				continue
			}
			w.walk(v, t.Elem(), path)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, key, "want a list")
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, key, "want a single value, not a %s", kindName(n.Kind))
			return
		}
		w.scalar(n, t, key)
	}
}

// scalar expands ${VAR} in a scalar value and checks it has the field's type.
func (w *nodeWalker) scalar(n *yaml.Node, t reflect.Type, key string) {
	if strings.Contains(n.Value, varOpen) {
		n.Value = expandVars(n.Value, w.env)
		if t.Kind() == reflect.String {
			n.Tag = "!!str" // "true", "null" or "123" from the environment stay strings
		} else {
			n.Tag, n.Style = "", 0 // resolved again: ${TPS} may be an int
		}
	}
	switch {
	case t == durationType:
		d, err := parseDuration(n.Value)
		if err != nil {
			w.fail(n, key, "%q is not a duration (like 30s, 2160h or 90d)", n.Value)
			return
		}
		n.Value, n.Tag, n.Style = d.String(), "!!str", 0
	case t.Kind() == reflect.String:
		// Any scalar is a string (a 19-digit DLT id too, unquoted); nothing
		// to check (and secrets must not be echoed).
		n.Tag = "!!str"
	default:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n, key, "%q is not %s", n.Value, typeName(t))
		}
	}
}

// mappingValue is the expanded value of key in the mapping n, "" when it is
// not a single value there.
func mappingValue(n *yaml.Node, key string, env func(string) (string, bool)) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; unmarkVars(k.Value) == key && v.Kind == yaml.ScalarNode {
			return expandVars(v.Value, env)
		}
	}
	return ""
}

// yamlFields maps a struct's yaml keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f
		}
	}
	return m
}

// yamlName is a field's yaml key, "" when it has none.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return "a " + t.String()
}

// dayDuration is a duration in days with an optional Go duration after it: 90d, 1d12h.
var dayDuration = regexp.MustCompile(`^([0-9]+)d(.*)$`)

// parseDuration parses Go duration syntax ("30s", "2160h") and a day suffix ("90d").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	m := dayDuration.FindStringSubmatch(s)
	if m == nil {
		return 0, err
	}
	days, derr := strconv.Atoi(m[1])
	if derr != nil || days > 100*365 {
		return 0, err
	}
	d = time.Duration(days) * 24 * time.Hour
	if m[2] != "" {
		rest, rerr := time.ParseDuration(m[2])
		if rerr != nil || strings.HasPrefix(m[2], "-") {
			return 0, err
		}
		d += rest
	}
	return d, nil
}

// envVar is one environment override: its variable name, the key it sets and the field.
type envVar struct {
	Name  string
	Key   string
	field reflect.Value
}

// envVars lists the overridable scalar keys of c, derived from the yaml tags:
// SANDESH_<KEY>, nested keys joined with "_". Lists of strings are included
// (comma-separated); lists of mappings (providers) are not.
func envVars(c *Config) []envVar {
	var out []envVar
	var visit func(v reflect.Value, key string)
	visit = func(v reflect.Value, key string) {
		t := v.Type()
		for i := range t.NumField() {
			name := yamlName(t.Field(i))
			if name == "" {
				continue
			}
			f, k := v.Field(i), joinKey(key, name)
			switch {
			case f.Kind() == reflect.Struct:
				visit(f, k)
			case f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String, f.Kind() == reflect.Map:
				// not a scalar
			default:
				env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
				out = append(out, envVar{Name: env, Key: k, field: f})
			}
		}
	}
	visit(reflect.ValueOf(c).Elem(), "")
	return out
}

// applyEnv sets every key whose SANDESH_ variable is set. A variable set to ""
// clears a string key (SANDESH_REDIS_URL= selects embedded mode).
func applyEnv(c *Config, env func(string) (string, bool)) error {
	var errs []error
	for _, ev := range envVars(c) {
		s, ok := env(ev.Name)
		if !ok {
			continue
		}
		f := ev.field
		switch {
		case f.Type() == durationType:
			d, err := parseDuration(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %q is not a duration (like 30s, 2160h or 90d)", ev.Name, s))
				continue
			}
			f.SetInt(int64(d))
		case f.Kind() == reflect.String:
			f.SetString(s)
		case f.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %q is not true or false", ev.Name, s))
				continue
			}
			f.SetBool(b)
		case f.Kind() == reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %q is not an integer", ev.Name, s))
				continue
			}
			f.SetInt(int64(n))
		case f.Kind() == reflect.Slice:
			list := []string{}
			for item := range strings.SplitSeq(s, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = append(list, item)
				}
			}
			f.Set(reflect.ValueOf(list))
		default:
			panic("config: no environment parser for " + f.Type().String())
		}
	}
	return errors.Join(errs...)
}

var providerName = regexp.MustCompile(`^[a-z0-9-]+$`)

// supportedLanguages are the twelve languages CoWIN served.
var supportedLanguages = langs.Codes()

// Validate checks every key and returns one error listing every problem, each
// naming its key; secret values are never included. It also normalises: a
// trailing slash is trimmed from public_url and providers' base_url, the
// region is upper-cased, the log level lower-cased, Location is loaded from
// Timezone and Embedded set from RedisURL.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}

	if _, port, err := net.SplitHostPort(c.Listen); err != nil || !validPort(port) {
		bad("listen", "%q is not host:port with a numeric port", c.Listen)
	}

	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || !validPort(port) {
			bad("metrics_listen", "%q is not host:port with a numeric port", c.MetricsListen)
		} else if c.MetricsListen == c.Listen {
			bad("metrics_listen", "must differ from listen (%s), where /metrics needs the admin key", c.Listen)
		}
	}

	if c.PublicURL != "" {
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
		if msg := providers.CheckHTTPURL(c.PublicURL); msg != "" {
			bad("public_url", "%s", msg)
		}
	}

	c.Embedded = c.RedisURL == ""
	if !c.Embedded {
		if msg := checkRedisURL(c.RedisURL); msg != "" {
			bad("redis_url", "%s", msg)
		}
	}

	switch {
	case c.Secret == "" && !c.Embedded:
		bad("secret", "required when redis_url is set (at least %d bytes)", minSecretLen)
	case len(c.Secret) < minSecretLen && !c.Embedded:
		bad("secret", "must be at least %d bytes when redis_url is set", minSecretLen)
	case c.Secret != "" && len(c.Secret) < minSecretLen:
		bad("secret", "must be at least %d bytes", minSecretLen)
	}
	for i, old := range c.PreviousSecrets {
		switch {
		case c.Secret == "" && !c.Embedded: // secret's own problem says it
		case c.Secret == "":
			bad("previous_secrets", "needs secret: the previous secrets only read what they keyed")
		case len(old) < minSecretLen:
			bad("previous_secrets", "item %d must be at least %d bytes", i+1, minSecretLen)
		case old == c.Secret:
			bad("previous_secrets", "item %d is the current secret", i+1)
		default:
			continue
		}
		break
	}

	c.DefaultRegion = strings.ToUpper(strings.TrimSpace(c.DefaultRegion))
	switch {
	case c.DefaultRegion == "":
		bad("default_region", "required")
	case !phonenumbers.GetSupportedRegions()[c.DefaultRegion]:
		bad("default_region", "%q is not a region code known to libphonenumber (like IN)", c.DefaultRegion)
	}

	c.Location = nil
	if c.Timezone == "" {
		bad("timezone", "required")
	} else if loc, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone", "%q is not a known time zone (like Asia/Kolkata)", c.Timezone)
	} else {
		c.Location = loc
	}

	if len(c.Languages) == 0 {
		bad("languages", "at least one is required (one of %s)", strings.Join(supportedLanguages, ", "))
	}
	seenLang := map[string]bool{}
	for i, l := range c.Languages {
		key := fmt.Sprintf("languages[%d]", i)
		switch {
		case !slices.Contains(supportedLanguages, l):
			bad(key, "%q is not one of %s", l, strings.Join(supportedLanguages, ", "))
		case seenLang[l]:
			bad(key, "%q is listed twice", l)
		}
		seenLang[l] = true
	}

	c.LogLevel = strings.ToLower(strings.TrimSpace(c.LogLevel))
	if _, ok := logLevels[c.LogLevel]; !ok {
		bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}

	// A record must outlive its retries (hours of backoff, rate waits,
	// outages): an expired record would end its task without a trace.
	if c.Retention < 24*time.Hour {
		bad("retention", "must be at least 24h, is %s", c.Retention)
	}
	if c.KYVSVerifierPerHour < 1 {
		bad("kyvs_verifier_per_hour", "must be at least 1, is %d", c.KYVSVerifierPerHour)
	}
	if c.Breaker.Failures < 1 {
		bad("breaker.failures", "must be at least 1, is %d", c.Breaker.Failures)
	}
	if w, err := reminders.ParseWindow(c.Reminders.Hours); err != nil {
		bad("reminders.hours", "%v", err)
	} else {
		c.Reminders.Window = w
		if at, err := reminders.ParseClock(c.Reminders.At); err != nil {
			bad("reminders.at", "%v", err)
		} else if c.Reminders.Start = at; at < w.Start || at >= w.End {
			bad("reminders.at", "%s is outside reminders.hours %s: the run would queue what may not be sent", at, w)
		}
	}
	if len(c.DLTTemplates) > 0 {
		set, err := templates.Load()
		if err == nil {
			_, err = set.WithDLTIDs(c.DLTTemplates)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				bad("dlt_templates", "%s", line)
			}
		}
	}
	if c.Breaker.OpenFor <= 0 {
		bad("breaker.open_for", "must be positive, is %s", c.Breaker.OpenFor)
	}
	for _, w := range []struct {
		key string
		n   int
	}{{"workers.otp", c.Workers.OTP}, {"workers.transactional", c.Workers.Transactional}, {"workers.bulk", c.Workers.Bulk}} {
		if w.n < 1 {
			bad(w.key, "must be at least 1, is %d", w.n)
		}
	}

	anyTwilio := false
	seenName := map[string]bool{}
	for i := range c.Providers {
		p := &c.Providers[i]
		key := func(k string) string { return fmt.Sprintf("providers[%d].%s", i, k) }
		switch {
		case p.Name == "":
			bad(key("name"), "required")
		case !providerName.MatchString(p.Name):
			bad(key("name"), "%q must match [a-z0-9-]+", p.Name)
		case seenName[p.Name]:
			bad(key("name"), "%q is used by another provider", p.Name)
		}
		seenName[p.Name] = true
		if p.TPS < 0 {
			bad(key("tps"), "must not be negative, is %d", p.TPS)
		}
		switch p.Kind {
		case KindTwilio:
			anyTwilio = true
		case KindConsole, KindSMPP, KindAT:
		case "":
			bad(key("kind"), "required (twilio, smpp, africastalking or console)")
		default:
			bad(key("kind"), "%q is not one of twilio, smpp, africastalking, console", p.Kind)
		}
		if s := p.section(); s != nil {
			s.Check(func(k, format string, args ...any) { bad(key(k), format, args...) })
		}
	}
	if anyTwilio && c.PublicURL == "" {
		bad("public_url", "required when a twilio provider is configured (status callbacks and signature checks use it)")
	}

	return errors.Join(errs...)
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s == strconv.Itoa(n)
}

// checkRedisURL describes what is wrong with a Redis URL, "" when nothing is.
// The URL is never quoted back: it may carry a password.
func checkRedisURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "not a valid URL"
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return "must include a host (redis://host:6379/0)"
		}
		if u.Port() != "" && !validPort(u.Port()) {
			return "has an invalid port"
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if _, err := strconv.Atoi(db); err != nil {
				return "database must be a number (redis://host:6379/0)"
			}
		}
		if u.Query().Has("master_name") {
			if _, err := redis.ParseFailoverURL(s); err != nil {
				return "is not a valid Sentinel URL (redis://[:password@]sentinel:26379/0?master_name=NAME&addr=other-sentinel:26379)"
			}
		} else if _, err := redis.ParseURL(s); err != nil {
			return "has an option go-redis does not know"
		}
	case "unix":
		if u.Path == "" {
			return "must include a socket path (unix:///path/to/redis.sock)"
		}
	case "redis+cluster", "rediss+cluster":
		if u.Host == "" {
			return "must include a seed node (redis+cluster://host:6379?addr=other-node:6379)"
		}
		if _, err := parseClusterURL(s); err != nil {
			return "is not a valid cluster URL (redis+cluster://[user:pass@]host:port?addr=host:port&addr=host:port)"
		}
	default:
		return "must be a redis://, rediss://, unix://, redis+cluster:// or rediss+cluster:// URL"
	}
	return ""
}

// parseClusterURL reads API.md's cluster URL: go-redis's cluster URL
// with "+cluster" in its scheme (redis+cluster://, rediss+cluster:// for
// TLS); the host and every addr are seed nodes.
func parseClusterURL(s string) (*redis.ClusterOptions, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	scheme, ok := strings.CutSuffix(u.Scheme, "+cluster")
	if !ok {
		return nil, fmt.Errorf("scheme %s is not a cluster's", u.Scheme)
	}
	u.Scheme = scheme
	return redis.ParseClusterURL(u.String())
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// Level is LogLevel as a slog.Level (info when LogLevel is not valid).
func (c *Config) Level() slog.Level {
	return logLevels[strings.ToLower(c.LogLevel)]
}

// redactedMask replaces a secret in Redacted.
const redactedMask = "[redacted]"

// Redacted returns a deep copy of c with secrets masked, for logging or
// printing the effective config: fields tagged redact:"true" are replaced by
// "[redacted]" when set (an unset one stays ""), and the password in redis_url
// is masked.
func (c Config) Redacted() Config {
	r := c
	r.Languages = append([]string(nil), c.Languages...)
	r.Providers = append([]ProviderConfig(nil), c.Providers...)
	redact(reflect.ValueOf(&r).Elem())
	return r
}

func redact(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := v.Field(i)
			if !t.Field(i).IsExported() {
				continue
			}
			switch t.Field(i).Tag.Get("redact") {
			case "true":
				if f.Kind() == reflect.Slice {
					masked := make([]string, f.Len())
					for i := range masked {
						masked[i] = redactedMask
					}
					f.Set(reflect.ValueOf(masked))
				} else if f.String() != "" {
					f.SetString(redactedMask)
				}
			case "password":
				f.SetString(redactURL(f.String()))
			default:
				redact(f)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			redact(v.Index(i))
		}
	}
}

// redactURL masks the password of a URL; a URL that does not parse is masked whole.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redactedMask
	}
	// A Sentinel URL may carry the master's password as a query value.
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// LogValue implements slog.LogValuer: the redacted config as a group keyed by
// the yaml keys, providers keyed by their index.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	attrs := logAttrs(reflect.ValueOf(r))
	attrs = append(attrs, slog.Bool("embedded", r.RedisURL == ""))
	return slog.GroupValue(attrs...)
}

func logAttrs(v reflect.Value) []slog.Attr {
	var attrs []slog.Attr
	t := v.Type()
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			attrs = append(attrs, logAttr(name, v.Field(i)))
		}
	}
	if p, ok := v.Interface().(ProviderConfig); ok {
		if s := p.section(); s != nil {
			attrs = append(attrs, logAttrs(reflect.ValueOf(s).Elem())...)
		}
	}
	return attrs
}

func logAttr(name string, f reflect.Value) slog.Attr {
	switch {
	case f.Type() == durationType:
		return slog.Duration(name, time.Duration(f.Int()))
	case f.Kind() == reflect.Struct:
		return slog.Attr{Key: name, Value: slog.GroupValue(logAttrs(f)...)}
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
		var items []slog.Attr
		for i := range f.Len() {
			items = append(items, slog.Attr{Key: strconv.Itoa(i), Value: slog.GroupValue(logAttrs(f.Index(i))...)})
		}
		return slog.Attr{Key: name, Value: slog.GroupValue(items...)}
	default:
		return slog.Any(name, f.Interface())
	}
}
