// Package tools only pins k8s.io/kubernetes/cmd/kube-apiserver into this module's build list;
// install.sh builds that command (`go build k8s.io/kubernetes/cmd/kube-apiserver`).
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"
