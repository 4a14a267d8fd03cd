package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// ClusterRoleOf reads the ClusterRole of a generated RBAC manifest
// (controller-gen's output: YAML documents, one of them the ClusterRole). A
// ClusterRole without rules is an error: a generator that found no marker.
func ClusterRoleOf(manifest []byte) (*rbacv1.ClusterRole, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no ClusterRole in the manifest")
		}
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if meta.Kind != "ClusterRole" {
			continue
		}
		role := &rbacv1.ClusterRole{}
		if err := yaml.UnmarshalStrict(doc, role); err != nil {
			return nil, fmt.Errorf("decode ClusterRole: %w", err)
		}
		if len(role.Rules) == 0 {
			return nil, fmt.Errorf("ClusterRole %s has no rules", role.Name)
		}
		return role, nil
	}
}

// UserBoundTo creates a copy of role named user, binds it to user, and
// returns a config authenticating as user: a controller run with it has
// exactly the permissions its RBAC markers generate, so a missing marker
// fails the tests that run it.
func (c *Cluster) UserBoundTo(ctx context.Context, user string, role *rbacv1.ClusterRole) (*rest.Config, error) {
	kube, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return nil, err
	}
	named := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: role.Rules}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, named, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create ClusterRole %s: %w", user, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create ClusterRoleBinding %s: %w", user, err)
	}
	return c.UserConfig(user)
}
