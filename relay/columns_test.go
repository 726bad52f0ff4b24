package relay_test

import (
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

func TestColumnWarnings(t *testing.T) {
	t.Parallel()
	wide := []relay.Column{
		{Table: "T_TTI", Name: "DS_TTI", Type: "text", Encoding: "UTF8"},
		{Table: "T_TTO", Name: "DS_TTO", Type: "text", Encoding: "UTF8"},
	}
	tests := []struct {
		name string
		cols []relay.Column
		want []string
	}{
		{"relay-created tables", wide, nil},
		{"sqlite declares varchar but holds anything", []relay.Column{
			{Table: "T_TTI", Name: "DS_TTI", Type: "TEXT", Encoding: "UTF-8"},
			{Table: "T_TTO", Name: "DS_TTO", Type: "varchar(60)", Encoding: "UTF-16le"},
		}, nil},
		{"varchar wide enough", []relay.Column{
			{Table: "T_TTI", Name: "DS_TTI", Type: "character varying(4096)", MaxChars: 4096, Encoding: "UTF8"},
			{Table: "T_TTO", Name: "DS_TTO", Type: "character varying(5000)", MaxChars: 5000, Encoding: "UTF8"},
		}, nil},
		{"narrow DS_TTO", []relay.Column{wide[0],
			{Table: "T_TTO", Name: "DS_TTO", Type: "character varying(60)", MaxChars: 60, Encoding: "UTF8"},
		}, []string{"T_TTO.DS_TTO is character varying(60): frames up to max_frame_bytes (4096) do not fit, and the database refuses those over 60 characters"}},
		{"latin1 and sql_ascii", []relay.Column{
			{Table: "T_TTI", Name: "DS_TTI", Type: "text", Encoding: "SQL_ASCII"},
			{Table: "T_TTO", Name: "DS_TTO", Type: "text", Encoding: "LATIN1"},
		}, []string{
			"T_TTI.DS_TTI is stored as SQL_ASCII, which cannot hold every character a frame may carry (UTF-8 can)",
			"T_TTO.DS_TTO is stored as LATIN1, which cannot hold every character a frame may carry (UTF-8 can)",
		}},
		{"no text column in T_TTO", wide[:1], []string{"T_TTO has no text column the relay can read or write"}},
	}
	for _, tt := range tests {
		got := relay.ColumnWarnings(tt.cols, 4096, "T_TTI", "T_TTO")
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
