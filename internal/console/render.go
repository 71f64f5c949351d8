package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"strait/internal/model"
)

// formErrors maps a form field's name to what is wrong with it, in words that
// say what to do; "" is an error of the whole form.
type formErrors map[string]string

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the navigation entry to highlight
	Account string
	KeyID   string
	CSRF    string
	Flash   string
	Errors  formErrors
	Form    url.Values
	Data    any
}

// Value is a submitted form value, to fill a form shown again after an error.
func (v view) Value(name string) string { return v.Form.Get(name) }

// Checked reports whether a submitted checkbox or option had value.
func (v view) Checked(name, value string) bool {
	for _, x := range v.Form[name] {
		if x == value {
			return true
		}
	}
	return false
}

// parsePages parses one template set per page: the layout and the page.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page. It renders into a buffer first, so a template error
// answers 500 instead of half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, v view) {
	if s != nil {
		v.Account, v.KeyID, v.CSRF = s.Account, s.KeyID, s.CSRF
		if v.Flash == "" {
			v.Flash = c.sessions.takeFlash(s)
		}
	}
	if v.Errors == nil {
		v.Errors = formErrors{}
	}
	if v.Form == nil {
		v.Form = url.Values{}
	}
	var buf bytes.Buffer
	t := c.pages[page]
	if t == nil {
		http.Error(w, "no console page "+page, http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console page failed", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "The console could not show this page; the server log has the details.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound answers 404 with a page that says what is missing.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	c.render(w, r, http.StatusNotFound, "message", s, view{Title: "Not found", Data: msg})
}

// failed answers an error that is not about one form: a domain error (the
// resource is missing, in the wrong state, …) with its message, anything else as
// an internal failure.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var de *model.Error
	if !errors.As(err, &de) {
		c.log.Error("console request failed", "path", r.URL.Path, "err", err)
		c.render(w, r, http.StatusInternalServerError, "message", s, view{Title: "Something went wrong", Data: "The server could not do this; its log has the details. Try again in a moment."})
		return
	}
	status := http.StatusBadRequest
	if errors.Is(err, model.ErrNotFound) {
		status = http.StatusNotFound
	}
	c.render(w, r, status, "message", s, view{Title: "Not done", Data: de.Msg})
}

// redirect ends an action: a message for the next page, then that page.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, s *session, to, flash string) {
	if flash != "" {
		c.sessions.setFlash(s, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formPage shows a page with a form: with status, errors next to their fields
// and the values to fill in.
type formPage func(w http.ResponseWriter, r *http.Request, s *session, status int, errs formErrors, form url.Values)

// refused shows a form page again after an operation refused what the form
// sent: the error next to the field it is about (see fieldErrors), the values
// sent filled in. An error that is not a domain error fails the page.
func (c *Console) refused(w http.ResponseWriter, r *http.Request, s *session, show formPage, err error, fields []string, fallback string) {
	fe, err := fieldErrors(err, r.PostForm, fields, fallback)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	show(w, r, s, http.StatusBadRequest, fe, r.PostForm)
}

// fieldErrors places an operation's error next to the field it is about: the
// field whose submitted value the message names (longest value first), else the
// first of fallback, else the whole form. Errors that are not domain errors are
// returned for c.failed.
func fieldErrors(err error, form url.Values, fields []string, fallback string) (formErrors, error) {
	var de *model.Error
	if !errors.As(err, &de) {
		return nil, err
	}
	type cand struct{ field, value string }
	var cands []cand
	for _, f := range fields {
		for _, v := range form[f] {
			for _, part := range splitList(v) {
				if len(part) >= 2 {
					cands = append(cands, cand{f, part})
				}
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].value) > len(cands[j].value) })
	for _, cd := range cands {
		if strings.Contains(de.Msg, cd.value) || (de.ID != "" && de.ID == cd.value) {
			return formErrors{cd.field: de.Msg}, nil
		}
	}
	return formErrors{fallback: de.Msg}, nil
}

// splitList splits a list typed into one field: commas, spaces or lines.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"path": c.path,
		"ago":  ago,
		"size": humanBytes,
		"join": strings.Join,
		"stateClass": func(state string) string {
			switch strings.ToLower(state) {
			case "available", "active", "running", "healthy", "verified":
				return "ok"
			case "pending", "pendingacceptance", "creating", "initial", "provisioning", "pendingverification", "draining", "deleting", "shutting-down":
				return "wait"
			case "failed", "rejected", "unhealthy", "expired", "unavailable":
				return "bad"
			}
			return "neutral"
		},
		"busy": func(state string) bool {
			switch strings.ToLower(state) {
			case "pending", "creating", "provisioning", "deleting", "initial", "shutting-down":
				return true
			}
			return false
		},
		"tagName": func(t model.Tags) string { return t["Name"] },
		"add":     func(a, b int) int { return a + b },
	}
}

// ago is a short age: "12s", "5m", "3h", "2d".
func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
