package demo

import (
	"html/template"
	"net/http"
)

type scopeItem struct {
	Name, Description string
}

type pageData struct {
	Error   string
	Request string
	Scopes  []scopeItem
}

// consentTmpl is the consent page: plain, accessible HTML with no
// external assets.
var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Error}}Authorization error{{else}}Authorize Atom{{end}} · Atom Demo</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;background:#fff;line-height:1.5}
main{border:1px solid #767676;border-radius:8px;padding:1.5rem}
h1{font-size:1.4rem;margin-top:0}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{font:inherit;padding:.6rem 1.4rem;border-radius:6px;border:2px solid #1a4fa0;cursor:pointer}
#approve{background:#1a4fa0;color:#fff}
#deny{background:#fff;color:#1a4fa0}
button:focus-visible{outline:3px solid #e8a400;outline-offset:2px}
.error{color:#a00000;font-weight:600}
</style>
</head>
<body>
<main>
{{if .Error}}
<h1>Authorization error</h1>
<p class="error" role="alert">{{.Error}}</p>
{{else}}
<h1>Authorize Atom</h1>
<p><strong>Atom</strong> wants to connect to your <strong>Atom Demo</strong> account.</p>
{{if .Scopes}}<h2>It will be able to:</h2>
<ul>{{range .Scopes}}<li><code>{{.Name}}</code>: {{.Description}}</li>{{end}}</ul>
{{else}}<p>It asks for no particular permissions.</p>{{end}}
<form method="post" action="/demo/oauth/authorize">
<input type="hidden" name="request" value="{{.Request}}">
<div class="actions">
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</div>
</form>
<p><small>This is Atom's built-in demo provider. No real account is involved.</small></p>
{{end}}
</main>
</body>
</html>
`))

func (d *Demo) page(w http.ResponseWriter, status int, data pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	consentTmpl.Execute(w, data)
}
