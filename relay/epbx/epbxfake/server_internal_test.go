package epbxfake

import (
	"encoding/json"
	"reflect"
	"testing"
)

// parseInvocation reads what encoding/json reads, by its fast path or by
// encoding/json itself.
func TestParseInvocation(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"H":"atendimentohub","M":"Discar","A":["11987654321",1],"I":"7"}`,
		`{"I":"0","A":[{"a":[1,"]"]},null,true],"M":"AlterarIntervaloTipo","H":"atendimentohub"}`,
		`{"H":"atendimentohub","M":"Terminar","A":[],"I":"3"}`,
		`{"H":"atendimentohub","M":"Disca\u0072","A":["olá"],"I":4}`, // an escape: encoding/json's path
		`{"H":"atendimentohub","M":"X","A":[tru],"I":"1"}`,           // invalid: refused
		`{"H":"h","M":"m","S":{"x":1},"A":[],"I":"2"}`,               // hub state: encoding/json's path
		`not json`,
	} {
		var want invocation
		wantOK := json.Unmarshal([]byte(in), &want) == nil
		got, ok := parseInvocation([]byte(in))
		if ok != wantOK {
			t.Errorf("%s: ok %v, want %v", in, ok, wantOK)
			continue
		}
		if len(want.A) == 0 { // [] and no A are the same call
			want.A = nil
		}
		if len(got.A) == 0 {
			got.A = nil
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", in, got, want)
		}
	}
}
