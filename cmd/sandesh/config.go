package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
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
	// KYVSVerifierPerHour caps the OTPs one verifier key may request an hour.
	KYVSVerifierPerHour int `yaml:"kyvs_verifier_per_hour"`

	Location *time.Location `yaml:"-"` // Timezone, loaded by Validate
	Embedded bool           `yaml:"-"` // RedisURL is empty: run an embedded in-memory Redis
}

// ProviderConfig configures one SMS provider. Providers are tried in the order
// they are listed. A field tagged kinds:"…" applies to those kinds only:
// the start-up log shows a provider the keys of its kind and no others.
type ProviderConfig struct {
	Name                string `yaml:"name"` // [a-z0-9-]+, appears in webhook paths
	Kind                string `yaml:"kind"` // twilio, smpp, africastalking or console
	AccountSID          string `yaml:"account_sid" kinds:"twilio"`
	AuthToken           string `yaml:"auth_token" redact:"true" kinds:"twilio"`
	From                string `yaml:"from" kinds:"twilio,africastalking"`     // E.164 number or alphanumeric sender id
	MessagingServiceSID string `yaml:"messaging_service_sid" kinds:"twilio"`   // instead of From
	BaseURL             string `yaml:"base_url" kinds:"twilio,africastalking"` // empty: the provider's public API
	TPS                 int    `yaml:"tps"`                                    // send-rate cap in messages/second; 0: none

	// kind africastalking (also from and base_url above)
	Username     string `yaml:"username" kinds:"africastalking"` // the AT app's username
	APIKey       string `yaml:"api_key" redact:"true" kinds:"africastalking"`
	Enqueue      bool   `yaml:"enqueue" kinds:"africastalking"`                     // AT's queueing for bulk sends
	WebhookToken string `yaml:"webhook_token" redact:"true" kinds:"africastalking"` // required as ?token= on the delivery-report URL when set

	// kind smpp
	Addr           string        `yaml:"addr" kinds:"smpp"` // host:port of the SMSC
	SystemID       string        `yaml:"system_id" kinds:"smpp"`
	Password       string        `yaml:"password" redact:"true" kinds:"smpp"`
	SystemType     string        `yaml:"system_type" kinds:"smpp"`
	SourceAddr     string        `yaml:"source_addr" kinds:"smpp"`      // sender id or short code
	SourceTON      int           `yaml:"source_ton" kinds:"smpp"`       // 5 alphanumeric, 1 international, 3 network-specific (short code)
	SourceNPI      int           `yaml:"source_npi" kinds:"smpp"`       // 0 unknown, 1 ISDN
	Binds          int           `yaml:"binds" kinds:"smpp"`            // transceiver connections; 0: 1
	Window         int           `yaml:"window" kinds:"smpp"`           // outstanding submit_sm per bind; 0: 10
	EnquireLink    time.Duration `yaml:"enquire_link" kinds:"smpp"`     // keep-alive interval; 0: 30s
	DLTEntityID    string        `yaml:"dlt_entity_id" kinds:"smpp"`    // India: the principal entity id, sent as a TLV
	DLTEntityTag   int           `yaml:"dlt_entity_tag" kinds:"smpp"`   // its TLV tag; 0: 0x1400
	DLTTemplateTag int           `yaml:"dlt_template_tag" kinds:"smpp"` // the content template id's TLV tag; 0: 0x1401
}

// appliesTo reports whether the field f of ProviderConfig is a key of kind.
func appliesTo(f reflect.StructField, kind string) bool {
	kinds, tagged := f.Tag.Lookup("kinds")
	return !tagged || slices.Contains(strings.Split(kinds, ","), kind)
}

// BreakerConfig configures the circuit breaker kept per provider.
type BreakerConfig struct {
	Failures int           `yaml:"failures"` // consecutive failures that open the breaker
	OpenFor  time.Duration `yaml:"open_for"` // how long it stays open before one trial request
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
		fields := yamlFields(t)
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
				w.fail(k, path, "unknown key")
				continue
			}
			if isNull(v) {
				continue // not set: the default stays
			}
			w.walk(v, f.Type, path)
			kept = append(kept, k, v)
		}
		n.Content = kept
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
		// Any scalar is a string; nothing to check (and secrets must not be echoed).
	default:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n, key, "%q is not %s", n.Value, typeName(t))
		}
	}
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
			case f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String:
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

var (
	providerName = regexp.MustCompile(`^[a-z0-9-]+$`)
	accountSID   = regexp.MustCompile(`^AC[A-Za-z0-9]+$`)
	serviceSID   = regexp.MustCompile(`^MG[A-Za-z0-9]+$`)
	alnum        = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	senderID     = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter    = regexp.MustCompile(`[A-Za-z]`)
)

var supportedLanguages = []string{"en", "hi", "mr"}

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
		if msg := checkHTTPURL(c.PublicURL); msg != "" {
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

	twilio := false
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
		if p.BaseURL != "" {
			p.BaseURL = strings.TrimSuffix(p.BaseURL, "/")
			if msg := checkHTTPURL(p.BaseURL); msg != "" {
				bad(key("base_url"), "%s", msg)
			}
		}
		switch p.Kind {
		case KindTwilio:
			twilio = true
			validateTwilio(p, key, bad)
		case KindConsole:
		case KindSMPP:
			validateSMPP(p, key, bad)
		case KindAT:
			validateAT(p, key, bad)
		case "":
			bad(key("kind"), "required (twilio, smpp, africastalking or console)")
		default:
			bad(key("kind"), "%q is not one of twilio, smpp, africastalking, console", p.Kind)
		}
	}
	if twilio && c.PublicURL == "" {
		bad("public_url", "required when a twilio provider is configured (status callbacks and signature checks use it)")
	}

	return errors.Join(errs...)
}

