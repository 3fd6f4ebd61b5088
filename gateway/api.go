package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

// mountAPI binds the /v1 routes. Each route names the roles it admits.
func (s *server) mountAPI(app *fiber.App) {
	v1 := app.Group("/v1")
	admin := s.allow(store.RoleAdmin)
	registry := s.allow(store.RoleRegistry)
	center := s.allow(store.RoleCenter)
	support := s.allow(store.RoleSupport)
	verifier := s.allow(store.RoleVerifier)

	v1.Post("/admin/keys", admin, s.createKey)
	v1.Get("/admin/keys", admin, s.listKeys)
	v1.Delete("/admin/keys/:id", admin, s.revokeKey)
	v1.Get("/admin/audit", admin, s.auditTrail)
	v1.Post("/admin/reminders/run", admin, s.runReminders)
	v1.Get("/admin/reminders", admin, s.reminders)

	v1.Post("/centers", registry, s.createCenter) // idempotent in its own step
	v1.Get("/centers/:id", registry, s.center)
	v1.Post("/beneficiaries", registry, s.register) // idempotent in its own step
	v1.Get("/beneficiaries/:id", registry, s.beneficiary)
	v1.Post("/appointments", registry, s.book) // idempotent in its own step
	v1.Get("/appointments/:id", registry, s.appointment)
	v1.Post("/appointments/:id/cancel", registry, s.cancel) // idempotent in its own step
	v1.Post("/appointments/:id/verify-code", center, s.verifyCode)
	v1.Post("/doses", center, s.recordDose) // idempotent in its own step

	v1.Post("/kyvs/otp", verifier, s.requestOTP)
	v1.Post("/kyvs/confirm", verifier, s.confirmOTP)

	v1.Post("/support/resend", support, s.resend) // idempotent in its own step
	v1.Get("/support/messages", support, s.supportMessages)
	v1.Get("/messages/:id", support, s.message)
}

// decodeJSON reads exactly one JSON object into v, refusing unknown fields,
// wrong types and trailing data with a 400 that says what was wrong.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return newAPIErr(http.StatusBadRequest, "bad_request", "The body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newAPIErr(http.StatusBadRequest, "bad_request", "The body must hold one JSON object and nothing after it.")
	}
	return exactFieldNames(body, v)
}

// exactFieldNames refuses "Name" for "name": encoding/json matches field
// names case-insensitively, and an integrator's typo must not pass.
func exactFieldNames(body []byte, v any) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return badJSON(err)
	}
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	for name := range fields {
		if !known[name] {
			e := newAPIErr(http.StatusBadRequest, "bad_request", fmt.Sprintf("Unknown field %q.", name))
			e.Extra = map[string]any{"field": name}
			return e
		}
	}
	return nil
}

func badJSON(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		e := newAPIErr(http.StatusBadRequest, "bad_request",
			fmt.Sprintf("Field %q must be a JSON %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())))
		e.Extra = map[string]any{"field": typeErr.Field}
		return e
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return newAPIErr(http.StatusBadRequest, "bad_request", "The body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := newAPIErr(http.StatusBadRequest, "bad_request", fmt.Sprintf("Unknown field %q.", field))
		e.Extra = map[string]any{"field": field}
		return e
	}
	return newAPIErr(http.StatusBadRequest, "bad_request", "The body could not be read as JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "string":
		return "string"
	}
	return "value of another type"
}

// created answers 201 with v.
func created(c *fiber.Ctx, v any) error { return c.Status(http.StatusCreated).JSON(v) }

func (s *server) createKey(c *fiber.Ctx) error {
	var req KeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	k, clear, err := s.gw.CreateKey(c.UserContext(), req)
	if err != nil {
		return apiError(err)
	}
	out := fiber.Map{"id": k.ID, "key": clear, "role": k.Role, "name": k.Name, "created_at": k.CreatedAt}
	if k.CenterID != "" { // present for centre keys only, as openapi.yaml says
		out["center_id"] = k.CenterID
	}
	return created(c, out)
}

// keyView is a key as GET /v1/admin/keys shows it: never the key or its
// hash; center_id null but for centre keys, revoked_at null while it works.
func keyView(k store.APIKey) fiber.Map {
	var center, revoked any
	if k.CenterID != "" {
		center = k.CenterID
	}
	if !k.RevokedAt.IsZero() {
		revoked = k.RevokedAt
	}
	return fiber.Map{"id": k.ID, "role": k.Role, "name": k.Name, "center_id": center,
		"created_at": k.CreatedAt, "revoked_at": revoked}
}

func (s *server) listKeys(c *fiber.Ctx) error {
	keys, err := s.gw.Keys(c.UserContext())
	if err != nil {
		return apiError(err)
	}
	out := make([]fiber.Map, len(keys))
	for i, k := range keys {
		out[i] = keyView(k)
	}
	return c.JSON(fiber.Map{"keys": out})
}

func (s *server) revokeKey(c *fiber.Ctx) error {
	if err := s.gw.RevokeKey(c.UserContext(), caller(c), c.Params("id")); err != nil {
		return apiError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) auditTrail(c *fiber.Ctx) error {
	limit := 100
	if q := c.Query("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			return apiError(invalid("limit", "limit must be a whole number."))
		}
		limit = n
	}
	entries, err := s.gw.AuditSearch(c.UserContext(), c.Query("key_id"), c.Query("mobile"), limit)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"entries": entries})
}

