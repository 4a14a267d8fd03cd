package redact

import (
	"encoding/base64"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New("", "tok3n")
	r.AddBasic("bot", "p@ss w0rd")
	basic := base64.StdEncoding.EncodeToString([]byte("bot:p@ss w0rd"))
	tests := []struct {
		in, want string
	}{
		{in: "nothing secret here", want: "nothing secret here"},
		{in: "token tok3n refused", want: "token *** refused"},
		{in: "password p@ss w0rd refused", want: "password *** refused"},
		{in: "url https://bot:p%40ss+w0rd@git.example.com/repo.git", want: "url https://***@git.example.com/repo.git"},
		{in: "url https://someone:other@git.example.com/x", want: "url https://***@git.example.com/x"},
		{in: "Authorization: Basic " + basic, want: "Authorization: Basic ***"},
		{in: "encoded " + base64.StdEncoding.EncodeToString([]byte("tok3n")), want: "encoded ***"},
		{in: "ssh://git@github.com/org/repo", want: "ssh://***@github.com/org/repo"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var nilRedactor *Redactor
	if got := nilRedactor.String("https://a:b@h/"); got != "https://***@h/" {
		t.Errorf("nil Redactor: %q", got)
	}
}
