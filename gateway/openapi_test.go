package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// TestMain checks every answer this package's tests get through
// http.DefaultClient (the API helpers, webhooks, operations) against the
// served openapi.yaml, as a client generated from it would read them: a
// status the operation does not document, a missing header or a body
// that does not fit its schema fails the run. Requests to paths the
// document does not have (unknown routes, on purpose) are not checked.
func TestMain(m *testing.M) {
	check, err := newSpecCheck(openapiDoc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml:", err)
		os.Exit(1)
	}
	http.DefaultClient.Transport = check
	code := m.Run()
	if os.Getenv("SPEC_COVERAGE") != "" {
		// What the tests never saw: answers to write a test for.
		fmt.Fprintf(os.Stderr, "documented answers no test got:\n  %s\n", strings.Join(check.unseen(), "\n  "))
	}
	if problems := check.report(); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "answers that openapi.yaml does not describe (%d):\n  %s\n", len(problems), strings.Join(problems, "\n  "))
		code = 1
	}
	os.Exit(code)
}

// specCheck is a RoundTripper that validates each response against the
// document and remembers what did not fit, once per operation and status.
type specCheck struct {
	router routers.Router
	spec   *openapi3.T

	mu       sync.Mutex
	problems map[string]string
	checked  int
	seen     map[string]bool // "METHOD path status" checked
}

func newSpecCheck(doc []byte) (*specCheck, error) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid document: %w", err)
	}
	spec.Servers = nil // any host: tests listen on random ports
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	return &specCheck{router: router, spec: spec, problems: map[string]string{}, seen: map[string]bool{}}, nil
}

func (s *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return resp, nil // a path the document does not have
	}
	json := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: !json, MultiError: true},
	}
	err = openapi3filter.ValidateResponse(req.Context(), in)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked++
	s.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, resp.StatusCode)] = true
	if err != nil {
		key := fmt.Sprintf("%s %s → %d", req.Method, route.Path, resp.StatusCode)
		if _, seen := s.problems[key]; !seen {
			s.problems[key] = fmt.Sprintf("%s: %.300s; body %.200s", key, strings.ReplaceAll(err.Error(), "\n", " "), body)
		}
	}
	return resp, nil
}

// unseen lists the documented answers (operation and status) that no
// request of the run got.
func (s *specCheck) unseen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for path, item := range s.spec.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if key := fmt.Sprintf("%s %s %s", method, path, status); !s.seen[key] {
					out = append(out, key)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *specCheck) report() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.problems))
	for _, p := range s.problems {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
