// AgentStatus <-> JSON: what GET /v1/status serves and what `tandem status` reads back.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/ops/json_out.h"

namespace tandem::agent::ops {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using runtime::AgentStatus;

void key(JsonWriter& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(JsonWriter& w, std::string_view v) {
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void writeDetector(JsonWriter& w, const runtime::DetectorStatus& d) {
  w.StartObject();
  key(w, "system");
  str(w, d.system);
  key(w, "entity");
  str(w, d.entity);
  key(w, "webhook");
  w.Bool(d.webhook);
  key(w, "initial_load_done");
  w.Bool(d.initial_load_done);
  key(w, "last_success_ms");
  w.Int64(d.last_success_ms);
  key(w, "lag_ms");
  w.Int64(d.lag_ms);
  key(w, "batches");
  w.Uint64(d.batches);
  key(w, "records");
  w.Uint64(d.records);
  key(w, "errors");
  w.Uint64(d.errors);
  key(w, "last_error");
  str(w, d.last_error);
  key(w, "existence_checks");
  w.Uint64(d.existence_checks);
  key(w, "existence_checked");
  w.Uint64(d.existence_checked);
  key(w, "existence_deletes");
  w.Uint64(d.existence_deletes);
  w.EndObject();
}

void writeSystem(JsonWriter& w, const runtime::SystemStatus& s) {
  w.StartObject();
  key(w, "name");
  str(w, s.name);
  key(w, "breaker");
  str(w, s.breaker);
  key(w, "pushes");
  w.StartObject();
  key(w, "success");
  w.Uint64(s.pushes.success);
  key(w, "retryable");
  w.Uint64(s.pushes.retryable);
  key(w, "stale");
  w.Uint64(s.pushes.stale);
  key(w, "permanent");
  w.Uint64(s.pushes.permanent);
  key(w, "not_found");
  w.Uint64(s.pushes.not_found);
  w.EndObject();
  key(w, "creates");
  w.Uint64(s.creates);
  key(w, "outbox_depth");
  w.Uint64(s.outbox_depth);
  key(w, "dead_letters");
  w.Uint64(s.dead_letters);
  w.EndObject();
}

// Reads members of one JSON object; the first problem is kept with its path.
class Reader {
 public:
  Reader(const rapidjson::Value& obj, std::string path, std::string& error)
      : obj_(obj), path_(std::move(path)), error_(error) {}

  const rapidjson::Value* member(const char* name) {
    auto it = obj_.FindMember(name);
    if (it == obj_.MemberEnd()) {
      problem(name, "missing");
      return nullptr;
    }
    return &it->value;
  }
  void u64(const char* name, uint64_t& out) {
    if (const auto* v = member(name)) {
      v->IsUint64() ? void(out = v->GetUint64()) : problem(name, "expected an unsigned integer");
    }
  }
  void i64(const char* name, int64_t& out) {
    if (const auto* v = member(name)) {
      v->IsInt64() ? void(out = v->GetInt64()) : problem(name, "expected an integer");
    }
  }
  void boolean(const char* name, bool& out) {
    if (const auto* v = member(name)) {
      v->IsBool() ? void(out = v->GetBool()) : problem(name, "expected a bool");
    }
  }
  void string(const char* name, std::string& out) {
    if (const auto* v = member(name)) {
      v->IsString() ? void(out.assign(v->GetString(), v->GetStringLength()))
                    : problem(name, "expected a string");
    }
  }
  template <class T>
  void array(const char* name, std::vector<T>& out, void (*read)(Reader&, T&)) {
    const auto* v = member(name);
    if (v == nullptr) {
      return;
    }
    if (!v->IsArray()) {
      problem(name, "expected an array");
      return;
    }
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const std::string at = path_ + "." + name + "[" + std::to_string(i) + "]";
      if (!(*v)[i].IsObject()) {
        problemAt(at, "expected an object");
        return;
      }
      Reader r((*v)[i], at, error_);
      read(r, out.emplace_back());
    }
  }
  Reader object(const char* name) {
    const auto* v = member(name);
    if (v == nullptr || !v->IsObject()) {
      if (v != nullptr) {
        problem(name, "expected an object");
      }
      return Reader(empty_, path_ + "." + name, error_);
    }
    return Reader(*v, path_ + "." + name, error_);
  }

 private:
  void problem(const char* name, const char* what) { problemAt(path_ + "." + name, what); }
  void problemAt(const std::string& at, const char* what) {
    if (error_.empty()) {
      error_ = at + ": " + what;
    }
  }

  static inline const rapidjson::Value empty_{rapidjson::kObjectType};
  const rapidjson::Value& obj_;
  std::string path_;
  std::string& error_;
};

void readDetector(Reader& r, runtime::DetectorStatus& d) {
  r.string("system", d.system);
  r.string("entity", d.entity);
  r.boolean("webhook", d.webhook);
  r.boolean("initial_load_done", d.initial_load_done);
  r.i64("last_success_ms", d.last_success_ms);
  r.i64("lag_ms", d.lag_ms);
  r.u64("batches", d.batches);
  r.u64("records", d.records);
  r.u64("errors", d.errors);
  r.string("last_error", d.last_error);
  r.u64("existence_checks", d.existence_checks);  // absent from older agents: 0
  r.u64("existence_checked", d.existence_checked);
  r.u64("existence_deletes", d.existence_deletes);
}

void readSystem(Reader& r, runtime::SystemStatus& s) {
  r.string("name", s.name);
  r.string("breaker", s.breaker);
  Reader p = r.object("pushes");
  p.u64("success", s.pushes.success);
  p.u64("retryable", s.pushes.retryable);
  p.u64("stale", s.pushes.stale);
  p.u64("permanent", s.pushes.permanent);
  p.u64("not_found", s.pushes.not_found);
  r.u64("creates", s.creates);
  uint64_t n = 0;
  r.u64("outbox_depth", n);
  s.outbox_depth = n;
  r.u64("dead_letters", n);
  s.dead_letters = n;
}

}  // namespace

std::string statusToJson(const AgentStatus& s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  key(w, "state");
  str(w, s.state);
  key(w, "ready");
  w.Bool(s.ready);
  key(w, "started_ms");
  w.Int64(s.started_ms);
  key(w, "records_total");
  w.Uint64(s.records_total);
  key(w, "records_synced");
  w.Uint64(s.records_synced);
  key(w, "conflicts_total");
  w.Uint64(s.conflicts_total);
  key(w, "writer_busy_ms");
  w.Uint64(s.writer_busy_ms);
  key(w, "open_conflicts");
  w.Uint64(s.open_conflicts);
  key(w, "outbox_depth");
  w.Uint64(s.outbox_depth);
  key(w, "dead_letters");
  w.Uint64(s.dead_letters);
  key(w, "detectors");
  w.StartArray();
  for (const auto& d : s.detectors) {
    writeDetector(w, d);
  }
  w.EndArray();
  key(w, "systems");
  w.StartArray();
  for (const auto& sys : s.systems) {
    writeSystem(w, sys);
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Result<AgentStatus> statusFromJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return fail(std::string("status: not JSON: ") +
                rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) {
    return fail("status: expected a JSON object");
  }
  AgentStatus s;
  std::string error;
  Reader r(doc, "status", error);
  r.string("state", s.state);
  r.boolean("ready", s.ready);
  r.i64("started_ms", s.started_ms);
  r.u64("records_total", s.records_total);
  r.u64("records_synced", s.records_synced);
  r.u64("conflicts_total", s.conflicts_total);
  r.u64("writer_busy_ms", s.writer_busy_ms);
  uint64_t n = 0;
  r.u64("open_conflicts", n);
  s.open_conflicts = n;
  r.u64("outbox_depth", n);
  s.outbox_depth = n;
  r.u64("dead_letters", n);
  s.dead_letters = n;
  r.array<runtime::DetectorStatus>("detectors", s.detectors, readDetector);
  r.array<runtime::SystemStatus>("systems", s.systems, readSystem);
  if (!error.empty()) {
    return fail(error);
  }
  return s;
}

}  // namespace tandem::agent::ops
