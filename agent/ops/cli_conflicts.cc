// `tandem conflicts list|show|resolve`.

#include <charconv>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/ops/cli.h"
#include "agent/ops/conflict_query.h"
#include "agent/ops/json_out.h"
#include "agent/ops/resolve.h"
#include "agent/ops/table.h"

namespace tandem::agent::ops {

namespace {

using namespace cli_detail;

std::optional<uint64_t> parseConflictId(const std::string& text) {
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || id == 0) {
    return std::nullopt;
  }
  return id;
}

std::string sidesText(const conflict::ConflictEntry& e, const ActorNames& names) {
  std::string out;
  for (const auto& side : e.sides) {
    out += (out.empty() ? "" : "  ") + names.name(side.system) + "=" + side.value.toJson();
  }
  return out;
}

void printDetail(const conflict::ConflictEntry& e, const ActorNames& names, std::ostream& out) {
  out << "conflict " << e.id << " (" << (e.open ? "open" : "resolved") << ")\n";
  out << "  record   " << e.record << " (" << e.entity << ")\n";
  out << "  field    " << e.field << "\n";
  out << "  policy   " << conflict::policyName(e.policy) << "\n";
  out << "  created  " << formatUtcMs(e.created_ms) << "\n";
  Table sides({"  SYSTEM", "VALUE", "CHANGED"});
  for (const auto& side : e.sides) {
    sides.row({"  " + names.name(side.system), side.value.toJson(),
               side.ts_ms > 0 ? formatUtcMs(side.ts_ms) : "-"});
  }
  sides.print(out);
  out << (e.open ? "  held at  " : "  outcome  ") << e.outcome.toJson() << "\n";
  if (!e.open) {
    out << "  resolved " << formatUtcMs(e.resolved_ms) << "\n";
  }
  if (!e.note.empty()) {
    out << "  note     " << e.note << "\n";
  }
}

std::string resolveBody(const std::optional<std::string>& take, const rapidjson::Document* value,
                        const std::string& note) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  if (take) {
    w.Key("take");
    w.String(take->c_str(), static_cast<rapidjson::SizeType>(take->size()));
  } else {
    w.Key("value");
    value->Accept(w);
  }
  if (!note.empty()) {
    w.Key("note");
    w.String(note.c_str(), static_cast<rapidjson::SizeType>(note.size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// No agent answers: resolve on the store through an engine of our own.
int resolveOffline(const mappers::Config& cfg, uint64_t id, const ResolveRequest& request,
                   std::ostream& out, std::ostream& err, const CliContext& ctx) {
  if (!ctx.engine_config) {
    err << "tandem conflicts resolve: the agent is not running and this build cannot resolve "
           "without it\n";
    return 1;
  }
  auto store = openExistingStore(cfg, ctx);
  if (!store) {
    err << "tandem conflicts resolve: " << store.error().message << "\n";
    return 1;
  }
  Result<conflict::Value> chosen = fail("");
  {
    auto snap = (*store)->read();
    if (!snap) {
      err << "tandem conflicts resolve: " << snap.error().message << "\n";
      return 1;
    }
    auto entry = snap->conflict(id);
    auto actors = snap->actors();
    if (!entry || !actors) {
      err << "tandem conflicts resolve: "
          << (!entry ? entry.error().message : actors.error().message) << "\n";
      return 1;
    }
    if (!*entry) {
      err << "tandem conflicts resolve: conflict " << id << ": no such conflict\n";
      return 1;
    }
    if (!(*entry)->open) {
      err << "tandem conflicts resolve: conflict " << id << ": already closed (resolved "
          << formatUtcMs((*entry)->resolved_ms) << ")\n";
      return 1;
    }
    chosen = chosenValue(request, **entry, ActorNames(std::move(*actors)), cfg);
  }
  if (!chosen) {
    err << "tandem conflicts resolve: " << chosen.error().message << "\n";
    return 1;
  }
  auto engine_config = ctx.engine_config(cfg, **store);
  if (!engine_config) {
    err << "tandem conflicts resolve: " << engine_config.error().message << "\n";
    return 1;
  }
  SystemClock system_clock;
  Clock& clock = ctx.clock != nullptr ? *ctx.clock : system_clock;
  engine::SyncEngine engine(**store, clock, std::move(*engine_config));
  auto done = engine.resolveConflict(id, *chosen, resolveNote(request, "offline with the CLI"));
  if (!done) {
    err << "tandem conflicts resolve: " << done.error().message << "\n";
    return 1;
  }
  out << "conflict " << id << " resolved: " << chosen->toJson()
      << " (agent not running: the value is pushed when it starts)\n";
  return 0;
}

}  // namespace

int runConflictsList(const std::string& config_path, bool all, std::ostream& out, std::ostream& err,
                     const CliContext& ctx) {
  ConflictQuery query;
  query.all = all;
  return runConflictsList(config_path, query, out, err, ctx);
}

int runConflictsList(const std::string& config_path, const ConflictQuery& filter, std::ostream& out,
                     std::ostream& err, const CliContext& ctx) {
  const bool all = filter.all;
  auto state = readStoredState(config_path, "conflicts list", err, ctx);
  if (!state) {
    return 1;
  }
  const state::Snapshot* snap = &state->snap;
  ConflictQuery query = filter;
  query.limit = kMaxConflictLimit;
  auto page = queryConflicts(*snap, query);
  auto actors = snap->actors();
  if (!page || !actors) {
    err << "tandem conflicts list: " << (!page ? page.error().message : actors.error().message)
        << "\n";
    return 1;
  }
  if (page->entries.empty()) {
    out << (all ? "no conflicts\n" : "no open conflicts\n");
    return 0;
  }
  ActorNames names(std::move(*actors));
  Table table({"ID", "STATE", "RECORD", "FIELD", "POLICY", "SIDES", "OUTCOME", "CREATED"});
  for (const auto& e : page->entries) {
    table.row({std::to_string(e.id), e.open ? "open" : "resolved", e.entity + "/" + e.record,
               e.field, conflict::policyName(e.policy), ellipsize(sidesText(e, names), 60),
               ellipsize(e.outcome.toJson(), 30), formatUtcMs(e.created_ms)});
  }
  table.print(out);
  const size_t n = page->entries.size();
  out << n << (all ? "" : " open") << (n == 1 ? " conflict" : " conflicts");
  if (page->next_after) {
    out << " (first " << kMaxConflictLimit << " shown)";
  }
  out << "\n";
  return 0;
}

int runConflictsShow(const std::string& config_path, const std::string& id_text, std::ostream& out,
                     std::ostream& err, const CliContext& ctx) {
  const auto id = parseConflictId(id_text);
  if (!id) {
    err << "tandem conflicts show: conflict id \"" << id_text << "\" is not a positive number\n";
    return 2;
  }
  auto state = readStoredState(config_path, "conflicts show", err, ctx);
  if (!state) {
    return 1;
  }
  const state::Snapshot* snap = &state->snap;
  auto entry = snap->conflict(*id);
  auto actors = snap->actors();
  if (!entry || !actors) {
    err << "tandem conflicts show: " << (!entry ? entry.error().message : actors.error().message)
        << "\n";
    return 1;
  }
  if (!*entry) {
    err << "tandem conflicts show: conflict " << *id << ": no such conflict\n";
    return 1;
  }
  printDetail(**entry, ActorNames(std::move(*actors)), out);
  return 0;
}

int runConflictsResolve(const std::string& config_path, const std::string& id_text,
                        const std::optional<std::string>& take,
                        const std::optional<std::string>& value, const std::string& note,
                        std::ostream& out, std::ostream& err, const CliContext& ctx) {
  const auto id = parseConflictId(id_text);
  if (!id) {
    err << "tandem conflicts resolve: conflict id \"" << id_text << "\" is not a positive number\n";
    return 2;
  }
  if (take.has_value() == value.has_value()) {
    err << "tandem conflicts resolve: give either --take SYSTEM or --value JSON\n";
    return 2;
  }
  rapidjson::Document value_doc;
  if (value) {
    value_doc.Parse(value->data(), value->size());
    if (value_doc.HasParseError()) {
      err << "tandem conflicts resolve: --value is not JSON (a string needs quotes: "
             "--value '\"Acme\"')\n";
      return 2;
    }
  }
  auto cfg = loadConfig(config_path, Secrets::AdminToken, err, ctx);
  if (!cfg) {
    return 1;
  }
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/v1/conflicts/" + std::to_string(*id) + "/resolve";
  request.body = resolveBody(take, value ? &value_doc : nullptr, note);
  auto answer = callAdmin(ctx, *cfg, request);
  if (!answer) {
    err << "tandem conflicts resolve: " << answer.error().message << "\n";
    return 1;
  }
  if (!*answer) {
    auto parsed = parseResolveBody(request.body);
    if (!parsed) {
      err << "tandem conflicts resolve: " << parsed.error().message << "\n";
      return 2;
    }
    return resolveOffline(*cfg, *id, *parsed, out, err, ctx);
  }
  const net::HttpResponse& r = **answer;
  if (r.status != 200) {
    err << "tandem conflicts resolve: " << errorOf(r) << "\n";
    return 1;
  }
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  std::string outcome = "?";
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("outcome")) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    doc["outcome"].Accept(w);
    outcome = buf.GetString();
  }
  out << "conflict " << *id << " resolved: " << outcome << " (the agent pushes it now)\n";
  return 0;
}

}  // namespace tandem::agent::ops
