package registriesconf

import (
	"strings"
	"testing"
)

func TestParseCredentialRef(t *testing.T) {
	tests := []struct {
		in      string
		want    CredentialRef
		wantErr string
	}{
		{in: "pullsecret:argocd/dockerhub", want: CredentialRef{Kind: PullSecret, Namespace: "argocd", Name: "dockerhub"}},
		{in: "secret:argocd/creds#token", want: CredentialRef{Kind: SecretField, Namespace: "argocd", Name: "creds", Field: "token"}},
		{in: "secret:argocd/creds#.dockerconfigjson", want: CredentialRef{Kind: SecretField, Namespace: "argocd", Name: "creds", Field: ".dockerconfigjson"}},
		{in: "env:REGISTRY_CREDS", want: CredentialRef{Kind: Env, Var: "REGISTRY_CREDS"}},
		{in: "ext:/app/scripts/ecr-login.sh", want: CredentialRef{Kind: Ext, Path: "/app/scripts/ecr-login.sh"}},
		{in: "ext:/app/scripts/../bin/login", want: CredentialRef{Kind: Ext, Path: "/app/bin/login"}},
		{in: "dockerhub", wantErr: "is not <form>:<value>"},
		{in: "file:/x", wantErr: `unknown form "file"`},
		{in: "pullsecret:dockerhub", wantErr: "want <namespace>/<name>"},
		{in: "pullsecret:argocd/", wantErr: "want <namespace>/<name>"},
		{in: "pullsecret:Argo_CD/x", wantErr: `namespace "Argo_CD"`},
		{in: "pullsecret:a/b/c", wantErr: "want <namespace>/<name>"},
		{in: "secret:argocd/creds", wantErr: "want secret:<namespace>/<name>#<field>"},
		{in: "secret:argocd/creds#", wantErr: "want secret:<namespace>/<name>#<field>"},
		{in: "secret:argocd/creds#a b", wantErr: `field "a b"`},
		{in: "env:", wantErr: "want env:<VARIABLE>"},
		{in: "env:A=B", wantErr: "want env:<VARIABLE>"},
		{in: "ext:scripts/login.sh", wantErr: "must be absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCredentialRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if again, err := ParseCredentialRef(got.String()); err != nil || again != got {
				t.Errorf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}
