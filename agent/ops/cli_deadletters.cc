// `tandem deadletters list|retry`.

#include <rapidjson/document.h>

#include "agent/ops/cli.h"
#include "agent/ops/json_out.h"
#include "agent/ops/table.h"

namespace tandem::agent::ops {

namespace {

using namespace cli_detail;

std::string jsonString(const std::string& s) {
  return conflict::Value::string(s).toJson();
}

// No agent answers: move the dead letters back to the outbox on the store directly.
int retryOffline(const mappers::Config& cfg, const std::optional<std::string>& system,
                 const std::optional<std::string>& record, std::ostream& out, std::ostream& err,
                 const CliContext& ctx) {
  if (!ctx.engine_config) {
    err << "tandem deadletters retry: the agent is not running and this build cannot retry "
           "without it\n";
    return 1;
  }
  auto store = openExistingStore(cfg, ctx);
  if (!store) {
    err << "tandem deadletters retry: " << store.error().message << "\n";
    return 1;
  }
  std::vector<state::DeadLetter> targets;
  {
    auto snap = (*store)->read();
    if (!snap) {
      err << "tandem deadletters retry: " << snap.error().message << "\n";
      return 1;
    }
    auto actors = snap->actors();
    if (!actors) {
      err << "tandem deadletters retry: " << actors.error().message << "\n";
      return 1;
    }
    ActorNames names(std::move(*actors));
    if (system) {
      auto id = names.id(*system);
      if (!id) {
        err << "tandem deadletters retry: system \"" << *system << "\" is unknown to the store\n";
        return 1;
      }
      state::DeadLetter one;
      one.system = *id;
      one.record = *record;
      targets.push_back(std::move(one));
    } else {
      auto dead = snap->deadLetters(std::nullopt, 100000);
      if (!dead) {
        err << "tandem deadletters retry: " << dead.error().message << "\n";
        return 1;
      }
      targets = std::move(*dead);
    }
  }
  auto engine_config = ctx.engine_config(cfg, **store);
  if (!engine_config) {
    err << "tandem deadletters retry: " << engine_config.error().message << "\n";
    return 1;
  }
  SystemClock system_clock;
  Clock& clock = ctx.clock != nullptr ? *ctx.clock : system_clock;
  engine::SyncEngine engine(**store, clock, std::move(*engine_config));
  for (const auto& d : targets) {
    auto done = engine.retryDeadLetter(d.system, d.record);
    if (!done) {
      err << "tandem deadletters retry: " << done.error().message << "\n";
      return 1;
    }
  }
  out << "retried " << targets.size() << (targets.size() == 1 ? " dead letter" : " dead letters")
      << " (agent not running: they are pushed when it starts)\n";
  return 0;
}

}  // namespace

int runDeadLettersList(const std::string& config_path, std::ostream& out, std::ostream& err,
                       const CliContext& ctx) {
  auto state = readStoredState(config_path, "deadletters list", err, ctx);
  if (!state) {
    return 1;
  }
  const state::Snapshot* snap = &state->snap;
  auto dead = snap->deadLetters(std::nullopt, 100000);
  auto actors = snap->actors();
  if (!dead || !actors) {
    err << "tandem deadletters list: " << (!dead ? dead.error().message : actors.error().message)
        << "\n";
    return 1;
  }
  if (dead->empty()) {
    out << "no dead letters\n";
    return 0;
  }
  ActorNames names(std::move(*actors));
  Table table({"SYSTEM", "RECORD", "KIND", "ATTEMPTS", "TIME", "REASON"});
  for (const auto& d : *dead) {
    table.row({names.name(d.system), d.record, state::pushKindName(d.kind),
               std::to_string(d.attempts), formatUtcMs(d.time_ms), ellipsize(d.reason, 80)});
  }
  table.print(out);
  out << dead->size() << (dead->size() == 1 ? " dead letter\n" : " dead letters\n");
  return 0;
}

int runDeadLettersRetry(const std::string& config_path, const std::optional<std::string>& system,
                        const std::optional<std::string>& record, std::ostream& out,
                        std::ostream& err, const CliContext& ctx) {
  if (system.has_value() != record.has_value() ||
      (system && (system->empty() || record->empty()))) {
    err << "tandem deadletters retry: give both --system and --record, or neither to retry every "
           "dead letter\n";
    return 2;
  }
  auto cfg = loadConfig(config_path, Secrets::AdminToken, err, ctx);
  if (!cfg) {
    return 1;
  }
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/v1/deadletters/retry";
  request.body =
      system ? "{\"system\":" + jsonString(*system) + ",\"record\":" + jsonString(*record) + "}"
             : "{}";
  auto answer = callAdmin(ctx, *cfg, request);
  if (!answer) {
    err << "tandem deadletters retry: " << answer.error().message << "\n";
    return 1;
  }
  if (!*answer) {
    return retryOffline(*cfg, system, record, out, err, ctx);
  }
  if ((*answer)->status != 200) {
    err << "tandem deadletters retry: " << errorOf(**answer) << "\n";
    return 1;
  }
  rapidjson::Document doc;
  doc.Parse((*answer)->body.data(), (*answer)->body.size());
  const uint64_t n = !doc.HasParseError() && doc.IsObject() && doc.HasMember("retried") &&
                             doc["retried"].IsUint64()
                         ? doc["retried"].GetUint64()
                         : 0;
  out << "retried " << n << (n == 1 ? " dead letter" : " dead letters")
      << " (the agent pushes them now)\n";
  return 0;
}

}  // namespace tandem::agent::ops
