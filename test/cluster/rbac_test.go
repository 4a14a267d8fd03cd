package cluster

import (
	"strings"
	"testing"
)

func TestClusterRoleOf(t *testing.T) {
	const clusterRole = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: switchyard
rules:
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get]
`
	const role = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: switchyard
  namespace: switchyard-system
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
`
	for _, tc := range []struct {
		name, manifest, wantErr string
	}{
		{name: "the ClusterRole after a Role", manifest: role + clusterRole},
		{name: "the ClusterRole before a Role", manifest: clusterRole + role},
		{name: "no ClusterRole", manifest: role, wantErr: "no ClusterRole"},
		{name: "a ClusterRole without rules", manifest: "kind: ClusterRole\nmetadata: {name: empty}\n", wantErr: "has no rules"},
		{name: "an unknown field", manifest: clusterRole + "extra: 1\n", wantErr: "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ClusterRoleOf([]byte(tc.manifest))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rules) != 1 || got.Rules[0].Resources[0] != "rollouts" {
				t.Fatalf("rules %+v, want the ClusterRole's", got.Rules)
			}
		})
	}
}
