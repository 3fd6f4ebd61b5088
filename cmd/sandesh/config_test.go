package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sandesh/providers/africastalking"
	"sandesh/providers/smpp"
	"sandesh/providers/twilio"
	"sandesh/reminders"
)

// envOf is an env lookup over a map, as LoadConfig takes it.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sandesh.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// apiExample is the example of API.md, section "Running".
const apiExample = `
listen: 127.0.0.1:3000
public_url: https://sms.example.org   # as providers reach us: webhook signatures and status callbacks use it
redis_url: redis://127.0.0.1:6379/0   # empty: embedded in-memory Redis (development only)
secret: ${SANDESH_SECRET}             # >= 32 bytes; keys codes, OTPs and API-key hashes; required with redis_url
admin_key: ${SANDESH_ADMIN_KEY}       # bootstrap key with the admin role
default_region: IN                    # for numbers written without a country code
timezone: Asia/Kolkata
languages: [en, hi, mr]               # first is the default
ussd_token: ""                        # when set, /webhooks/ussd requires ?token=<this>
providers:                            # failover order: first healthy one sends
  - name: primary                     # [a-z0-9-]+, appears in webhook paths
    kind: twilio                      # twilio | smpp | console
    account_sid: ACxxxxxxxx
    auth_token: ${TWILIO_AUTH_TOKEN}
    from: "+15005550006"              # or messaging_service_sid
    base_url: ""                      # empty: Twilio's public API; set to reach a test double
    tps: 0                            # optional send-rate cap, messages/second, shared by all workers
breaker:
  failures: 5                         # consecutive failures that open a provider's breaker
  open_for: 30s                       # then one trial request
`

const testSecret = "0123456789abcdef0123456789abcdef-secret"

func TestLoadConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want Config
	}{
		{
			name: "API.md example",
			yaml: apiExample,
			env: map[string]string{
				"SANDESH_SECRET":    testSecret,
				"SANDESH_ADMIN_KEY": "admin-key-1",
				"TWILIO_AUTH_TOKEN": "abc123TOKEN",
			},
			want: Config{
				Listen:        "127.0.0.1:3000",
				PublicURL:     "https://sms.example.org",
				RedisURL:      "redis://127.0.0.1:6379/0",
				Secret:        testSecret,
				AdminKey:      "admin-key-1",
				DefaultRegion: "IN",
				Timezone:      "Asia/Kolkata",
				Languages:     []string{"en", "hi", "mr"},
				Retention:     90 * 24 * time.Hour,
				LogLevel:      "info",
				Providers: []ProviderConfig{{
					Name: "primary", Kind: "twilio",
					Twilio: twilio.Settings{AccountSID: "ACxxxxxxxx", AuthToken: "abc123TOKEN", From: "+15005550006"},
				}},
				Breaker: BreakerConfig{Failures: 5, OpenFor: 30 * time.Second},
				Workers: WorkersConfig{OTP: 20, Transactional: 50, Bulk: 30}, KYVSVerifierPerHour: 1000,
			},
		},
		{
			name: "every key, ${VAR} in an int, a list and mid-value",
			yaml: `
listen: "[::1]:8080"
public_url: https://${HOST}/
redis_url: rediss://:${REDIS_PASSWORD}@redis.internal:6380/2
secret: ${SECRET}
admin_key: 'admin-${ENV}'
default_region: np
timezone: Asia/Kathmandu
languages: [${LANG1}, en]
ussd_token: ${USSD}
simulator: true
retention: 30d
log_level: DEBUG
providers:
  - name: tw-1
    kind: twilio
    account_sid: AC0123456789abcdef
    auth_token: ${TOKEN}
    messaging_service_sid: MG0123456789
    base_url: http://127.0.0.1:9999/
    tps: ${TPS}
  - name: console
    kind: console
  - name: smsc
    kind: smpp
    addr: smsc.example.net:2775
    system_id: sandesh
    password: pw123456
    system_type: VMA
    source_addr: MOHFW
    source_ton: 5
    source_npi: 0
    binds: 2
    window: 20
    enquire_link: 15s
    dlt_entity_id: "1101234567890"
    dlt_entity_tag: 5120
    dlt_template_tag: 5121
  - name: africa
    kind: africastalking
    username: sandbox
    api_key: atsk-0123
    from: CoWIN
    enqueue: true
    base_url: https://api.sandbox.africastalking.com/
    webhook_token: at-callback-token-0123456789
dlt_templates:
  appointment_slip: {hi: 1707161234567890124, ta: "${DLT_TA}"}
breaker:
  failures: 3
  open_for: 1m30s
workers:
  otp: 1
  transactional: 2
  bulk: 3
`,
			env: map[string]string{
				"HOST": "sms.example.org", "REDIS_PASSWORD": "pw", "SECRET": testSecret, "ENV": "prod",
				"LANG1": "mr", "USSD": "ussd1", "TOKEN": "tok1", "TPS": "10", "DLT_TA": "1707161234567890125",
			},
			want: Config{
				Listen:        "[::1]:8080",
				PublicURL:     "https://sms.example.org",
				RedisURL:      "rediss://:pw@redis.internal:6380/2",
				Secret:        testSecret,
				AdminKey:      "admin-prod",
				DefaultRegion: "NP",
				Timezone:      "Asia/Kathmandu",
				Languages:     []string{"mr", "en"},
				USSDToken:     "ussd1",
				Simulator:     true,
				Retention:     30 * 24 * time.Hour,
				LogLevel:      "debug",
				Providers: []ProviderConfig{
					{Name: "tw-1", Kind: "twilio", TPS: 10, Twilio: twilio.Settings{AccountSID: "AC0123456789abcdef", AuthToken: "tok1",
						MessagingServiceSID: "MG0123456789", BaseURL: "http://127.0.0.1:9999"}},
					{Name: "console", Kind: "console"},
					{Name: "smsc", Kind: "smpp", SMPP: smpp.Settings{Addr: "smsc.example.net:2775", SystemID: "sandesh", Password: "pw123456",
						SystemType: "VMA", SourceAddr: "MOHFW", SourceTON: 5, Binds: 2, Window: 20, EnquireLink: 15 * time.Second,
						DLTEntityID: "1101234567890", DLTEntityTag: 5120, DLTTemplateTag: 5121}},
					{Name: "africa", Kind: "africastalking", AT: africastalking.Settings{Username: "sandbox", APIKey: "atsk-0123", From: "CoWIN",
						Enqueue: true, BaseURL: "https://api.sandbox.africastalking.com", WebhookToken: "at-callback-token-0123456789"}},
				},
				DLTTemplates: map[string]map[string]string{"appointment_slip": {"hi": "1707161234567890124", "ta": "1707161234567890125"}},
				Breaker:      BreakerConfig{Failures: 3, OpenFor: 90 * time.Second},
				Workers:      WorkersConfig{OTP: 1, Transactional: 2, Bulk: 3}, KYVSVerifierPerHour: 1000,
			},
		},
		{
			name: "empty keys keep their defaults, embedded without secret",
			yaml: "# only comments and empty keys\nbreaker:\ntimezone:\nproviders:\nworkers:\n  otp: 5\n",
			want: func() Config {
				c := defaultConfig()
				c.Listen = DefaultListen
				c.Workers.OTP = 5
				c.Providers = []ProviderConfig{{Name: "console", Kind: "console"}}
				c.Embedded = true
				return c
			}(),
		},
		{
			name: "empty file",
			yaml: "",
			want: func() Config {
				c := defaultConfig()
				c.Listen = DefaultListen
				c.Providers = []ProviderConfig{{Name: "console", Kind: "console"}}
				c.Embedded = true
				return c
			}(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadConfig(writeConfig(t, tc.yaml), envOf(tc.env))
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if got.Location == nil || got.Location.String() != tc.want.Timezone {
				t.Errorf("Location = %v, want %s", got.Location, tc.want.Timezone)
			}
			got.Location = nil
			tc.want.Embedded = tc.want.RedisURL == ""
			if r := tc.want.Reminders; r == (RemindersConfig{}) || r == defaultConfig().Reminders {
				tc.want.Reminders = defaultReminders
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("LoadConfig =\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

// defaultReminders are the reminder keys by default, parsed.
var defaultReminders = RemindersConfig{Enabled: true, Hours: "09:00-21:00", At: "10:00",
	Window: reminders.Window{Start: 9 * 60, End: 21 * 60}, Start: 10 * 60}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := LoadConfig("", envOf(nil))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := Config{
		Listen:              "127.0.0.1:3000",
		DefaultRegion:       "IN",
		Timezone:            "Asia/Kolkata",
		Languages:           []string{"en", "hi", "mr"},
		Retention:           2160 * time.Hour,
		LogLevel:            "info",
		Providers:           []ProviderConfig{{Name: "console", Kind: "console"}},
		Breaker:             BreakerConfig{Failures: 5, OpenFor: 30 * time.Second},
		Workers:             WorkersConfig{OTP: 20, Transactional: 50, Bulk: 30},
		Reminders:           defaultReminders,
		KYVSVerifierPerHour: 1000,
		Embedded:            true,
	}
	if got.Location == nil || got.Location.String() != "Asia/Kolkata" {
		t.Errorf("Location = %v", got.Location)
	}
	got.Location = nil
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("LoadConfig(\"\") =\n%+v\nwant\n%+v", *got, want)
	}
	if got.Level() != slog.LevelInfo {
		t.Errorf("Level = %v", got.Level())
	}
	if _, err := LoadConfig("", nil); err != nil {
		t.Errorf("LoadConfig with nil env: %v", err)
	}
}

// An expanded value is one plain string, whatever it holds: it can neither add
// keys nor change the type of its own.
func TestExpansionKeepsStructure(t *testing.T) {
	for _, value := range []string{
		"a: b # c",
		"ends with #",
		`double " and single ' quotes`,
		"first line\nlisten: 0.0.0.0:1",
		"\n\nleading newlines and trailing spaces  ",
		"- a list item",
		"[a, b]",
		"{a: b}",
		"&anchor",
		"*alias",
		"!!int 5",
		"%directive",
		"---",
		"null",
		"~",
		"true",
		"0123",
		"1e5",
		"${NESTED}", // not expanded again
		"",
	} {
		for _, form := range []string{"${V}", `"${V}"`, "'${V}'"} {
			t.Run(form+" "+value, func(t *testing.T) {
				text := "admin_key: " + form + "   # comment\nuss" + "d_token: pre-${V}-post\nlanguages: [\"${V}\", ${V}]\ntimezone: UTC\n"
				c := defaultConfig()
				err := decodeYAML("test.yaml", []byte(text), envOf(map[string]string{"V": value, "NESTED": "no"}), &c)
				if err != nil {
					t.Fatalf("decodeYAML: %v", err)
				}
				if c.AdminKey != value {
					t.Errorf("admin_key = %q, want %q", c.AdminKey, value)
				}
				if want := "pre-" + value + "-post"; c.USSDToken != want {
					t.Errorf("ussd_token = %q, want %q", c.USSDToken, want)
				}
				if want := []string{value, value}; !reflect.DeepEqual(c.Languages, want) {
					t.Errorf("languages = %q, want %q", c.Languages, want)
				}
				if c.Timezone != "UTC" || c.Listen != "" {
					t.Errorf("structure changed: timezone %q, listen %q", c.Timezone, c.Listen)
				}
			})
		}
	}
}

func TestExpansionUndefinedIsEmpty(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, "redis_url: redis://localhost:6379\nsecret: ${NOT_SET}\n"), envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "config: secret: required when redis_url is set") {
		t.Fatalf("err = %v, want secret required", err)
	}
	// Only the braced form is expanded.
	c, err := LoadConfig(writeConfig(t, "admin_key: $V and $$ and ${ and ${1X}\n"), envOf(map[string]string{"V": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminKey != "$V and $$ and ${ and ${1X}" {
		t.Errorf("admin_key = %q", c.AdminKey)
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       []string
	}{
		{"unknown top-level key", "listen: 127.0.0.1:1\nlisten_addr: x\n", nil,
			[]string{"sandesh.yaml:2: listen_addr: unknown key"}},
		{"unknown nested key", "breaker:\n  failure: 3\n", nil,
			[]string{":2: breaker.failure: unknown key"}},
		{"unknown provider key", "providers:\n  - name: a\n    kind: console\n  - name: b\n    acount_sid: AC1\n", nil,
			[]string{":5: providers[1].acount_sid: unknown key"}},
		{"another kind's key", "providers:\n  - name: a\n    kind: smpp\n    account_sid: AC1\n  - name: b\n    kind: ${K}\n    binds: 2\n", map[string]string{"K": "twilio"},
			[]string{":4: providers[0].account_sid: unknown key for kind smpp", ":7: providers[1].binds: unknown key for kind twilio"}},
		{"console has no keys of its own", "providers:\n  - {name: a, kind: console, from: '+15005550006'}\n", nil,
			[]string{":2: providers[0].from: unknown key for kind console"}},
		{"a bad value in a kind's section", "providers:\n  - {name: a, kind: smpp, binds: many}\n", nil,
			[]string{":2: providers[0].binds: \"many\" is not an integer"}},
		{"dlt_templates not a mapping", "dlt_templates: [1]\n", nil, []string{":1: dlt_templates: want a mapping of keys"}},
		{"dlt_templates id twice", "dlt_templates:\n  kyvs_otp:\n    hi: 1\n    hi: 2\n", nil, []string{":4: dlt_templates.kyvs_otp.hi: defined twice (first at line 3)"}},
		{"unknown keys all reported", "a: 1\nb: 2\n", nil,
			[]string{":1: a: unknown key", ":2: b: unknown key"}},
		{"keys are not expanded", "${K}: x\n", map[string]string{"K": "listen"},
			[]string{":1: ${K}: unknown key"}},
		{"reserved marker", "listen: \uE000\n", nil,
			[]string{"reserved for ${VAR} expansion"}},
		{"duplicate key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", nil,
			[]string{":2: listen: defined twice (first at line 1)"}},
		{"bad int", "breaker:\n  failures: abc\n", nil,
			[]string{":2: breaker.failures: \"abc\" is not an integer"}},
		{"bad expanded int", "workers:\n  bulk: ${N}\n", map[string]string{"N": "many"},
			[]string{"workers.bulk: \"many\" is not an integer"}},
		{"bad bool", "simulator: maybe\n", nil,
			[]string{":1: simulator: \"maybe\" is not true or false"}},
		{"bad duration", "retention: 90\n", nil,
			[]string{":1: retention: \"90\" is not a duration"}},
		{"list for a scalar", "listen: [a, b]\n", nil,
			[]string{":1: listen: want a single value, not a list"}},
		{"scalar for a list", "languages: en\n", nil,
			[]string{":1: languages: want a list"}},
		{"scalar for a mapping", "breaker: 5\n", nil,
			[]string{":1: breaker: want a mapping of keys"}},
		{"not a mapping", "- a\n- b\n", nil,
			[]string{":1: the document must be a mapping of keys"}},
		{"syntax error", "listen: [a\n", nil,
			[]string{"config: ", "sandesh.yaml: yaml: line"}},
		{"validation after load", "breaker:\n  failures: 0\n", nil,
			[]string{"config: breaker.failures: must be at least 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tc.yaml), envOf(tc.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), envOf(nil)); err == nil {
		t.Error("missing file: no error")
	}
}

func TestEnvOverrides(t *testing.T) {
	const file = `
listen: 127.0.0.1:3000
secret: ` + testSecret + `
languages: [en]
simulator: false
breaker:
  failures: 5
  open_for: 30s
`
	for _, tc := range []struct {
		env   string
		value string
		check func(c *Config) bool
	}{
		{"SANDESH_LISTEN", "0.0.0.0:8080", func(c *Config) bool { return c.Listen == "0.0.0.0:8080" }},
		{"SANDESH_PUBLIC_URL", "https://x.example", func(c *Config) bool { return c.PublicURL == "https://x.example" }},
		{"SANDESH_REDIS_URL", "redis://r:6379/1", func(c *Config) bool { return c.RedisURL == "redis://r:6379/1" && !c.Embedded }},
		{"SANDESH_SECRET", testSecret, func(c *Config) bool { return c.Secret == testSecret }},
		{"SANDESH_ADMIN_KEY", "k", func(c *Config) bool { return c.AdminKey == "k" }},
		{"SANDESH_DEFAULT_REGION", "US", func(c *Config) bool { return c.DefaultRegion == "US" }},
		{"SANDESH_TIMEZONE", "UTC", func(c *Config) bool { return c.Timezone == "UTC" && c.Location == time.UTC }},
		{"SANDESH_LANGUAGES", " hi, mr,,en ", func(c *Config) bool { return reflect.DeepEqual(c.Languages, []string{"hi", "mr", "en"}) }},
		{"SANDESH_USSD_TOKEN", "t", func(c *Config) bool { return c.USSDToken == "t" }},
		{"SANDESH_SIMULATOR", "true", func(c *Config) bool { return c.Simulator }},
		{"SANDESH_RETENTION", "7d", func(c *Config) bool { return c.Retention == 7*24*time.Hour }},
		{"SANDESH_LOG_LEVEL", "warn", func(c *Config) bool { return c.LogLevel == "warn" && c.Level() == slog.LevelWarn }},
		{"SANDESH_BREAKER_FAILURES", "9", func(c *Config) bool { return c.Breaker.Failures == 9 }},
		{"SANDESH_BREAKER_OPEN_FOR", "2m", func(c *Config) bool { return c.Breaker.OpenFor == 2*time.Minute }},
		{"SANDESH_WORKERS_OTP", "4", func(c *Config) bool { return c.Workers.OTP == 4 }},
		{"SANDESH_WORKERS_TRANSACTIONAL", "5", func(c *Config) bool { return c.Workers.Transactional == 5 }},
		{"SANDESH_WORKERS_BULK", "6", func(c *Config) bool { return c.Workers.Bulk == 6 }},
		{"SANDESH_KYVS_VERIFIER_PER_HOUR", "50", func(c *Config) bool { return c.KYVSVerifierPerHour == 50 }},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, err := LoadConfig(writeConfig(t, file), envOf(map[string]string{tc.env: tc.value}))
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if !tc.check(c) {
				t.Errorf("%s=%q not applied: %+v", tc.env, tc.value, c)
			}
		})
	}
}

// Every scalar key gets its variable from the struct tags; the table above
// must cover them all.
func TestEnvVarNames(t *testing.T) {
	var got []string
	for _, ev := range envVars(&Config{}) {
		got = append(got, ev.Name)
	}
	want := []string{
		"SANDESH_LISTEN", "SANDESH_METRICS_LISTEN", "SANDESH_PUBLIC_URL", "SANDESH_REDIS_URL", "SANDESH_SECRET",
		"SANDESH_PREVIOUS_SECRETS", "SANDESH_ADMIN_KEY", "SANDESH_DEFAULT_REGION", "SANDESH_TIMEZONE", "SANDESH_LANGUAGES",
		"SANDESH_USSD_TOKEN", "SANDESH_SIMULATOR", "SANDESH_RETENTION", "SANDESH_LOG_LEVEL",
		"SANDESH_BREAKER_FAILURES", "SANDESH_BREAKER_OPEN_FOR",
		"SANDESH_WORKERS_OTP", "SANDESH_WORKERS_TRANSACTIONAL", "SANDESH_WORKERS_BULK",
		"SANDESH_REMINDERS_ENABLED", "SANDESH_REMINDERS_HOURS", "SANDESH_REMINDERS_AT", "SANDESH_REMINDERS_PRECAUTION",
		"SANDESH_KYVS_VERIFIER_PER_HOUR",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env vars = %q\nwant %q", got, want)
	}
}

func TestEnvBadValues(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"SANDESH_BREAKER_FAILURES", "abc"},
		{"SANDESH_WORKERS_BULK", "1.5"},
		{"SANDESH_WORKERS_OTP", ""},
		{"SANDESH_SIMULATOR", "maybe"},
		{"SANDESH_RETENTION", "soon"},
		{"SANDESH_BREAKER_OPEN_FOR", "30"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			_, err := LoadConfig("", envOf(map[string]string{tc.env: tc.value}))
			if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.env+": ") {
				t.Errorf("err = %v, want one naming %s", err, tc.env)
			}
		})
	}
	// All bad variables are reported at once.
	_, err := LoadConfig("", envOf(map[string]string{"SANDESH_WORKERS_OTP": "x", "SANDESH_WORKERS_BULK": "y"}))
	if err == nil || !strings.Contains(err.Error(), "SANDESH_WORKERS_OTP") || !strings.Contains(err.Error(), "SANDESH_WORKERS_BULK") {
		t.Errorf("err = %v, want both variables", err)
	}
}

