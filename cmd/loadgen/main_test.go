package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sandesh/internal/loadgen"
)

func TestParseFlags(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, cfg loadgen.Config)
	}{
		{name: "defaults with an admin key", args: []string{"-admin-key", "k"}, check: func(t *testing.T, cfg loadgen.Config) {
			if cfg.URL != "http://127.0.0.1:3000" || cfg.Duration != time.Minute || cfg.Rate != 0 || cfg.Concurrency != 64 ||
				cfg.Mix.String() != "dose=1" || cfg.Beneficiaries != 1000 || cfg.Drain != time.Minute || cfg.Provider != "primary" ||
				strings.Join(cfg.Languages, ",") != "en" || cfg.DoubleURL != "" {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "keys from the environment", env: map[string]string{"LOADGEN_ADMIN_KEY": "a", "LOADGEN_AUTH_TOKEN": "tok"},
			args: []string{"-mix", "inbound=1"}, check: func(t *testing.T, cfg loadgen.Config) {
				if cfg.AdminKey != "a" || cfg.AuthToken != "tok" {
					t.Errorf("config %+v", cfg)
				}
			}},
		{name: "every flag", args: []string{"-url", "http://gw:3000/", "-public-url", "https://sms.example.org", "-admin-key", "k",
			"-provider", "p2", "-auth-token", "t", "-ussd-token", "u", "-duration", "5s", "-rate", "250", "-concurrency", "10",
			"-mix", "dose=5,kyvs=1,inbound=2,ussd=1,book=1", "-beneficiaries", "50", "-languages", "en, hi,mr",
			"-double", "http://double:4010", "-drain", "2s", "-json", "r.json", "-quiet"},
			check: func(t *testing.T, cfg loadgen.Config) {
				if cfg.Rate != 250 || cfg.Concurrency != 10 || cfg.Duration != 5*time.Second || cfg.Drain != 2*time.Second ||
					cfg.Mix.Weight(loadgen.KindInbound) != 2 || strings.Join(cfg.Languages, ",") != "en,hi,mr" ||
					cfg.PublicURL != "https://sms.example.org" || cfg.Provider != "p2" || cfg.DoubleURL != "http://double:4010" {
					t.Errorf("config %+v", cfg)
				}
			}},
		{name: "no key", wantErr: "an admin key or a registry key is needed"},
		{name: "bad mix", args: []string{"-admin-key", "k", "-mix", "dose=1,sms=2"}, wantErr: `unknown kind "sms"`},
		{name: "inbound without a token", args: []string{"-admin-key", "k", "-mix", "inbound=1"}, wantErr: "auth token"},
		{name: "existing keys must cover the mix", args: []string{"-registry-key", "r", "-mix", "dose=1,kyvs=1,book=1"},
			wantErr: "dose requests need a centre key"},
		{name: "too few beneficiaries for the kinds", args: []string{"-admin-key", "k", "-mix", "dose=1,kyvs=1", "-beneficiaries", "1"},
			wantErr: "1 beneficiaries cannot give each of the 2 kinds"},
		{name: "bad url", args: []string{"-admin-key", "k", "-url", "gw:3000"}, wantErr: "is not an http(s) URL"},
		{name: "zero duration", args: []string{"-admin-key", "k", "-duration", "0s"}, wantErr: "duration must be positive"},
		{name: "stray argument", args: []string{"-admin-key", "k", "now"}, wantErr: "unexpected arguments: now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, _, _, err := parseFlags(tc.args, &stderr, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

// TestRunExitCodes runs the command against a gateway that refuses the
// admin key: setup fails with the gateway's answer and exit status 1.
func TestRunExitCodes(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"unauthorized","message":"Missing or unknown API key."}`))
	}))
	defer gw.Close()
	noEnv := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", []string{"-h"}, 0, "-mix"},
		{"bad flags", []string{"-mix", "x"}, 2, "loadgen: mix"},
		{"setup refused", []string{"-url", gw.URL, "-admin-key", "wrong", "-quiet", "-beneficiaries", "3"}, 1,
			"setup: create centre LG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, noEnv)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
		})
	}
}
