#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules into $OUT.
#
# Why a wrapper module: k8s.io/kubernetes requires its staging modules at the fake version v0.0.0 and
# maps them with directory replaces, which `go install pkg@version` refuses. The publishing bot tags
# every staging module v0.X.Y for Kubernetes v1.X.Y, so we replace each with that tag. The list of
# staging modules is read from the go.mod the module proxy serves, never maintained by hand.
#
# usage: OUT=DIR KUBE_VERSION=1.37.2 ETCD_VERSION=3.6.14 build-control-plane.sh
set -euo pipefail
KV=${KUBE_VERSION:?}; EV=${ETCD_VERSION:?}; OUT=${OUT:?}
mkdir -p "$OUT"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || { echo "go: not found on PATH; install Go >= 1.26 or set KUBEBUILDER_ASSETS" >&2; exit 2; }
MINOR=$(echo "$KV" | cut -d. -f2); SV="v0.${KV#*.}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

if [ ! -x "$OUT/kube-apiserver" ]; then
  echo "building kube-apiserver v$KV (first time only; several minutes)" >&2
  mkdir "$W/apiserver"; cd "$W/apiserver"
  GOMOD=$(go mod download -json "k8s.io/kubernetes@v$KV" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  GOLINE=$(awk '$1=="go"{print $2; exit}' "$GOMOD")
  HAVE=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$GOLINE" "$HAVE" | sort -V | head -1)" != "$GOLINE" ]; then
    echo "k8s.io/kubernetes v$KV needs go $GOLINE but this machine has go $HAVE; set KUBE_VERSION to an older release or KUBEBUILDER_ASSETS" >&2
    exit 3
  fi
  printf 'module local/kube-apiserver-build\n\ngo %s\n\nrequire k8s.io/kubernetes v%s\n' "$GOLINE" "$KV" > go.mod
  { awk '$1 ~ /^k8s\.io\// && $2=="v0.0.0" {print $1}' "$GOMOD"
    awk '$1 ~ /^k8s\.io\// && $3 ~ /^\.\/staging\// {print $1}' "$GOMOD"; } | sort -u |
    while read -r m; do go mod edit -replace="$m=$m@$SV"; done
  cat > main.go <<'GO'
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  go mod tidy
  X=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    X="$X -X $p.gitVersion=v$KV -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "-s -w $X" -o "$OUT/kube-apiserver.tmp" .
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
fi

if [ ! -x "$OUT/etcd" ]; then
  echo "building etcd v$EV (first time only)" >&2
  mkdir "$W/etcd"; cd "$W/etcd"
  printf 'module local/etcd-build\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$EV" > go.mod
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" .
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi
"$OUT/kube-apiserver" --version >&2
"$OUT/etcd" --version >&2
