package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAmbiguousFramingIsRefused sends requests as raw bytes, the way a
// smuggling attempt arrives, and expects 400 with the connection closed
// for every one whose length could be read two ways.
func TestAmbiguousFramingIsRefused(t *testing.T) {
	r := newRig(t)
	host := strings.TrimPrefix(r.url, "http://")
	const body = `{"role":"support","name":"x"}`
	chunked := "1d\r\n" + body + "\r\n0\r\n\r\n"
	for _, tc := range []struct {
		name    string
		headers string // after the request line and Host
		body    string
		refused bool
	}{
		{"one Content-Length", "Content-Length: 29\r\n", body, false},
		{"chunked", "Transfer-Encoding: chunked\r\n", chunked, false},
		{"chunked in capitals", "Transfer-Encoding: Chunked\r\n", chunked, false},
		{"the same Content-Length twice", "Content-Length: 29\r\nContent-Length: 29\r\n", body, false},
		{"Content-Length and Transfer-Encoding", "Content-Length: 29\r\nTransfer-Encoding: chunked\r\n", chunked, true},
		{"Transfer-Encoding and Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", chunked, true},
		{"two Content-Lengths", "Content-Length: 29\r\nContent-Length: 4\r\n", body, true},
		{"xchunked", "Transfer-Encoding: xchunked\r\n", chunked, true},
		{"two codings", "Transfer-Encoding: gzip, chunked\r\n", chunked, true},
		{"Transfer-Encoding twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunked, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.rdb.DBSize(context.Background()).Val()
			conn, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			req := "POST /v1/admin/keys HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + adminKey +
				"\r\nContent-Type: application/json\r\n" + tc.headers + "\r\n" + tc.body
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !tc.refused {
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("a plainly framed request: %d %s, want 201", resp.StatusCode, got)
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(got), `"bad_request"`) {
				t.Fatalf("answered %d %s, want 400 bad_request", resp.StatusCode, got)
			}
			// The connection is closed: nothing more is read from it as a request.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("connection still open after the refusal: %v", err)
			}
			if after := r.rdb.DBSize(context.Background()).Val(); after != before {
				t.Fatalf("a refused request changed Redis: %d keys before, %d after", before, after)
			}
		})
	}
}