func (s *server) createCenter(c *fiber.Ctx) error {
	var req CenterInput
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	ctr, err := s.gw.CreateCenterOnce(c.UserContext(), req, idem)
	if err != nil {
		return answerOrError(c, err)
	}
	return created(c, ctr)
}

func (s *server) center(c *fiber.Ctx) error {
	ctr, err := s.gw.Center(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(ctr)
}

func (s *server) register(c *fiber.Ctx) error {
	var req Registration
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	b, err := s.gw.RegisterOnce(c.UserContext(), req, idem)
	if err != nil {
		return answerOrError(c, err)
	}
	return created(c, b)
}

func (s *server) beneficiary(c *fiber.Ctx) error {
	b, err := s.gw.Beneficiary(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(b)
}

func (s *server) book(c *fiber.Ctx) error {
	var req Booking
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	a, err := s.gw.Book(c.UserContext(), req, idem)
	if err != nil {
		return answerOrError(c, err)
	}
	return created(c, a)
}

// answerOrError sends the answer an idempotent step kept for a repeated
// key as it was first sent, or the error's own answer.
func answerOrError(c *fiber.Ctx, err error) error {
	if answered := (*store.AnsweredError)(nil); errors.As(err, &answered) {
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(answered.Replay.Status).Send(answered.Replay.Body)
	}
	return apiError(err)
}

func (s *server) appointment(c *fiber.Ctx) error {
	a, err := s.gw.Appointment(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(a)
}

func (s *server) cancel(c *fiber.Ctx) error {
	if len(bytes.TrimSpace(c.Body())) > 0 {
		var empty struct{}
		if err := decodeJSON(c, &empty); err != nil {
			return err
		}
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	a, err := s.gw.Cancel(c.UserContext(), c.Params("id"), idem)
	if err != nil {
		return answerOrError(c, err)
	}
	return c.JSON(a)
}

func (s *server) verifyCode(c *fiber.Ctx) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.gw.VerifyCode(c.UserContext(), callerCenter(c), c.Params("id"), req.Code); err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"valid": true})
}

func (s *server) recordDose(c *fiber.Ctx) error {
	var req DoseInput
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	res, err := s.gw.RecordDose(c.UserContext(), callerCenter(c), req, idem)
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		return answerOrError(c, err)
	}
	return created(c, res)
}

func (s *server) resend(c *fiber.Ctx) error {
	var req ResendRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	m, err := s.gw.ResendOnce(c.UserContext(), caller(c), req, idem)
	if err != nil {
		return answerOrError(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"message_id": m.ID})
}

func (s *server) supportMessages(c *fiber.Ctx) error {
	msgs, err := s.gw.SupportMessages(c.UserContext(), caller(c), c.Query("mobile"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"messages": msgs})
}

func (s *server) message(c *fiber.Ctx) error {
	m, err := s.gw.SupportMessage(c.UserContext(), caller(c), c.Params("id"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(m)
}

func (s *server) requestOTP(c *fiber.Ctx) error {
	var req OTPRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.gw.RequestOTP(c.UserContext(), caller(c), req)
	if err != nil {
		return apiError(err)
	}
	return c.Status(http.StatusAccepted).JSON(res)
}

func (s *server) confirmOTP(c *fiber.Ctx) error {
	var req struct {
		TxnID string `json:"txn_id"`
		OTP   string `json:"otp"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.gw.ConfirmOTP(c.UserContext(), caller(c), req.TxnID, req.OTP)
	if err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(res)
}

// runReminderWait is how long POST /v1/admin/reminders/run waits for its
// run before answering the counts so far: well inside the server's write
// timeout. The run goes on.
const runReminderWait = 20 * time.Second

func (s *server) runReminders(c *fiber.Ctx) error {
	var req struct {
		Date string `json:"date"`
	}
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), runReminderWait)
	defer cancel()
	counts, err := s.gw.StartReminders(ctx, req.Date)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(counts)
}

func (s *server) reminders(c *fiber.Ctx) error {
	counts, err := s.gw.Reminders(c.UserContext(), c.Query("date"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(counts)
}
