package webpage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"
)

// assets are what every page is built on: base.css, the start of each
// page's stylesheet, and layout.html, the frame of each page's HTML.
//
//go:embed assets
var assets embed.FS

// ParseTemplate parses the layout every page shares with the page's own
// template file of fsys. The layout defines "page", the whole document,
// and the pieces "langs" (the language switch), "error" and "api-key"
// (the fields of a sign-in form); the page's file defines what "page"
// calls: "title" (the text of <title>), "who" (the signed-in user in the
// header bar), "main" (the content) and, to give <main> a class,
// "main-class". The data is the page's view: .Lang, .CSS, .Langs, .Error,
// .CSRF and .T, a method giving the page string of a key.
func ParseTemplate(fsys fs.FS, file string) (*template.Template, error) {
	t, err := template.ParseFS(assets, "assets/layout.html")
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	return t.ParseFS(fsys, file)
}

// Stylesheet is the stylesheet of a page served at path: base.css, which
// every page shares, then the shared files of this package's assets the
// page names (record.css: a vaccination record's status and facts), then
// the page's own file of fsys, which comes last so that its rules win.
// They are one asset, so that a page still links a single stylesheet.
func Stylesheet(fsys fs.FS, file, path string, shared ...string) (Asset, error) {
	var parts [][]byte
	for _, name := range append([]string{"base.css"}, shared...) {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return Asset{}, fmt.Errorf("shared stylesheet %s: %w", name, err)
		}
		parts = append(parts, b)
	}
	own, err := fs.ReadFile(fsys, file)
	if err != nil {
		return Asset{}, err
	}
	return NewAsset(path, "text/css; charset=utf-8", slices.Concat(append(parts, own)...)), nil
}

// Render answers with the template name of t executed on data, as HTML
// with status. Nothing is sent when the template fails: the error goes to
// Guard, which answers it.
func Render(c *fiber.Ctx, t *template.Template, name string, status int, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(buf.Bytes())
}

// SeeOther is a handler that sends the browser to path: what a GET of a
// form's step (a refresh or a bookmark) answers, since the step cannot be
// shown again without its form.
func SeeOther(path string) fiber.Handler {
	return func(c *fiber.Ctx) error { return c.Redirect(path, http.StatusSeeOther) }
}
