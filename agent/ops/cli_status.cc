// `tandem status` and `tandem plan`.

#include "agent/ops/cli.h"
#include "agent/ops/json_out.h"
#include "agent/ops/table.h"

namespace tandem::agent::ops {

namespace {

using namespace cli_detail;

std::string seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

void printRunning(const runtime::AgentStatus& s, const std::string& address, std::ostream& out) {
  out << "agent " << s.state << (s.ready ? ", ready" : ", not ready") << " (admin API " << address
      << ")";
  if (s.started_ms > 0) {
    out << ", started " << formatUtcMs(s.started_ms);
  }
  out << "\n";
  out << "records " << s.records_total << "  synced " << s.records_synced << "  outbox "
      << s.outbox_depth << "  open conflicts " << s.open_conflicts << "  dead letters "
      << s.dead_letters << "\n";
  if (!s.systems.empty()) {
    out << "\n";
    Table t({"SYSTEM", "BREAKER", "OUTBOX", "DEAD", "PUSHED", "CREATED", "RETRIED", "STALE",
             "REFUSED", "GONE"});
    for (const auto& sys : s.systems) {
      t.row({sys.name, sys.breaker, std::to_string(sys.outbox_depth),
             std::to_string(sys.dead_letters), std::to_string(sys.pushes.success),
             std::to_string(sys.creates), std::to_string(sys.pushes.retryable),
             std::to_string(sys.pushes.stale), std::to_string(sys.pushes.permanent),
             std::to_string(sys.pushes.not_found)});
    }
    t.print(out);
  }
  if (!s.detectors.empty()) {
    out << "\n";
    Table t({"DETECTOR", "WEBHOOK", "LOADED", "LAG", "BATCHES", "RECORDS", "ERRORS", "LAST ERROR"});
    for (const auto& d : s.detectors) {
      t.row({d.system + "/" + d.entity, d.webhook ? "yes" : "no",
             d.initial_load_done ? "yes" : "no", d.last_success_ms > 0 ? seconds(d.lag_ms) : "-",
             std::to_string(d.batches), std::to_string(d.records), std::to_string(d.errors),
             d.last_error.empty() ? "-" : ellipsize(d.last_error, 60)});
    }
    t.print(out);
  }
}

int printStored(const mappers::Config& cfg, const std::string& address, std::ostream& out,
                std::ostream& err, const CliContext& ctx) {
  out << "agent not running (nothing answers on " << address << ")\n";
  auto store = openExistingStore(cfg, ctx);
  if (!store) {
    out << store.error().message << "\n";
    return 0;
  }
  auto snap = (*store)->read();
  if (!snap) {
    err << "tandem status: " << snap.error().message << "\n";
    return 1;
  }
  auto records = snap->recordCount();
  auto outbox = snap->outboxSize();
  auto open = snap->openConflicts(100000);
  auto dead = snap->deadLetters(std::nullopt, 100000);
  if (!records || !outbox || !open || !dead) {
    err << "tandem status: "
        << (!records  ? records.error().message
            : !outbox ? outbox.error().message
            : !open   ? open.error().message
                      : dead.error().message)
        << "\n";
    return 1;
  }
  out << "stored state " << cfg.agent.state_dir << ":\n";
  out << "records " << *records << "  outbox " << *outbox << "  open conflicts " << open->size()
      << "  dead letters " << dead->size() << "\n";
  return 0;
}

}  // namespace

int runStatus(const std::string& config_path, std::ostream& out, std::ostream& err,
              const CliContext& ctx) {
  auto cfg = loadConfig(config_path, Secrets::AdminToken, err, ctx);
  if (!cfg) {
    return 1;
  }
  const std::string address = adminAddress(*cfg);
  net::HttpRequest request;
  request.target = "/v1/status";
  auto answer = callAdmin(ctx, *cfg, request);
  if (!answer) {
    err << "tandem status: " << answer.error().message << "\n";
    return 1;
  }
  if (!*answer) {
    return printStored(*cfg, address, out, err, ctx);
  }
  if ((*answer)->status != 200) {
    err << "tandem status: admin API " << address << ": " << errorOf(**answer) << "\n";
    return 1;
  }
  auto status = statusFromJson((*answer)->body);
  if (!status) {
    err << "tandem status: admin API " << address << ": " << status.error().message << "\n";
    return 1;
  }
  printRunning(*status, address, out);
  return 0;
}

void printPlan(const runtime::PlanReport& r, std::ostream& out) {
  out << "fetched " << r.fetched << " records: " << r.new_records << " new, " << r.updated_records
      << " updated, " << r.conflicts << " conflicts; would create " << r.creates << " and update "
      << r.updates << " records; " << r.errors << " errors\n";
  if (r.items.empty()) {
    out << "nothing to do\n";
    return;
  }
  out << "\n";
  Table t({"SYSTEM", "ENTITY", "ID", "ACTION"});
  for (const auto& item : r.items) {
    t.row({item.system, item.entity, item.native_id, item.action});
  }
  t.print(out);
}

int runPlan(const std::string& config_path, const PlanFn& plan, std::ostream& out,
            std::ostream& err, const CliContext& ctx) {
  auto cfg = loadConfig(config_path, Secrets::All, err, ctx);
  if (!cfg) {
    return 1;
  }
  auto report = plan(*cfg);
  if (!report) {
    err << "tandem plan: " << report.error().message << "\n";
    return 1;
  }
  printPlan(*report, out);
  return 0;
}

}  // namespace tandem::agent::ops
