package signalr

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ClientProtocol is the protocol version the client speaks. Servers clamp
// what they accept to 1.2–2.0; 1.5 is what the 2.x JavaScript client sends.
const ClientProtocol = "1.5"

// negotiation is the answer to GET negotiate.
type negotiation struct {
	URL                     string   `json:"Url"`
	ConnectionToken         string   `json:"ConnectionToken"`
	ConnectionID            string   `json:"ConnectionId"`
	KeepAliveTimeout        *float64 `json:"KeepAliveTimeout"` // seconds; null when keep-alive is off
	DisconnectTimeout       float64  `json:"DisconnectTimeout"`
	ConnectionTimeout       float64  `json:"ConnectionTimeout"`
	TryWebSockets           bool     `json:"TryWebSockets"`
	ProtocolVersion         string   `json:"ProtocolVersion"`
	TransportConnectTimeout float64  `json:"TransportConnectTimeout"`
	LongPollDelay           float64  `json:"LongPollDelay"`
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// frame is anything the server writes on the socket. Persistent responses
// carry C, S, T, D (1: disconnect), G, M and E; hub responses carry I with
// R, or E, H and D (error data); progress carries P. "{}" is a keep-alive.
type frame struct {
	C *string           `json:"C"`
	S json.RawMessage   `json:"S"` // 1 initialises; a hub result's S is the hub state (an object)
	T int               `json:"T"`
	D json.RawMessage   `json:"D"`
	G *string           `json:"G"`
	M []json.RawMessage `json:"M"`
	E *string           `json:"E"`
	I json.RawMessage   `json:"I"`
	R json.RawMessage   `json:"R"`
	H bool              `json:"H"`
	P *struct {
		I json.RawMessage `json:"I"`
		D json.RawMessage `json:"D"`
	} `json:"P"`
}

// id reads an invocation id the server may write as a string or a number.
func id(raw json.RawMessage) (uint64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(s)
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	return n, err == nil
}

func isKeepAlive(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "{}"
}

// query builds the parameters every request after negotiate carries
// (Client/Infrastructure/UrlBuilder.cs in the SignalR repository).
func query(connData, token string) url.Values {
	q := url.Values{}
	q.Set("transport", "webSockets")
	q.Set("clientProtocol", ClientProtocol)
	q.Set("connectionToken", token)
	q.Set("connectionData", connData)
	return q
}

// connectionData is the hub list sent on every request.
func connectionData(hub string) string {
	b, _ := json.Marshal([]map[string]string{{"name": hub}})
	return string(b)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
