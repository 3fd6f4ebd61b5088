package gateway

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	xdraw "golang.org/x/image/draw"

	"sandesh/gateway/pages/card"
	"sandesh/gateway/pages/card/check/checktest"
)

// checkPageText is the text of the element with id in a check page.
func checkPageText(body, id string) string {
	m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestCardCheckPage: the page a card's QR code leads to shows the record
// as it is now — after a dose, the new status — in the beneficiary's
// language, with the headers of a page that runs no script.
func TestCardCheckPage(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		t.Fatal(err)
	}
	v, err := r.gw.Register(ctx, Registration{Name: "லக்ஷ்மி சுந்தரம்", Mobile: "9876543230", BirthYear: 1980, Gender: "F", Language: "ta"})
	if err != nil {
		t.Fatal(err)
	}
	r.givenDoses(t, v.ID, "COVISHIELD")
	token, err := r.store.CreateCardToken(ctx, v.ID, cardValidFor)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.New()
	if err != nil {
		t.Fatal(err)
	}
	date := func(day string) string {
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		return cards.Date("ta", d)
	}
	page := r.url + "/c/" + token + "/check"

	for _, step := range []struct {
		name      string
		dose      bool // record a second dose first
		status    string
		doses     string
		lastDoses string
	}{
		{"one dose", false, card.StatusPartially, "1", date(r.gw.daysAgo(pastDoseAgo(0, 1)))},
		{"after the second dose", true, card.StatusFully, "2", date(r.today())},
	} {
		if step.dose {
			if _, err := r.gw.RecordDose(ctx, "C1", DoseInput{BeneficiaryID: v.ID, Vaccine: "COVISHIELD", Batch: "B2"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		resp, body := send(t, "GET", page, "", "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET %s = %d\n%s", step.name, page, resp.StatusCode, body)
		}
		checktest.Headers(t, step.name, resp.Header)
		if !strings.Contains(body, `<html lang="ta">`) {
			t.Errorf("%s: page not in Tamil", step.name)
		}
		now := time.Now().In(r.gw.location) // the rig's clock is the real one, not moved
		for id, want := range map[string]string{
			"name":      "லக்ஷ்மி சுந்தரம்",
			"status":    cards.Status("ta", step.status),
			"doses":     step.doses,
			"last-dose": step.lastDoses,
		} {
			if got := checkPageText(body, id); got != want {
				t.Errorf("%s: #%s = %q, want %q", step.name, id, got, want)
			}
		}
		if live := checkPageText(body, "live"); !strings.Contains(live, cards.Date("ta", now)) || !strings.Contains(live, " IST") {
			t.Errorf("%s: no live-as-of line with today in IST: %q", step.name, live)
		}
	}

	// The card's QR code leads to this page.
	resp, raw := send(t, "GET", r.url+"/c/"+token, "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("card = %d", resp.StatusCode)
	}
	img, err := png.Decode(bytes.NewReader([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if got := scanCard(t, img); got != page {
		t.Errorf("card's QR code reads %q, want %q", got, page)
	}
}

// scanCard reads the QR code of a whole card as a phone would, trying the
// picture at a few sizes: ZXing's detector misses about one pixel-perfect
// code in 200, which a camera's resampling cures.
func scanCard(t *testing.T, img image.Image) string {
	t.Helper()
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	for _, scale := range []float64{0.5, 1, 0.75} {
		im := img
		if scale != 1 {
			b := img.Bounds()
			dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)))
			xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
			im = dst
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(im)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
			return res.GetText()
		}
	}
	t.Fatal("no QR code found on the card")
	return ""
}

// TestCardCheckPageNotFound: an unknown, expired or malformed link is an
// HTML 404 page, not the API's JSON, in the browser's language when the
// page speaks it.
func TestCardCheckPageNotFound(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	v, err := r.gw.Register(ctx, Registration{Name: "Priya Sharma", Mobile: "9876543240", BirthYear: 1980, Gender: "F", Language: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := r.store.CreateCardToken(ctx, v.ID, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if status, _ := do(t, "GET", r.url+"/c/"+expired, "", "", nil); status != http.StatusNotFound {
		t.Fatalf("expired card link = %d, want 404", status)
	}
	live, err := r.store.CreateCardToken(ctx, v.ID, cardValidFor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, acceptLanguage, wantLang string
	}{
		{"unknown", strings.Repeat("0", 20), "", "en"},
		{"expired", expired, "hi-IN,hi;q=0.9", "hi"},
		{"too short", "nope", "", "en"},
		{"too long", strings.Repeat("a", 200), "ta", "ta"},
		{"upper case", strings.ToUpper(live), "", "en"},
		{"not hex", strings.Repeat("g", 20), "fr", "en"},
		{"escaped markup", "%3Cb%3E" + strings.Repeat("0", 13), "", "en"},
	} {
		header := map[string]string{}
		if tc.acceptLanguage != "" {
			header["Accept-Language"] = tc.acceptLanguage
		}
		resp, body := send(t, "GET", r.url+"/c/"+tc.token+"/check", "", "", header)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404\n%s", tc.name, resp.StatusCode, body)
			continue
		}
		checktest.Headers(t, tc.name, resp.Header)
		if !strings.Contains(body, `<html lang="`+tc.wantLang+`">`) || !strings.Contains(body, `id="error"`) {
			t.Errorf("%s: not a 404 page in %s:\n%s", tc.name, tc.wantLang, body)
		}
		if strings.Contains(body, `id="status"`) || strings.Contains(body, "Priya") {
			t.Errorf("%s: a 404 page shows a record", tc.name)
		}
	}
	if status, _ := do(t, "GET", r.url+"/c/"+live+"/check", "", "", nil); status != http.StatusOK {
		t.Errorf("live link = %d, want 200", status)
	}
}

// TestCardRedisDown: with the store unreachable the card is the API's 503
// and its check page an HTML 503 page saying to try again.
func TestCardRedisDown(t *testing.T) {
	r := newRig(t)
	token := strings.Repeat("ab", 10)
	r.rdb.Close()
	if status, body := do(t, "GET", r.url+"/c/"+token, "", "", nil); status != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Errorf("card with Redis down = %d %s, want 503 unavailable", status, body)
	}
	resp, body := send(t, "GET", r.url+"/c/"+token+"/check", "", "", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("check page with Redis down = %d, want 503\n%s", resp.StatusCode, body)
	}
	checktest.Headers(t, "Redis down", resp.Header)
	if !strings.Contains(body, `<html lang="en">`) || checkPageText(body, "error") == "" {
		t.Errorf("not an error page:\n%s", body)
	}
}