func TestPort(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"PORT honoured", "", map[string]string{"PORT": "5000"}, "0.0.0.0:5000"},
		{"PORT honoured with a file without listen", "timezone: UTC\n", map[string]string{"PORT": "5000"}, "0.0.0.0:5000"},
		{"PORT ignored when listen in file", "listen: 127.0.0.1:4000\n", map[string]string{"PORT": "5000"}, "127.0.0.1:4000"},
		{"PORT ignored when SANDESH_LISTEN", "", map[string]string{"PORT": "5000", "SANDESH_LISTEN": "127.0.0.1:4001"}, "127.0.0.1:4001"},
		{"empty PORT ignored", "", map[string]string{"PORT": ""}, "127.0.0.1:3000"},
		{"no PORT", "", nil, "127.0.0.1:3000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeConfig(t, tc.yaml)
			}
			c, err := LoadConfig(path, envOf(tc.env))
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if c.Listen != tc.want {
				t.Errorf("listen = %q, want %q", c.Listen, tc.want)
			}
		})
	}
	_, err := LoadConfig("", envOf(map[string]string{"PORT": "http"}))
	if err == nil || !strings.Contains(err.Error(), "config: PORT:") {
		t.Errorf("bad PORT: err = %v", err)
	}
}

// Secret values in the fixtures below: no error may contain any of them.
const (
	secretMarker   = "SECRETMARKER-0123456789-0123456789"
	previousMarker = "PREVIOUSSECRETMARKER-0123456789-0123456789"
	adminMarker    = "ADMINKEYMARKER"
	ussdMarker     = "USSDTOKENMARKER"
	tokenMarker    = "AUTHTOKENMARKER"
	redisMarker    = "REDISPASSMARKER"
)

