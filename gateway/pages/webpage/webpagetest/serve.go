package webpagetest

import (
	"net"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Serve starts an app with the page's routes on a free port of the
// loopback, for a real browser, and returns its URL ("http://127.0.0.1:
// port"); the app stops when the test ends. Start the browser after it
// (browsertest.New): cleanups run last first, so the browser is stopped
// before the app waits for its connections to close.
func Serve(t testing.TB, mount func(fiber.Router)) string {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	mount(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}