func validateSMPP(p *ProviderConfig, key func(string) string, bad func(string, string, ...any)) {
	if _, port, err := net.SplitHostPort(p.Addr); err != nil || port == "" {
		bad(key("addr"), "required for kind smpp: host:port of the SMSC")
	}
	if p.SystemID == "" || len(p.SystemID) > 15 {
		bad(key("system_id"), "required for kind smpp, at most 15 characters")
	}
	if len(p.Password) > 8 {
		bad(key("password"), "at most 8 characters (SMPP 3.4)")
	}
	if len(p.SystemType) > 12 {
		bad(key("system_type"), "at most 12 characters")
	}
	if p.SourceAddr == "" || len(p.SourceAddr) > 20 {
		bad(key("source_addr"), "required for kind smpp, at most 20 characters")
	}
	for _, f := range []struct {
		name      string
		v, lo, hi int
	}{
		{"source_ton", p.SourceTON, 0, 6}, {"source_npi", p.SourceNPI, 0, 18},
		{"binds", p.Binds, 0, 32}, {"window", p.Window, 0, 255},
		{"dlt_entity_tag", p.DLTEntityTag, 0, 0xFFFF}, {"dlt_template_tag", p.DLTTemplateTag, 0, 0xFFFF},
	} {
		if f.v < f.lo || f.v > f.hi {
			bad(key(f.name), "must be from %d to %d, is %d", f.lo, f.hi, f.v)
		}
	}
	if p.EnquireLink < 0 || (p.EnquireLink > 0 && p.EnquireLink < time.Second) {
		bad(key("enquire_link"), "must be at least 1s")
	}
	if p.AccountSID != "" || p.AuthToken != "" || p.From != "" || p.BaseURL != "" {
		bad(key("kind"), "smpp takes addr, system_id, password and source_addr, not Twilio's keys")
	}
}

func validateAT(p *ProviderConfig, key func(string) string, bad func(string, string, ...any)) {
	switch {
	case p.Username == "":
		bad(key("username"), "required for kind africastalking")
	case !atUsername.MatchString(p.Username):
		bad(key("username"), "must be letters, digits, '.', '_' or '-', at most 64")
	}
	if p.APIKey == "" {
		bad(key("api_key"), "required for kind africastalking")
	}
	if p.From != "" && len(p.From) > 11 && !e164.MatchString(p.From) {
		bad(key("from"), "a sender id of up to 11 characters, a short code or an E.164 number")
	}
	if p.WebhookToken != "" && len(p.WebhookToken) < 16 {
		bad(key("webhook_token"), "at least 16 characters when set")
	}
	if p.AccountSID != "" || p.AuthToken != "" || p.MessagingServiceSID != "" || p.Addr != "" || p.SystemID != "" {
		bad(key("kind"), "africastalking takes username, api_key, from and base_url, not Twilio's or SMPP's keys")
	}
}

var atUsername = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func validateTwilio(p *ProviderConfig, key func(string) string, bad func(string, string, ...any)) {
	switch {
	case p.AccountSID == "":
		bad(key("account_sid"), "required for kind twilio")
	case !accountSID.MatchString(p.AccountSID):
		bad(key("account_sid"), "must be letters and digits starting with AC")
	}
	switch {
	case p.AuthToken == "":
		bad(key("auth_token"), "required for kind twilio")
	case !alnum.MatchString(p.AuthToken):
		bad(key("auth_token"), "must be letters and digits")
	}
	switch {
	case p.From == "" && p.MessagingServiceSID == "":
		bad(key("from"), "one of from or messaging_service_sid is required for kind twilio")
	case p.From != "" && p.MessagingServiceSID != "":
		bad(key("from"), "set only one of from or messaging_service_sid")
	case p.From != "":
		if !e164.MatchString(p.From) && !(senderID.MatchString(p.From) && hasLetter.MatchString(p.From)) {
			bad(key("from"), "%q is neither an E.164 number (like +15005550006) nor an alphanumeric sender id of up to 11 characters", p.From)
		}
	default:
		if !serviceSID.MatchString(p.MessagingServiceSID) {
			bad(key("messaging_service_sid"), "must be letters and digits starting with MG")
		}
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s == strconv.Itoa(n)
}

// checkHTTPURL describes what is wrong with an absolute http(s) URL, "" when
// nothing is. The URL is not quoted back: it may carry credentials.
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Host == "":
		return "must include a host"
	case u.RawQuery != "" || u.Fragment != "":
		return "must not have a query or fragment"
	case strings.HasSuffix(u.Path, "/"):
		return "must not end with a slash"
	}
	return ""
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
	default:
		return "must be a redis://, rediss:// or unix:// URL"
	}
	return ""
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
	kind := ""
	if p, ok := v.Interface().(ProviderConfig); ok {
		kind = p.Kind
	}
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" || (kind != "" && !appliesTo(t.Field(i), kind)) {
			continue
		}
		attrs = append(attrs, logAttr(name, v.Field(i)))
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
