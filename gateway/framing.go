package gateway

import (
	"bytes"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// errFraming answers a request whose length is told two ways.
var errFraming = newAPIErr(http.StatusBadRequest, "bad_request",
	"The request's length is ambiguous: send either one Content-Length or Transfer-Encoding: chunked.")

// strictFraming refuses, and closes the connection of, a request whose
// body length a proxy in front could read differently from us: both
// Content-Length and Transfer-Encoding, two different Content-Lengths,
// or a Transfer-Encoding other than chunked ("xchunked", "gzip,
// chunked"). fasthttp takes any Transfer-Encoding but identity as chunked
// and the last Content-Length, where another parser may take the first:
// the rest of the connection would then be read as a different request
// (request smuggling). It reads the request's headers as they came.
func strictFraming(c *fiber.Ctx) error {
	if framingAmbiguous(c.Request().Header.RawHeaders()) {
		c.Context().SetConnectionClose()
		return errFraming
	}
	return c.Next()
}

// framingAmbiguous reads raw header lines ("Name: value\r\n"…).
func framingAmbiguous(raw []byte) bool {
	var lengths [][]byte
	var codings int
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		name, value, ok := bytes.Cut(bytes.TrimRight(line, "\r"), []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")):
			if !bytes.Equal(bytes.TrimRight(name, " \t"), name) {
				return true // "Content-Length :" is read as another header by some
			}
			lengths = append(lengths, value)
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")):
			codings++
			if !bytes.EqualFold(value, []byte("chunked")) || !bytes.Equal(bytes.TrimRight(name, " \t"), name) {
				return true
			}
		}
	}
	for _, l := range lengths[min(1, len(lengths)):] {
		if !bytes.Equal(l, lengths[0]) {
			return true
		}
	}
	return codings > 1 || codings == 1 && len(lengths) > 0
}
