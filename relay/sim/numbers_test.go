package sim

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// The dialer field and the recording address reproduce the document's examples.
func TestDocumentExamples(t *testing.T) {
	t.Parallel()
	info := attachInfo("Discador", "15068", "717a4730-fb1e-4aec-9e8e04a92703fd60", "CD_LTA_ATI")
	if want := "dialer.CampaignName=Discador;dialer.ExternalID=15068;dialer.ItemID=717a4730-fb1e-4aec-9e8e04a92703fd60;dialer.Description=;dialer.AttachInfo=CD_LTA_ATI;dialer.ExternalData=;"; info != want {
		t.Errorf("attach info\n got %s\nwant %s", info, want)
	}
	// The relay reads the dialer A event back field for field.
	f := relay.ActiveCall{Login: "Agente", ID: "15068", OriginDDD: "0", Origin: "9988", DestDDD: "0", Dest: "7017", ExternalID: info}.Frame()
	parsed, err := relay.Parse(f.String())
	if err != nil || relay.ParseActiveCall(parsed).ExternalID != info {
		t.Errorf("A event %s does not read back: %v", f, err)
	}
	at := time.Date(2015, 1, 16, 16, 38, 37, 0, time.UTC)
	tests := []struct {
		dir, ext string
		call     int64
		want     string
	}{
		{`c:\records`, "7016", 105, `c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav`},
		{`c:\records\`, "7001", 1, `c:\records\2015\1\16\7001-20150116-163837-P1C01-Station.wav`},
		{`\\pabx\gravacoes`, "7001", 99, `\\pabx\gravacoes\2015\1\16\7001-20150116-163837-P1C99-Station.wav`},
		{"/var/records/", "7002", 1000, "/var/records/2015/1/16/7002-20150116-163837-P2C00-Station.wav"},
	}
	for _, tc := range tests {
		if got := recordingPath(tc.dir, tc.ext, at, tc.call); got != tc.want {
			t.Errorf("recordingPath(%q) = %s, want %s", tc.dir, got, tc.want)
		}
	}
}

func TestBrazilianNumbers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	mobile := regexp.MustCompile(`^9[6-9][0-9]{7}$`)
	landline := regexp.MustCompile(`^[2-5][0-9]{7}$`)
	var mobiles int
	for range 1000 {
		ddd, phone := brazilianNumber(rng)
		if !slices.Contains(areaCodes, ddd) {
			t.Fatalf("area code %s", ddd)
		}
		switch {
		case mobile.MatchString(phone):
			mobiles++
		case !landline.MatchString(phone):
			t.Fatalf("number %s", phone)
		}
	}
	if mobiles < 600 || mobiles > 800 {
		t.Errorf("%d mobiles in 1000 numbers, want about 700", mobiles)
	}
}
