package httpbridge

import (
	"encoding/json"
	"net/http"
)

// apiError is the body of every error answer.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of the API (beside the queue's ERR codes on 422).
const (
	codeBadRequest   = "bad_request"
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "not_found"
	codeTooLarge     = "too_large"
	codeContentType  = "unsupported_media_type"
	codeUnavailable  = "unavailable"
	codeBusy         = "busy"
	codeInternal     = "internal"
	codeMethod       = "method_not_allowed"
)

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // frames are <…>
	_ = enc.Encode(v)
}
