#!/usr/bin/env bash
# The demo behind `make demo`: three fixture systems, the agent between them, a few human edits,
# and a report of what tandem did. Everything runs on loopback and stops cleanly at the end; the
# agent's state stays in the work directory so `tandem conflicts list` can be tried afterwards.
set -euo pipefail

build="${1:-build}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tandem="$root/$build/agent/tandem"
fixtures_bin="$root/$build/fixtures/tandem-fixtures"
work="$(mktemp -d /tmp/tandem-demo.XXXXXX)"
control=18084
admin=17070
crm="http://127.0.0.1:18081"
export CRM_TOKEN=crm-token ERP_KEY=erp-key FIN_TOKEN=fin-token
export CRM_WEBHOOK_SECRET=crm-client-secret FIN_WEBHOOK_VERIFIER=fin-verifier-token

fixtures_pid=""
agent_pid=""
stop_all() {
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  if [ -n "$fixtures_pid" ] && kill -0 "$fixtures_pid" 2>/dev/null; then
    kill -TERM "$fixtures_pid" 2>/dev/null || true
    wait "$fixtures_pid" 2>/dev/null || true
  fi
}
trap stop_all EXIT

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
ctl() {  # ctl METHOD PATH [JSON]
  if [ $# -ge 3 ]; then
    curl -sf -X "$1" -H 'Content-Type: application/json' --data "$3" "http://127.0.0.1:$control$2"
  else
    curl -sf -X "$1" "http://127.0.0.1:$control$2"
  fi
}
now_ms() { date +%s%3N; }

# Waits until the three systems agree on what the demo checks and the agent has nothing queued.
wait_converged() {  # wait_converged LABEL JQ_CHECK [JQ_CHECK_ON_THE_AGENT_STATUS]
  local label="$1" check="$2" status_check="${3:-true}" deadline=$(($(date +%s) + 90))
  while :; do
    local snap status
    snap="$(ctl GET /control/snapshot)"
    status="$(curl -sf "http://127.0.0.1:$admin/v1/status" || echo '{}')"
    if [ "$(jq -r "$check" <<<"$snap")" = "true" ] &&
      [ "$(jq -r '.outbox_depth // -1' <<<"$status")" = "0" ] &&
      [ "$(jq -r "$status_check" <<<"$status")" = "true" ]; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "demo: $label did not converge within 90 s; agent log: $work/agent.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

say "work directory $work"
cp "$root/fixtures/config/demo.json" "$work/demo.json"
cp -r "$root/fixtures/config/mappings" "$work/mappings"
# The demo's own admin port (7070 may be taken on a developer machine), webhooks on.
sed -i "s/\"port\": 7070/\"port\": $admin/" "$work/demo.json"

say "starting the fixture systems (CRM :18081, ERP :18082, finance :18083)"
"$fixtures_bin" --crm-port 18081 --erp-port 18082 --fin-port 18083 --control-port $control \
  --seed 7 >"$work/fixtures.out" 2>"$work/fixtures.log" &
fixtures_pid=$!
for _ in $(seq 100); do
  ctl GET /control/health >/dev/null 2>&1 && break
  sleep 0.1
done
ctl GET /control/health >/dev/null

say "seeding: 40 customers only in the CRM, 10 in CRM and ERP, 6 in CRM and finance"
ctl POST /control/seed '{"count":40,"systems":["crm"]}' >"$work/seed-crm.json"
ctl POST /control/seed '{"count":10,"systems":["crm","erp"]}' >"$work/seed-crm-erp.json"
ctl POST /control/seed '{"count":6,"systems":["crm","fin"]}' >"$work/seed-crm-fin.json"
# Two of the CRM+finance customers were already edited differently in each system.
for i in 0 1; do
  fin_id="$(jq -r ".records[$i].fin" "$work/seed-crm-fin.json")"
  ctl PATCH "/control/fin/records/$fin_id" \
    "{\"PrimaryPhone\":{\"FreeFormNumber\":\"+1 555 010$i\"}}" >/dev/null
done
for sys in crm fin; do
  ctl PUT /control/settings \
    "{\"$sys\":{\"webhook_url\":\"http://127.0.0.1:$admin/hooks/$sys\"}}" >/dev/null
done

say "tandem validate"
"$tandem" validate "$work/demo.json"

say "starting the agent (tandem run)"
start_ms="$(now_ms)"
"$tandem" run "$work/demo.json" >"$work/agent.out" 2>"$work/agent.log" &
agent_pid=$!
wait_converged "initial sync" \
  '([.crm[]|select(.archived|not)]|length)==56 and ([.erp[]|select(.active)]|length)==56 and ([.fin[]|select(.Active)]|length)==56'
initial_ms=$(($(now_ms) - start_ms))
say "initial sync done in ${initial_ms} ms"

say "human edits while the agent runs"
a_crm="$(jq -r '.records[0].crm' "$work/seed-crm-erp.json")"
a_erp="$(jq -r '.records[0].erp' "$work/seed-crm-erp.json")"
b_crm="$(jq -r '.records[1].crm' "$work/seed-crm-erp.json")"
b_erp="$(jq -r '.records[1].erp' "$work/seed-crm-erp.json")"
b_email="$(jq -r '.records[1].email' "$work/seed-crm-erp.json")"
snap="$(ctl GET /control/snapshot)"
b_fin="$(jq -r --arg e "$b_email" '.fin[]|select(.PrimaryEmailAddr.Address==$e)|.Id' <<<"$snap")"
echo "  customer A: city changed in the CRM, phone changed in the ERP (different fields)"
ctl PATCH "/control/crm/records/$a_crm" '{"properties":{"city":"Lisbon"}}' >/dev/null
ctl PATCH "/control/erp/records/$a_erp" '{"phone":"+351 21 000 0000"}' >/dev/null
echo "  customer B: credit limit set in the ERP (5000) and in finance (7500) at once"
ctl PATCH "/control/erp/records/$b_erp" '{"credit_limit":5000}' >/dev/null
ctl PATCH "/control/fin/records/$b_fin" '{"CreditLimit":7500}' >/dev/null
c_crm="$(jq -r '.records[2].crm' "$work/seed-crm-fin.json")"
c_fin="$(jq -r '.records[2].fin' "$work/seed-crm-fin.json")"
echo "  customer C: company renamed in the CRM and in finance at once (policy: manual)"
# "At once" means neither rename reached the other system before both were made. The agent
# carries a CRM webhook's change to finance within milliseconds, sooner than the next curl
# lands: finance's own rename would then come after it, a later edit that wins with no
# conflict. So finance's API answers 503 (the agent retries) until both renames are in.
ctl PUT /control/settings '{"fin":{"p_503":1}}' >/dev/null
ctl PATCH "/control/crm/records/$c_crm" '{"properties":{"company":"Acme Europe"}}' >/dev/null
ctl PATCH "/control/fin/records/$c_fin" '{"CompanyName":"Acme GmbH"}' >/dev/null
ctl PUT /control/settings '{"fin":{"p_503":0}}' >/dev/null
edit_ms="$(now_ms)"
a_email="$(jq -r '.records[0].email' "$work/seed-crm-erp.json")"
wait_converged "edits" "
  ([.crm[]|select(.properties.email==\"$a_email\")|.properties.city][0]==\"Lisbon\") and
  ([.fin[]|select(.PrimaryEmailAddr.Address==\"$a_email\")|.BillAddr.City][0]==\"Lisbon\") and
  ([.crm[]|select(.properties.email==\"$a_email\")|.properties.phone][0]==\"+351 21 000 0000\") and
  ([.erp[]|select(.email==\"$b_email\")|.credit_limit][0]==7500)" \
  '(.open_conflicts // 0) >= 1'  # customer C's company waits for a person
edits_ms=$(($(now_ms) - edit_ms))

counters="$(ctl GET /control/counters)"
say "report"
printf '  %-8s %10s %10s %10s\n' system created updated archived
for sys in crm erp fin; do
  printf '  %-8s %10s %10s %10s\n' "$sys" \
    "$(jq -r ".$sys.api_creates // 0" <<<"$counters")" \
    "$(jq -r ".$sys.api_writes // 0" <<<"$counters")" \
    "$(jq -r ".$sys.api_archives // 0" <<<"$counters")"
done
echo "  initial sync of 56 customers into 3 systems: ${initial_ms} ms (finance is held to 8 requests/s,"
echo "  as QuickBooks is); edits propagated in ${edits_ms} ms"
echo
say "conflicts, resolved by policy and open for review (tandem conflicts list --all)"
"$tandem" conflicts list --all "$work/demo.json"
echo
"$tandem" status "$work/demo.json"
echo
say "stopping the agent (SIGTERM drains) and the fixture systems"
kill -TERM "$agent_pid"
wait "$agent_pid" && echo "  agent exited 0"
agent_pid=""
echo
echo "Look further:  $tandem conflicts list $work/demo.json          (open ones)"
echo "               $tandem conflicts show $work/demo.json <id>"
echo "               $tandem conflicts resolve $work/demo.json <id> --take crm   (pushes it everywhere)"
echo "Agent log:     $work/agent.log"
