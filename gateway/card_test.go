package gateway

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStatusCard: CARD texts back a link that serves the citizen's card
// as a PNG for 7 days; an unknown link is a 404.
func TestStatusCard(t *testing.T) {
	r := newRig(t)
	_, b := inboundFixtures(t, r)
	if status, _ := r.inbound(t, "primary", "SM"+strings.Repeat("5", 32), b, "CARD"); status != 200 {
		t.Fatalf("webhook = %d", status)
	}
	msgs := r.outbound(t, b)
	var links []string
	for _, m := range msgs {
		if m.Template == "kw_card" {
			body, err := r.store.SendBody(context.Background(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			links = append(links, regexp.MustCompile(`http://\S+/c/[0-9a-f]{20}`).FindString(body))
		}
	}
	if len(links) != 3 || links[0] == "" || links[0] == links[1] {
		t.Fatalf("card links %v, want one per beneficiary on the mobile", links)
	}
	resp, err := http.Get(links[0])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("card = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 1200 || img.Bounds().Dy() != 630 {
		t.Fatalf("card is not a 1200×630 PNG: %v", err)
	}
	keys, _ := r.rdb.Keys(context.Background(), "sandesh:card:*").Result()
	if len(keys) != 3 {
		t.Fatalf("%d card tokens stored, want 3", len(keys))
	}
	if ttl := r.rdb.TTL(context.Background(), keys[0]).Val(); ttl < 7*24*time.Hour-time.Minute || ttl > 7*24*time.Hour {
		t.Fatalf("card link lives %v, want 7 days", ttl)
	}
	for _, bad := range []string{"/c/" + strings.Repeat("0", 20), "/c/nope", "/c/" + strings.Repeat("a", 200)} {
		status, body := do(t, "GET", r.url+bad, "", "", nil)
		if status != 404 || !strings.Contains(body, `"not_found"`) {
			t.Errorf("GET %s = %d %s, want 404", bad, status, body)
		}
	}
}
