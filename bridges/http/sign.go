package httpbridge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks a Standard Webhooks secret: whsec_ + base64 of the key.
const secretPrefix = "whsec_"

// parseSecret decodes a whsec_ secret into its key.
func parseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New("a secret is whsec_ followed by base64 (e.g. from 'openssl rand -base64 32')")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("the secret after whsec_ is not base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, errors.New("the secret's key must be 24 to 64 bytes")
	}
	return key, nil
}

// sign returns the webhook-signature header: one v1,<base64 HMAC-SHA256 of
// id.timestamp.body> per key, space-separated, so that during a secret
// rotation receivers holding either secret accept it.
func sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	var sb strings.Builder
	unix := strconv.FormatInt(ts.Unix(), 10)
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(unix))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return sb.String()
}
