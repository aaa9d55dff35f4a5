#include "agent/ops/json_out.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tandem::agent::ops {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void key(JsonWriter& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(JsonWriter& w, std::string_view v) {
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void value(JsonWriter& w, const conflict::Value& v) {
  const std::string text = v.toJson();
  w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

void writeConflict(JsonWriter& w, const conflict::ConflictEntry& e, const ActorNames& names) {
  w.StartObject();
  key(w, "id");
  w.Uint64(e.id);
  key(w, "state");
  str(w, e.open ? "open" : "resolved");
  key(w, "record");
  str(w, e.record);
  key(w, "entity");
  str(w, e.entity);
  key(w, "field");
  str(w, e.field);
  key(w, "policy");
  str(w, conflict::policyName(e.policy));
  key(w, "sides");
  w.StartArray();
  for (const auto& side : e.sides) {
    w.StartObject();
    key(w, "system");
    str(w, names.name(side.system));
    key(w, "value");
    value(w, side.value);
    key(w, "ts_ms");
    w.Int64(side.ts_ms);
    w.EndObject();
  }
  w.EndArray();
  key(w, "outcome");
  value(w, e.outcome);
  key(w, "created_ms");
  w.Int64(e.created_ms);
  key(w, "created");
  str(w, formatUtcMs(e.created_ms));
  if (!e.open) {
    key(w, "resolved_ms");
    w.Int64(e.resolved_ms);
    key(w, "resolved");
    str(w, formatUtcMs(e.resolved_ms));
  }
  key(w, "note");
  str(w, e.note);
  w.EndObject();
}

void writeDeadLetter(JsonWriter& w, const state::DeadLetter& d, const ActorNames& names) {
  w.StartObject();
  key(w, "system");
  str(w, names.name(d.system));
  key(w, "record");
  str(w, d.record);
  key(w, "kind");
  str(w, state::pushKindName(d.kind));
  key(w, "reason");
  str(w, d.reason);
  key(w, "attempts");
  w.Uint(d.attempts);
  key(w, "time_ms");
  w.Int64(d.time_ms);
  key(w, "time");
  str(w, formatUtcMs(d.time_ms));
  w.EndObject();
}

template <class F>
std::string write(F&& f) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  f(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string ActorNames::name(conflict::ActorId id) const {
  for (const auto& [n, i] : actors_) {
    if (i == id) {
      return n;
    }
  }
  return "actor " + std::to_string(id);
}

std::optional<conflict::ActorId> ActorNames::id(std::string_view name) const {
  for (const auto& [n, i] : actors_) {
    if (n == name) {
      return i;
    }
  }
  return std::nullopt;
}

std::string conflictToJson(const conflict::ConflictEntry& entry, const ActorNames& names) {
  return write([&](JsonWriter& w) { writeConflict(w, entry, names); });
}

std::string conflictsToJson(const std::vector<conflict::ConflictEntry>& entries,
                            const ActorNames& names, std::optional<uint64_t> next_after) {
  return write([&](JsonWriter& w) {
    w.StartObject();
    key(w, "conflicts");
    w.StartArray();
    for (const auto& e : entries) {
      writeConflict(w, e, names);
    }
    w.EndArray();
    if (next_after) {
      key(w, "next_after");
      w.Uint64(*next_after);
    }
    w.EndObject();
  });
}

std::string deadLetterToJson(const state::DeadLetter& dead, const ActorNames& names) {
  return write([&](JsonWriter& w) { writeDeadLetter(w, dead, names); });
}

std::string deadLettersToJson(const std::vector<state::DeadLetter>& dead, const ActorNames& names) {
  return write([&](JsonWriter& w) {
    w.StartObject();
    key(w, "dead_letters");
    w.StartArray();
    for (const auto& d : dead) {
      writeDeadLetter(w, d, names);
    }
    w.EndArray();
    w.EndObject();
  });
}

std::string errorJson(std::string_view message) {
  return write([&](JsonWriter& w) {
    w.StartObject();
    key(w, "error");
    str(w, message);
    w.EndObject();
  });
}

}  // namespace tandem::agent::ops
