#!/usr/bin/env bash
# The local setup behind `go tool task local-setup*`: a kcp shaped like Platform Mesh
# (root:providers:cert-manager, root:orgs:<org>:<account>) and the operator, both in the
# background with their state, logs and PIDs under .kcp/. Every step is idempotent.
#
# Actions run in the order given, e.g. `local-setup.sh up example-data`.
#   up            start kcp, create the accounts, bootstrap the provider, (re)start the operator
#   example-data  order Certificate Manager in both accounts and apply config/samples
#   stop          stop the operator and kcp, keep .kcp/
#   clean         stop, then delete .kcp/
set -euo pipefail
set -m # background jobs get their own process group: a ^C here does not kill them

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.kcp
PORT=${KCP_PORT:-6443}                 # kcp; etcd takes the next two ports
METRICS_PORT=${MSP_METRICS_PORT:-9402} # the operator's /metrics
HEALTH_PORT=${MSP_HEALTH_PORT:-9403}   # the operator's /healthz
ADMIN=$STATE/admin.kubeconfig
MSPCTL=$ROOT/bin/mspctl
ACCOUNTS=(root:orgs:acme:web-team root:orgs:globex:payments)
PROVIDER=root:providers:cert-manager

step() { printf '==> %s\n' "$*"; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
# kubeconfig file for a workspace path: root:orgs:acme:web-team -> .kcp/acme-web-team.kubeconfig
kubeconfig_for() { local p=${1#root:orgs:}; p=${p#root:providers:}; echo "$STATE/${p//:/-}.kubeconfig"; }

# healthy PORT: the operator's /healthz answers 200 (bash's /dev/tcp: no curl needed).
healthy() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  local status; read -r _ status _ <&3; exec 3>&-
  [[ $status == 200 ]]
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "timed out waiting for $what" >&2; return 1; fi
    sleep 1
  done
}

start_kcp() {
  mkdir -p "$STATE"
  if alive "$STATE/kcp.pid"; then
    step "kcp is already running (pid $(cat "$STATE/kcp.pid"))"
  else
    step "starting kcp on https://127.0.0.1:$PORT (log: .kcp/kcp.log)"
    nohup "$ROOT/bin/kcp" start \
      --root-directory="$STATE/root" --kubeconfig-path="$ADMIN" \
      --bind-address=127.0.0.1 --secure-port="$PORT" \
      --embedded-etcd-client-port="$((PORT + 1))" --embedded-etcd-peer-port="$((PORT + 2))" \
      >>"$STATE/kcp.log" 2>&1 &
    echo $! >"$STATE/kcp.pid"
  fi
  wait_for 180 "kcp to become ready (see .kcp/kcp.log)" \
    kubectl --kubeconfig="$ADMIN" --context=base get --raw /readyz
}

start_operator() {
  stop_pid operator
  step "starting the operator (log: .kcp/operator.log)"
  nohup "$ROOT/bin/cert-manager-msp" --kubeconfig="$(kubeconfig_for $PROVIDER)" \
    --metrics-bind-address=127.0.0.1:"$METRICS_PORT" --health-probe-bind-address=127.0.0.1:"$HEALTH_PORT" \
    >>"$STATE/operator.log" 2>&1 &
  echo $! >"$STATE/operator.pid"
  wait_for 60 "the operator to report healthy (see .kcp/operator.log)" operator_up
}

operator_up() {
  if ! alive "$STATE/operator.pid"; then
    echo "the operator exited; last lines of .kcp/operator.log:" >&2
    tail -n 20 "$STATE/operator.log" >&2
    exit 1
  fi
  healthy "$HEALTH_PORT"
}

stop_pid() { # stop_pid NAME: SIGTERM the process in .kcp/NAME.pid and wait for it
  local pidfile=$STATE/$1.pid
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    step "stopping $1 (pid $pid)"
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

up() {
  start_kcp
  export KUBECONFIG=$ADMIN
  for ws in "${ACCOUNTS[@]}"; do
    step "ensuring account workspace $ws"
    "$MSPCTL" workspace --workspace "$ws"
  done
  step "bootstrapping the provider in $PROVIDER"
  # A bare kcp has no Platform Mesh UI API; the stand-in lets the marketplace and portal
  # objects be applied and looked at here.
  "$MSPCTL" bootstrap --portal-standin
  for ws in $PROVIDER "${ACCOUNTS[@]}"; do
    "$MSPCTL" kubeconfig --workspace "$ws" --out "$(kubeconfig_for "$ws")" >/dev/null
  done
  start_operator
}

example_data() {
  export KUBECONFIG=$ADMIN
  for ws in "${ACCOUNTS[@]}"; do
    step "ordering Certificate Manager in $ws"
    "$MSPCTL" order --workspace "$ws"
  done
  for ws in "${ACCOUNTS[@]}"; do
    step "applying config/samples in $ws"
    kubectl --kubeconfig="$(kubeconfig_for "$ws")" apply --server-side -f "$ROOT/config/samples/"
  done
  for ws in "${ACCOUNTS[@]}"; do
    local kc; kc=$(kubeconfig_for "$ws")
    step "waiting in $ws for ClusterIssuer default and the example Certificates to be Ready"
    # kubectl wait needs the object to exist; onboarding creates it moments after the order.
    wait_for 120 "ClusterIssuer default in $ws" kubectl --kubeconfig="$kc" get clusterissuer/default
    kubectl --kubeconfig="$kc" wait --for=condition=Ready clusterissuer/default --timeout=120s
    kubectl --kubeconfig="$kc" wait --for=condition=Ready -n default certificate --all --timeout=120s
    verify_secret "$kc" default web-tls
  done
}

# verify_secret KUBECONFIG NAMESPACE SECRET: the leaf in tls.crt verifies against ca.crt.
verify_secret() {
  local dir; dir=$(mktemp -d)
  kubectl --kubeconfig="$1" get secret -n "$2" "$3" -o jsonpath='{.data.tls\.crt}' | base64 -d >"$dir/tls.crt"
  kubectl --kubeconfig="$1" get secret -n "$2" "$3" -o jsonpath='{.data.ca\.crt}' | base64 -d >"$dir/ca.crt"
  if command -v openssl >/dev/null; then
    openssl verify -CAfile "$dir/ca.crt" "$dir/tls.crt" >/dev/null && echo "$2/$3: tls.crt verifies against ca.crt"
  else
    echo "(openssl not found: not verifying $2/$3)"
  fi
  rm -rf "$dir"
}

print_access() {
  cat <<EOT

kcp:       https://127.0.0.1:$PORT  (admin kubeconfig: .kcp/admin.kubeconfig)
operator:  pid $(cat "$STATE/operator.pid"), log .kcp/operator.log, metrics http://127.0.0.1:$METRICS_PORT/metrics
Workspaces (each kubeconfig's server is the workspace URL):
EOT
  for ws in $PROVIDER "${ACCOUNTS[@]}"; do
    printf '  %-28s KUBECONFIG=%s\n' "$ws" "${STATE#"$ROOT"/}/$(basename "$(kubeconfig_for "$ws")")"
  done
  cat <<EOT
For example:
  kubectl --kubeconfig=.kcp/acme-web-team.kubeconfig get certificates,clusterissuers -A
Stop with: go tool task local-setup:stop   (or local-setup:clean to also delete .kcp/)
EOT
}

[[ $# -gt 0 ]] || set -- usage
for action in "$@"; do
  case $action in
    up) up ;;
    example-data) example_data ;;
    stop) stop_pid operator; stop_pid kcp ;;
    clean) stop_pid operator; stop_pid kcp; step "deleting .kcp/"; rm -rf "$STATE" ;;
    *) echo "usage: $0 up|example-data|stop|clean ..." >&2; exit 2 ;;
  esac
done
case " $* " in *" up "* | *" example-data "*) print_access ;; esac
