package httpbridge

import (
	"net/http"
	"strings"
)

// param is a documented parameter of a route.
type param struct{ name, in, desc string }

// routeDocs are the parameters and answers of each route, written by hand
// (openapi_test checks them against the routes registered).
var routeDocs = map[string]struct {
	params    []param
	responses []string // status codes beside the errors every route may give
	body      bool
}{
	"POST /v1/commands": {params: []param{{"wait", "query", "wait up to this long for the replies (5s); 200 with them, else 202"}},
		responses: []string{"200", "202", "400", "413", "415", "422", "503"}, body: true},
	"GET /v1/commands/{id}": {params: []param{{"id", "path", "inbox id, whichever source queued it"}, {"wait", "query", "wait up to this long for the command to be done or dead"}},
		responses: []string{"200", "400", "404", "503"}},
	"GET /v1/events": {params: []param{{"after", "query", "journal id to read after (the head when absent)"}, {"agent", "query", "logins, comma-separated"},
		{"kind", "query", "command, rejected, reply, event, note, or pop (the screen pops: notes whose what is pop)"}, {"wait", "query", "long-poll: wait up to this long for an entry"}, {"limit", "query", "at most this many (1000)"}},
		responses: []string{"200", "400"}},
	"GET /v1/events/stream": {params: []param{{"after", "query", "journal id to resume after (or the Last-Event-ID header)"}, {"agent", "query", "logins"},
		{"kind", "query", "kinds, as GET /v1/events (pop: the screen pops, SSE event note)"}, {"Last-Event-ID", "header", "the last id received"}}, responses: []string{"200", "400"}},
	"GET /v1/status":                  {responses: []string{"200", "503"}},
	"GET /v1/agents":                  {responses: []string{"200", "503"}},
	"GET /v1/dead":                    {params: []param{{"after", "query", "dead letter id"}, {"limit", "query", "at most this many (100)"}}, responses: []string{"200"}},
	"POST /v1/dead/{id}/retry":        {params: []param{{"id", "path", "dead letter id"}}, responses: []string{"200", "404"}},
	"DELETE /v1/dead/{id}":            {params: []param{{"id", "path", "dead letter id"}}, responses: []string{"200", "404"}},
	"POST /v1/dead/retry":             {params: []param{{"reason", "query", "retry those whose reason contains this"}, {"agent", "query", "and of this agent"}, {"all", "query", "true: every one"}}, responses: []string{"200", "400"}},
	"GET /v1/webhooks":                {responses: []string{"200"}},
	"POST /v1/webhooks/{name}/enable": {params: []param{{"name", "path", "webhook name"}}, responses: []string{"200", "404"}},
	"POST /v1/webhooks/{name}/replay": {params: []param{{"name", "path", "webhook name"}, {"from", "query", "deliver again every entry after this journal id"}}, responses: []string{"200", "400", "404"}},
	"GET /v1/openapi.json":            {responses: []string{"200"}},
	"GET /healthz":                    {responses: []string{"200"}},
	"GET /readyz":                     {responses: []string{"200", "503"}},
	"GET /metrics":                    {responses: []string{"200"}},
}

// openAPI builds the OpenAPI 3 document of the routes.
func (b *Bridge) openAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range b.routes() {
		key := rt.method + " " + rt.pattern
		d := routeDocs[key]
		op := map[string]any{"summary": rt.summary, "operationId": strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(strings.ToLower(rt.method) + rt.pattern)}
		var params []any
		for _, p := range d.params {
			params = append(params, map[string]any{"name": p.name, "in": p.in, "description": p.desc, "required": p.in == "path", "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		resp := map[string]any{}
		for _, code := range d.responses {
			resp[code] = map[string]any{"description": http.StatusText(atoi(code))}
		}
		if rt.group != "" {
			resp["401"] = map[string]any{"description": "no valid bearer token", "content": errorContent}
			resp["403"] = map[string]any{"description": "the token may not use the " + rt.group + " routes", "content": errorContent}
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["tags"] = []any{rt.group}
		}
		op["responses"] = resp
		if d.body {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/plain":       map[string]any{"schema": map[string]any{"type": "string", "example": "<jose><S>$"}},
				"application/json": map[string]any{"schema": map[string]any{"oneOf": []any{commandSchema, map[string]any{"type": "array", "items": commandSchema}}}},
			}}
		}
		item, _ := paths[rt.pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	// Mounted handlers with a summary: a pattern without a method is
	// documented as GET (what a browser or a CRM's URL does).
	for _, mt := range b.cfg.Mounts {
		if mt.Summary == "" {
			continue
		}
		method, path := mountRoute(mt.Pattern)
		op := map[string]any{"summary": mt.Summary, "operationId": strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(strings.ToLower(method) + path),
			"responses": map[string]any{"200": map[string]any{"description": "OK"}}}
		if mt.Group != "" {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["tags"] = []any{mt.Group}
			op["responses"].(map[string]any)["401"] = map[string]any{"description": "no valid bearer token", "content": errorContent}
			op["responses"].(map[string]any)["403"] = map[string]any{"description": "the token may not use the " + mt.Group + " routes", "content": errorContent}
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "ctirelay HTTP bridge", "version": "1"},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": errorSchema}},
	}
}

var (
	commandSchema = map[string]any{"type": "object", "properties": map[string]any{
		"frame": map[string]any{"type": "string"}, "agent": map[string]any{"type": "string"}, "verb": map[string]any{"type": "string"},
		"args": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
	errorSchema = map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"type": "object", "properties": map[string]any{
		"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}}}
	errorContent = map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
)

// mountRoute splits a ServeMux pattern into its method (GET when none)
// and path; a host in the pattern is not documented.
func mountRoute(pattern string) (method, path string) {
	method, path = "GET", pattern
	if m, p, ok := strings.Cut(pattern, " "); ok {
		method, path = m, strings.TrimSpace(p)
	}
	if i := strings.Index(path, "/"); i > 0 {
		path = path[i:]
	}
	return method, path
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func (b *Bridge) openapi(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, b.openAPI())
}
