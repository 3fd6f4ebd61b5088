package gateway

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// apiErr is the JSON error body every 4xx/5xx carries.
type apiErr struct {
	Status  int            `json:"-"`
	Code    string         `json:"error"`
	Message string         `json:"message"`
	Extra   map[string]any `json:"-"`
}

func (e *apiErr) Error() string { return e.Code + ": " + e.Message }

func newAPIErr(status int, code, msg string) *apiErr {
	return &apiErr{Status: status, Code: code, Message: msg}
}

// domainErrors is the one mapping from flow errors to HTTP answers.
var domainErrors = []struct {
	err    error
	status int
	code   string
	msg    string
}{
	{ErrNotFound, http.StatusNotFound, "not_found", "No such record."},
	{ErrBadInput, http.StatusBadRequest, "bad_request", "The request is not valid."},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "The message store is unavailable; try again shortly."},
}

// apiError turns any error from a flow into the answer to send.
func apiError(err error) *apiErr {
	var ae *apiErr
	if errors.As(err, &ae) {
		return ae
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return newAPIErr(d.status, d.code, d.msg)
		}
	}
	return newAPIErr(http.StatusInternalServerError, "internal", "Something went wrong on our side.")
}

// writeError sends e as JSON.
func writeError(c *fiber.Ctx, e *apiErr) error {
	body := fiber.Map{"error": e.Code, "message": e.Message}
	for k, v := range e.Extra {
		body[k] = v
	}
	return c.Status(e.Status).JSON(body)
}

// fiberErrors maps the framework's own errors (routing, body limit) onto
// our JSON shape.
func fiberError(fe *fiber.Error) *apiErr {
	switch fe.Code {
	case http.StatusNotFound:
		return newAPIErr(fe.Code, "not_found", "No such route.")
	case http.StatusMethodNotAllowed:
		return newAPIErr(fe.Code, "method_not_allowed", "This route does not take that method.")
	case http.StatusRequestEntityTooLarge:
		return newAPIErr(fe.Code, "payload_too_large", "The request body is larger than 64 KiB.")
	case http.StatusBadRequest:
		return newAPIErr(fe.Code, "bad_request", "The request could not be read.")
	case http.StatusUnsupportedMediaType:
		return newAPIErr(fe.Code, "unsupported_media_type", "Send the body as the route expects.")
	}
	if fe.Code >= 500 {
		return newAPIErr(fe.Code, "internal", "Something went wrong on our side.")
	}
	return newAPIErr(fe.Code, "error", fe.Message)
}