func validConfig() Config {
	c := defaultConfig()
	c.Listen = "127.0.0.1:3000"
	c.PublicURL = "https://sms.example.org"
	c.RedisURL = "redis://:" + redisMarker + "@127.0.0.1:6379/0"
	c.Secret = secretMarker
	c.PreviousSecrets = []string{previousMarker}
	c.AdminKey = adminMarker
	c.USSDToken = ussdMarker
	c.Providers = []ProviderConfig{
		{Name: "primary", Kind: "twilio", Twilio: twilio.Settings{AccountSID: "AC0123abc", AuthToken: tokenMarker, From: "+15005550006"}},
		{Name: "console", Kind: "console"},
	}
	return c
}

// secretsIn lists the secret values of c, which no error may contain.
func secretsIn(c Config) []string {
	s := []string{secretMarker, previousMarker, adminMarker, ussdMarker, tokenMarker, redisMarker, c.Secret, c.AdminKey, c.USSDToken}
	s = append(s, c.PreviousSecrets...)
	for _, p := range c.Providers {
		s = append(s, p.Twilio.AuthToken, p.AT.APIKey, p.AT.WebhookToken, p.SMPP.Password)
	}
	return s
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   string // "" when valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"embedded without secret", func(c *Config) { c.RedisURL, c.Secret, c.PreviousSecrets = "", "", nil }, ""},
		{"alphanumeric sender id", func(c *Config) { c.Providers[0].Twilio.From = "SANDESH" }, ""},
		{"sender id with space", func(c *Config) { c.Providers[0].Twilio.From = "MoHFW 1" }, ""},
		{"messaging service", func(c *Config) {
			c.Providers[0].Twilio.From, c.Providers[0].Twilio.MessagingServiceSID = "", "MG0123abc"
		}, ""},
		{"unix redis", func(c *Config) { c.RedisURL = "unix:///run/redis.sock" }, ""},
		{"rediss", func(c *Config) { c.RedisURL = "rediss://user:pw@r.example:6380" }, ""},
		{"sentinel", func(c *Config) {
			c.RedisURL = "redis://:pw@sentinel-1:26379/0?master_name=sandesh&addr=sentinel-2:26379&password=master-pw"
		}, ""},
		{"redis options", func(c *Config) { c.RedisURL = "redis://r.example:6379/0?dial_timeout=3s&pool_size=20" }, ""},
		{"ipv6 listen", func(c *Config) { c.Listen = "[::]:3000" }, ""},
		{"any host listen", func(c *Config) { c.Listen = ":3000" }, ""},
		{"metrics_listen", func(c *Config) { c.MetricsListen = "127.0.0.1:9090" }, ""},
		{"no previous secrets", func(c *Config) { c.PreviousSecrets = nil }, ""},
		{"short previous secret", func(c *Config) { c.PreviousSecrets = []string{previousMarker, "short"} }, "previous_secrets: item 2 must be at least 32 bytes"},
		{"previous secret is the current", func(c *Config) { c.PreviousSecrets = []string{c.Secret} }, "previous_secrets: item 1 is the current secret"},
		{"previous secrets without secret", func(c *Config) { c.RedisURL, c.Secret = "", "" }, "previous_secrets: needs secret"},

		{"listen without port", func(c *Config) { c.Listen = "localhost" }, "config: listen: "},
		{"listen named port", func(c *Config) { c.Listen = "127.0.0.1:http" }, "config: listen: "},
		{"listen port too big", func(c *Config) { c.Listen = "127.0.0.1:70000" }, "config: listen: "},
		{"metrics_listen without port", func(c *Config) { c.MetricsListen = "localhost" }, "config: metrics_listen: "},
		{"metrics_listen same as listen", func(c *Config) { c.MetricsListen = c.Listen }, "config: metrics_listen: must differ from listen"},
		{"public_url not absolute", func(c *Config) { c.PublicURL = "sms.example.org" }, "config: public_url: "},
		{"public_url ftp", func(c *Config) { c.PublicURL = "ftp://sms.example.org" }, "config: public_url: "},
		{"public_url query", func(c *Config) { c.PublicURL = "https://sms.example.org/?a=1" }, "config: public_url: "},
		{"public_url two slashes", func(c *Config) { c.PublicURL = "https://sms.example.org//" }, "config: public_url: must not end with a slash"},
		{"public_url required by twilio", func(c *Config) { c.PublicURL = "" }, "config: public_url: required when a twilio provider is configured"},
		{"redis_url scheme", func(c *Config) { c.RedisURL = "http://:" + redisMarker + "@h:6379" }, "config: redis_url: "},
		{"redis_url no host", func(c *Config) { c.RedisURL = "redis://" }, "config: redis_url: "},
		{"redis_url bad db", func(c *Config) { c.RedisURL = "redis://:" + redisMarker + "@h:6379/x" }, "config: redis_url: "},
		{"redis_url unparsable", func(c *Config) { c.RedisURL = "redis://:" + redisMarker + "%zz@h:6379" }, "config: redis_url: "},
		{"unix without path", func(c *Config) { c.RedisURL = "unix://" }, "config: redis_url: "},
		{"redis_url unknown option", func(c *Config) { c.RedisURL = "redis://:" + redisMarker + "@h:6379/0?colour=blue" }, "config: redis_url: "},
		{"sentinel unknown option", func(c *Config) { c.RedisURL = "redis://:" + redisMarker + "@h:26379/0?master_name=m&colour=blue" }, "config: redis_url: "},
		{"cluster", func(c *Config) {
			c.RedisURL = "redis+cluster://:" + redisMarker + "@n1:6379?addr=n2:6379&addr=n3:6379"
		}, ""},
		{"cluster over tls", func(c *Config) { c.RedisURL = "rediss+cluster://u:" + redisMarker + "@n1:6379" }, ""},
		{"cluster unknown option", func(c *Config) { c.RedisURL = "redis+cluster://:" + redisMarker + "@n1:6379?colour=blue" }, "config: redis_url: is not a valid cluster URL"},
		{"cluster without seed", func(c *Config) { c.RedisURL = "redis+cluster://" }, "config: redis_url: must include a seed node"},
		{"secret required with redis", func(c *Config) { c.Secret = "" }, "config: secret: required"},
		{"kyvs_verifier_per_hour zero", func(c *Config) { c.KYVSVerifierPerHour = 0 }, "config: kyvs_verifier_per_hour: "},
		{"secret short", func(c *Config) { c.Secret = "SHORTSECRET" }, "config: secret: must be at least 32 bytes when redis_url is set"},
		{"secret short embedded", func(c *Config) { c.RedisURL, c.Secret = "", "SHORTSECRET" }, "config: secret: must be at least 32 bytes"},
		{"secret long enough", func(c *Config) { c.Secret = strings.Repeat("k", 32) }, ""},
		{"default_region empty", func(c *Config) { c.DefaultRegion = "" }, "config: default_region: required"},
		{"default_region unknown", func(c *Config) { c.DefaultRegion = "XX" }, "config: default_region: "},
		{"timezone empty", func(c *Config) { c.Timezone = "" }, "config: timezone: required"},
		{"timezone unknown", func(c *Config) { c.Timezone = "Mars/Olympus" }, "config: timezone: "},
		{"languages empty", func(c *Config) { c.Languages = nil }, "config: languages: "},
		{"reminders.hours", func(c *Config) { c.Reminders.Hours = "21:00-09:00" }, "config: reminders.hours: "},
		{"reminders.at", func(c *Config) { c.Reminders.At = "10" }, "config: reminders.at: "},
		{"reminders.at outside the hours", func(c *Config) { c.Reminders.At = "22:00" }, "config: reminders.at: 22:00 is outside reminders.hours 09:00-21:00"},
		{"reminders elsewhere", func(c *Config) { c.Reminders.Hours, c.Reminders.At = "08:00-20:00", "08:00" }, ""},
		{"dlt_templates", func(c *Config) {
			c.DLTTemplates = map[string]map[string]string{"appointment_slip": {"hi": "1707161234567890124", "ta": "1707161234567890125"}}
		}, ""},
		{"dlt_templates unknown message", func(c *Config) { c.DLTTemplates = map[string]map[string]string{"slip": {"hi": "1707161234567890124"}} },
			"config: dlt_templates: slip: no such message"},
		{"dlt_templates bad id", func(c *Config) {
			c.DLTTemplates = map[string]map[string]string{"appointment_slip": {"hi": "17071612"}}
		}, "config: dlt_templates: appointment_slip.hi: \"17071612\" is not a DLT template id (19 digits)"},
		{"dlt_templates unknown language", func(c *Config) {
			c.DLTTemplates = map[string]map[string]string{"kyvs_otp": {"xx": "1707161234567890124"}}
		}, "config: dlt_templates: kyvs_otp.xx: no such language"},
		{"all twelve", func(c *Config) {
			c.Languages = []string{"ta", "en", "hi", "mr", "bn", "te", "gu", "kn", "ml", "or", "pa", "as"}
		}, ""},
		{"language unknown", func(c *Config) { c.Languages = []string{"en", "fr"} }, "config: languages[1]: \"fr\" is not one of"},
		{"language twice", func(c *Config) { c.Languages = []string{"en", "hi", "en"} }, "config: languages[2]: \"en\" is listed twice"},
		{"log_level", func(c *Config) { c.LogLevel = "verbose" }, "config: log_level: "},
		{"retention short", func(c *Config) { c.Retention = 23 * time.Hour }, "config: retention: must be at least 24h"},
		{"breaker.failures", func(c *Config) { c.Breaker.Failures = 0 }, "config: breaker.failures: "},
		{"breaker.open_for", func(c *Config) { c.Breaker.OpenFor = 0 }, "config: breaker.open_for: "},
		{"workers.otp", func(c *Config) { c.Workers.OTP = 0 }, "config: workers.otp: "},
		{"workers.transactional", func(c *Config) { c.Workers.Transactional = -1 }, "config: workers.transactional: "},
		{"workers.bulk", func(c *Config) { c.Workers.Bulk = 0 }, "config: workers.bulk: "},
		{"provider name required", func(c *Config) { c.Providers[1].Name = "" }, "config: providers[1].name: required"},
		{"provider name charset", func(c *Config) { c.Providers[0].Name = "Primary_1" }, "config: providers[0].name: "},
		{"provider name unique", func(c *Config) { c.Providers[1].Name = "primary" }, "config: providers[1].name: \"primary\" is used by another provider"},
		{"africastalking", func(c *Config) { c.Providers[1] = atProvider() }, ""},
		{"africastalking username", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.Username = "" }, "config: providers[1].username: required"},
		{"africastalking username charset", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.Username = "a b" }, "config: providers[1].username: "},
		{"africastalking api_key", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.APIKey = "" }, "config: providers[1].api_key: required"},
		{"africastalking from", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.From = "SANDESHINDIA" }, "config: providers[1].from: "},
		{"africastalking short token", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.WebhookToken = "short" }, "config: providers[1].webhook_token: "},
		{"smpp", func(c *Config) { c.Providers[1] = smppProvider() }, ""},
		{"smpp addr", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.Addr = "smsc.example.net" }, "config: providers[1].addr: "},
		{"smpp system_id", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.SystemID = "" }, "config: providers[1].system_id: "},
		{"smpp system_id long", func(c *Config) {
			c.Providers[1] = smppProvider()
			c.Providers[1].SMPP.SystemID = strings.Repeat("s", 16)
		}, "config: providers[1].system_id: "},
		{"smpp password long", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.Password = "123456789" }, "config: providers[1].password: "},
		{"smpp source_addr", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.SourceAddr = "" }, "config: providers[1].source_addr: "},
		{"smpp source_ton", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.SourceTON = 9 }, "config: providers[1].source_ton: "},
		{"smpp binds", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.Binds = 33 }, "config: providers[1].binds: "},
		{"smpp window", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.Window = 256 }, "config: providers[1].window: "},
		{"smpp tag", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.DLTEntityTag = 0x10000 }, "config: providers[1].dlt_entity_tag: "},
		{"smpp enquire_link", func(c *Config) { c.Providers[1] = smppProvider(); c.Providers[1].SMPP.EnquireLink = time.Millisecond }, "config: providers[1].enquire_link: "},
		{"kind unknown", func(c *Config) { c.Providers[1].Kind = "plivo" }, "config: providers[1].kind: "},
		{"kind empty", func(c *Config) { c.Providers[1].Kind = "" }, "config: providers[1].kind: required"},
		{"tps negative", func(c *Config) { c.Providers[0].TPS = -1 }, "config: providers[0].tps: "},
		{"account_sid required", func(c *Config) { c.Providers[0].Twilio.AccountSID = "" }, "config: providers[0].account_sid: required for kind twilio"},
		{"account_sid prefix", func(c *Config) { c.Providers[0].Twilio.AccountSID = "XY0123" }, "config: providers[0].account_sid: "},
		{"account_sid charset", func(c *Config) { c.Providers[0].Twilio.AccountSID = "AC-0123" }, "config: providers[0].account_sid: "},
		{"auth_token required", func(c *Config) { c.Providers[0].Twilio.AuthToken = "" }, "config: providers[0].auth_token: required for kind twilio"},
		{"auth_token charset", func(c *Config) { c.Providers[0].Twilio.AuthToken = tokenMarker + "-!x" }, "config: providers[0].auth_token: must be letters and digits"},
		{"from and service", func(c *Config) { c.Providers[0].Twilio.MessagingServiceSID = "MG1" }, "config: providers[0].from: set only one"},
		{"neither from nor service", func(c *Config) { c.Providers[0].Twilio.From = "" }, "config: providers[0].from: one of from or messaging_service_sid"},
		{"from without plus", func(c *Config) { c.Providers[0].Twilio.From = "15005550006" }, "config: providers[0].from: "},
		{"from sender id too long", func(c *Config) { c.Providers[0].Twilio.From = "SANDESHINDIA" }, "config: providers[0].from: "},
		{"from punctuation", func(c *Config) { c.Providers[0].Twilio.From = "+1-500-555" }, "config: providers[0].from: "},
		{"messaging_service_sid", func(c *Config) { c.Providers[0].Twilio.From, c.Providers[0].Twilio.MessagingServiceSID = "", "XX12" }, "config: providers[0].messaging_service_sid: "},
		{"base_url", func(c *Config) { c.Providers[0].Twilio.BaseURL = "localhost:9999" }, "config: providers[0].base_url: "},
		{"base_url scheme", func(c *Config) { c.Providers[1] = atProvider(); c.Providers[1].AT.BaseURL = "ftp://h" }, "config: providers[1].base_url: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d problems reported, want 1: %v", n, err)
			}
			for _, s := range secretsIn(c) {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains the secret %q", err, s)
				}
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Listen = "x"
	c.Secret = "short"
	c.Workers.Bulk = 0
	c.Providers[0].Twilio.AuthToken = ""
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"listen", "secret", "workers.bulk", "providers[0].auth_token"} {
		if !strings.Contains(err.Error(), "config: "+key+": ") {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}

func TestValidateNormalises(t *testing.T) {
	c := validConfig()
	c.PublicURL = "https://sms.example.org/base/"
	c.Providers[0].Twilio.BaseURL = "http://127.0.0.1:9/"
	c.DefaultRegion = "in"
	c.LogLevel = "ERROR"
	c.Timezone = "UTC"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://sms.example.org/base" || c.Providers[0].Twilio.BaseURL != "http://127.0.0.1:9" ||
		c.DefaultRegion != "IN" || c.LogLevel != "error" || c.Location != time.UTC || c.Embedded {
		t.Errorf("not normalised: %+v", c)
	}
}

// No error of loading, from the file, the environment or validation, names a secret.
func TestSecretsNeverInErrors(t *testing.T) {
	env := map[string]string{"S": secretMarker, "T": tokenMarker + "!", "A": adminMarker}
	for _, yaml := range []string{
		"secret: [" + secretMarker + "]\n",
		"secret: {x: " + secretMarker + "}\n",
		"admin_key: " + adminMarker + "\nadmin_key: " + adminMarker + "\n",
		"ussd_token: " + ussdMarker + "\nussd_tokn: " + ussdMarker + "\n",
		"redis_url: redis://:" + redisMarker + "%zz@h\nsecret: ${S}x\n",
		"redis_url: https://:" + redisMarker + "@h\nsecret: short-" + secretMarker[:5] + "\n",
		"public_url: https://h\nproviders:\n  - {name: a, kind: twilio, account_sid: AC1, auth_token: '${T}', from: '+15005550006'}\n",
		"providers:\n  - {name: a, kind: twilio, account_sid: AC1, auth_token: " + tokenMarker + "}\nbreaker: {failures: x}\n",
		"secret: ${S}\nlisten: ${S}\n", // a secret in a non-secret key is that key's value: fine to show, but not here
	} {
		_, err := LoadConfig(writeConfig(t, yaml), envOf(env))
		if err == nil {
			t.Errorf("%q: no error", yaml)
			continue
		}
		msg := err.Error()
		if strings.HasPrefix(yaml, "secret: ${S}\nlisten") {
			msg = strings.Replace(msg, `"`+secretMarker+`"`, "", 1) // the listen value itself
		}
		for _, s := range []string{secretMarker, tokenMarker, adminMarker, ussdMarker, redisMarker, "short-"} {
			if strings.Contains(msg, s) {
				t.Errorf("%q: error %q contains secret %q", yaml, err, s)
			}
		}
	}
}

func TestRedacted(t *testing.T) {
	c := validConfig()
	c.Providers = append(c.Providers, smppProvider(), atProvider())
	c.Providers[3].AT.APIKey = ""
	r := c.Redacted()
	if r.Secret != "[redacted]" || !slices.Equal(r.PreviousSecrets, []string{"[redacted]"}) || r.AdminKey != "[redacted]" || r.USSDToken != "[redacted]" ||
		r.Providers[0].Twilio.AuthToken != "[redacted]" || r.Providers[2].SMPP.Password != "[redacted]" ||
		r.Providers[3].AT.WebhookToken != "[redacted]" || r.Providers[3].AT.APIKey != "" {
		t.Errorf("not redacted: %+v", r)
	}
	if r.Providers[2].SMPP.SystemID != "sandesh" || r.Providers[3].AT.Username != "sandesh-ke" {
		t.Errorf("more than the secrets redacted: %+v", r.Providers)
	}
	if r.RedisURL != "redis://:xxxxx@127.0.0.1:6379/0" {
		t.Errorf("redis_url = %q", r.RedisURL)
	}
	if c.Secret != secretMarker || c.Providers[0].Twilio.AuthToken != tokenMarker {
		t.Error("Redacted changed the original")
	}
	sentinel := validConfig()
	sentinel.RedisURL = "redis://:sentinel-pw@s1:26379/0?master_name=m&password=master-pw"
	if got := sentinel.Redacted().RedisURL; strings.Contains(got, "sentinel-pw") || strings.Contains(got, "master-pw") || !strings.Contains(got, "master_name=m") {
		t.Errorf("sentinel redis_url redacted to %q", got)
	}
	cluster := validConfig()
	cluster.RedisURL = "rediss+cluster://user:cluster-pw@n1:6379?addr=n2:6379&password=node-pw"
	if got := cluster.Redacted().RedisURL; strings.Contains(got, "cluster-pw") || strings.Contains(got, "node-pw") || !strings.Contains(got, "addr=n2") {
		t.Errorf("cluster redis_url redacted to %q", got)
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", &c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, s := range secretsIn(c) {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("log contains secret %q: %s", s, out)
		}
	}
	for _, want := range []string{`"listen":"127.0.0.1:3000"`, `"open_for":30000000000`, `"name":"primary"`, `"languages":["en","hi","mr"]`, "config.providers.0.kind=twilio", "config.secret=[redacted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"2160h", 2160 * time.Hour, true},
		{"90d", 90 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"90", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"-1d", 0, false},
		{"1d-1h", 0, false},
		{"1dx", 0, false},
		{"99999999999d", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func smppProvider() ProviderConfig {
	return ProviderConfig{Name: "operator", Kind: KindSMPP, SMPP: smpp.Settings{Addr: "smsc.example.net:2775", SystemID: "sandesh",
		Password: "pw123456", SourceAddr: "CoWIN", SourceTON: 5, Binds: 2, Window: 10, DLTEntityTag: 0x1400}}
}

func atProvider() ProviderConfig {
	return ProviderConfig{Name: "africa", Kind: KindAT, AT: africastalking.Settings{Username: "sandesh-ke", APIKey: "atsk_" + tokenMarker,
		From: "CoWIN", WebhookToken: "at-callback-token-0123456789"}}
}

func TestOpenDoors(t *testing.T) {
	at := func(name, token string) ProviderConfig {
		return ProviderConfig{Name: name, Kind: KindAT, AT: africastalking.Settings{WebhookToken: token}}
	}
	tw := ProviderConfig{Name: "primary", Kind: KindTwilio}
	web, worker := role{web: true}, role{worker: true}
	for _, tc := range []struct {
		name string
		cfg  Config
		r    role
		want []string // a piece of each warning, in order
	}{
		{"all set", Config{USSDToken: "u", Providers: []ProviderConfig{at("africa", "t"), tw}}, web, nil},
		{"no ussd_token", Config{Providers: []ProviderConfig{tw}}, web, []string{"ussd_token is empty"}},
		{"an AT provider without a token", Config{USSDToken: "u", Providers: []ProviderConfig{at("africa", ""), at("backup", "t")}}, web,
			[]string{"provider africa: webhook_token is empty"}},
		{"both", Config{Providers: []ProviderConfig{at("africa", "")}}, web, []string{"ussd_token", "provider africa"}},
		{"a worker serves no webhooks", Config{Providers: []ProviderConfig{at("africa", "")}, Simulator: true}, worker, nil},
		{"simulator beside real providers", Config{USSDToken: "u", Simulator: true, Providers: []ProviderConfig{tw}}, web,
			[]string{"simulator: true beside real providers"}},
		{"console: the simulator is open, even embedded", Config{Embedded: true}, web, []string{"serves /simulator to anyone"}},
		{"console with Redis", Config{USSDToken: "u"}, web, []string{"serves /simulator to anyone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := openDoors(&tc.cfg, tc.r)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestLogShowsEachProviderItsKeys: the start-up log shows a provider the
// keys of its kind only — no SMPP binds on a Twilio provider.
func TestLogShowsEachProviderItsKeys(t *testing.T) {
	c := validConfig()
	c.Providers = append(c.Providers, ProviderConfig{Name: "smsc", Kind: KindSMPP, SMPP: smpp.Settings{Addr: "smsc:2775", SystemID: "sandesh", SourceAddr: "MOHFW"}},
		ProviderConfig{Name: "africa", Kind: KindAT, AT: africastalking.Settings{Username: "sandbox", APIKey: "atkey-0123456789"}})
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	var line struct {
		Config struct {
			Providers map[string]map[string]any `json:"providers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		has, hasNot []string
	}{
		{[]string{"name", "kind", "account_sid", "auth_token", "from", "tps"}, []string{"binds", "system_id", "username", "api_key", "window"}},
		{[]string{"name", "kind", "tps"}, []string{"account_sid", "from", "binds", "username"}},
		{[]string{"addr", "system_id", "binds", "window", "source_addr", "tps"}, []string{"account_sid", "auth_token", "from", "username"}},
		{[]string{"username", "api_key", "from", "webhook_token"}, []string{"account_sid", "binds", "system_id"}},
	} {
		p := line.Config.Providers[strconv.Itoa(i)]
		for _, k := range tc.has {
			if _, ok := p[k]; !ok {
				t.Errorf("provider %d (%v) is logged without %s", i, p["kind"], k)
			}
		}
		for _, k := range tc.hasNot {
			if _, ok := p[k]; ok {
				t.Errorf("provider %d (%v) is logged with %s, not a key of its kind", i, p["kind"], k)
			}
		}
	}
	if strings.Contains(buf.String(), "atkey-0123456789") || strings.Contains(buf.String(), tokenMarker) {
		t.Error("a provider's secret is in the log")
	}
}

func TestLongLinks(t *testing.T) {
	for _, tc := range []struct {
		public, listen string
		warn           bool
	}{
		{"https://sms.example.org", "", false},
		{"https://vaccination.example.gov", "", true}, // 31
		{"", "127.0.0.1:3000", false},
	} {
		got := longLinks(&Config{PublicURL: tc.public, Listen: tc.listen})
		if (got != "") != tc.warn || (tc.warn && !strings.Contains(got, "public_url is 31 characters")) {
			t.Errorf("longLinks(%q) = %q, want a warning: %v", tc.public, got, tc.warn)
		}
	}
}

func TestReminderRate(t *testing.T) {
	for _, tc := range []struct {
		tps  []int
		want float64
	}{
		{[]int{100, 50}, 150},
		{[]int{100, 0}, 0}, // one provider without a cap: no pace
		{nil, 0},
	} {
		var ps []ProviderConfig
		for _, n := range tc.tps {
			ps = append(ps, ProviderConfig{TPS: n})
		}
		if got := reminderRate(ps); got != tc.want {
			t.Errorf("reminderRate(%v) = %v, want %v", tc.tps, got, tc.want)
		}
	}
}
