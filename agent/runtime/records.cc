// Mapping what a feed or a get() returned into the engine's Incoming records.

#include "agent/runtime/core.h"

namespace tandem::agent::runtime::detail {

std::string ingestDeadLetterKey(const std::string& entity, const std::string& native_id) {
  return "native:" + entity + ":" + native_id;
}

MappedBatch mapRecords(const SystemRuntime& sys, const EntityRuntime& ent,
                       std::vector<connector::NativeRecord>& records) {
  MappedBatch out;
  const auto& pointers = ent.spec->connector.pointers;
  const bool reports_deleted =
      !pointers.deleted.empty() || !pointers.archived.empty() || !pointers.active.empty();
  const std::string where = "mapping " + sys.name() + "." + ent.entity->name;
  for (auto& rec : records) {
    const std::string id = rec.id.empty() ? "(no id)" : rec.id;
    if (!rec.error.empty()) {
      out.failures.emplace_back(rec.id, where + " record " + id + ": " + rec.error);
      continue;
    }
    if (rec.id.empty()) {
      out.failures.emplace_back(rec.id, where + ": record without an id");
      continue;
    }
    auto values = mappers::toCanonical(ent.plan, rec.body);
    if (!values) {
      out.failures.emplace_back(rec.id,
                                where + " record " + id + ": " + mappers::describe(values.error()));
      continue;
    }
    engine::Incoming in;
    in.native_id = rec.id;
    in.report.system = sys.id;
    in.report.fields = std::move(*values);
    if (reports_deleted || rec.deleted || rec.archived) {
      in.report.deleted = rec.deleted || rec.archived;
    }
    in.report.source_ts_ms = rec.updated_ms;
    in.report.version_token = rec.version;
    for (const auto& key : ent.entity->match_keys) {
      const conflict::Value* v = in.report.fields.find(key);
      if (v == nullptr || v->isNull()) {
        continue;
      }
      in.match_values.emplace_back(
          key, v->kind() == conflict::Value::Kind::String ? v->asString() : v->toJson());
    }
    out.incoming.push_back(std::move(in));
  }
  return out;
}

}  // namespace tandem::agent::runtime::detail
