// Canonical values → the body for a system (toSystem): every writable field or only the
// changed ones, constants and defaults on create, read-only fields left out.

#include <algorithm>
#include <cmath>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "mappers/plan.h"
#include "mappers/transforms.h"

namespace tandem::mappers {
namespace {

using conflict::Value;
using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value& slot(rapidjson::Document& doc, const CompiledPointer& p) {
  rapidjson::Value* v = &doc;
  Alloc& a = doc.GetAllocator();
  for (const auto& tok : p.tokens) {
    if (!v->IsObject()) {
      v->SetObject();
    }
    auto it = v->FindMember(rapidjson::StringRef(tok.data(), tok.size()));
    if (it == v->MemberEnd()) {
      v->AddMember(rapidjson::Value(tok.data(), static_cast<rapidjson::SizeType>(tok.size()), a),
                   rapidjson::Value(), a);
      v = &(v->MemberEnd() - 1)->value;
    } else {
      v = &it->value;
    }
  }
  return *v;
}

rapidjson::Value str(const std::string& s, Alloc& a) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

void writeEmpty(EmptyForm e, rapidjson::Value& out) {
  switch (e) {
    case EmptyForm::Null:
      out.SetNull();
      break;
    case EmptyForm::EmptyString:
      out.SetString("", 0);
      break;
    case EmptyForm::False:
      out.SetBool(false);
      break;
  }
}

bool writeField(const FieldStep& step, const Value& in, rapidjson::Value& out, Alloc& a,
                FieldErrors& errors) {
  bool as_string = step.spec.as == Encoding::String;
  auto error = [&](std::string m) {
    errors.push_back(FieldError{step.spec.field, step.spec.path, std::move(m)});
    return false;
  };
  if (in.isNull()) {
    writeEmpty(step.empty, out);
    return true;
  }
  switch (step.type) {
    case FieldType::String: {
      if (in.kind() != Value::Kind::String) {
        return error(std::string("expected string value, got ") + kindName(in.kind()));
      }
      const std::string* s = &in.asString();
      if (!step.spec.map.empty()) {
        auto it = step.inverse.find(*s);
        if (it != step.inverse.end()) {
          s = &it->second;
        } else if (step.spec.default_out) {
          s = &*step.spec.default_out;
        } else {
          return error("value \"" + *s + "\" has no entry in the map and no default_out");
        }
      }
      if (step.spec.as == Encoding::Many2One) {
        auto id = parseInteger(*s);
        if (!id) {
          return error("many2one id \"" + *s + "\" is not an integer");
        }
        out.SetInt64(*id);
      } else {
        out = str(*s, a);
      }
      return true;
    }
    case FieldType::Number: {
      if (in.kind() != Value::Kind::Int && in.kind() != Value::Kind::Number) {
        return error(std::string("expected number value, got ") + kindName(in.kind()));
      }
      double d = in.kind() == Value::Kind::Int ? static_cast<double>(in.asInt()) : in.asNumber();
      if (as_string) {
        out = str(formatNumber(d, step.spec.decimals), a);
      } else if (d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) {
        out.SetInt64(static_cast<int64_t>(d));  // 100000, not 100000.0
      } else {
        out.SetDouble(d);
      }
      return true;
    }
    case FieldType::Integer:
    case FieldType::DateTime: {
      if (in.kind() != Value::Kind::Int) {
        return error(std::string("expected integer value, got ") + kindName(in.kind()));
      }
      int64_t i = in.asInt();
      if (step.type == FieldType::DateTime) {
        TimeFormat f = step.spec.format;
        if (isEpochFormat(f) && !as_string) {
          out.SetInt64(f == TimeFormat::EpochS ? (i >= 0 ? i / 1000 : -((-i + 999) / 1000)) : i);
        } else {
          out = str(formatTime(i, f), a);
        }
      } else if (as_string) {
        out = str(std::to_string(i), a);
      } else {
        out.SetInt64(i);
      }
      return true;
    }
    case FieldType::Bool:
      if (in.kind() != Value::Kind::Bool) {
        return error(std::string("expected bool value, got ") + kindName(in.kind()));
      }
      if (as_string) {
        out.SetString(in.asBool() ? "true" : "false", a);
      } else {
        out.SetBool(in.asBool());
      }
      return true;
    case FieldType::StringSet: {
      if (in.kind() != Value::Kind::StringSet) {
        return error(std::string("expected string-set value, got ") + kindName(in.kind()));
      }
      if (as_string) {
        std::string joined;
        for (const auto& item : in.asStringSet()) {
          if (!joined.empty()) {
            joined += step.spec.delimiter;
          }
          joined += item;
        }
        out = str(joined, a);
      } else {
        out.SetArray();
        for (const auto& item : in.asStringSet()) {
          out.PushBack(str(item, a), a);
        }
      }
      return true;
    }
  }
  return false;
}

bool selected(std::span<const std::string> fields, bool all, const std::string& name) {
  return all || std::find(fields.begin(), fields.end(), name) != fields.end();
}

FieldErrors build(const MappingPlan& plan, const CanonicalValues& values, WriteMode mode,
                  std::span<const std::string> fields, bool all, rapidjson::Document& doc) {
  const PlanImpl& p = plan.impl();
  doc.SetObject();
  Alloc& a = doc.GetAllocator();
  FieldErrors errors;
  static const Value kNull;
  bool create = mode == WriteMode::Create;
  for (const FieldStep& step : p.fields) {
    if (!step.write || !selected(fields, all, step.spec.field)) {
      continue;
    }
    const Value* v = values.find(step.spec.field);
    if (v == nullptr || v->isNull()) {
      if (create && step.spec.default_on_create) {
        v = &*step.spec.default_on_create;
      } else if (create) {
        continue;  // nothing to say about an empty field on create
      } else {
        v = &kNull;
      }
    }
    rapidjson::Value out;
    if (writeField(step, *v, out, a, errors)) {
      slot(doc, step.ptr) = std::move(out);
    }
  }
  for (const JoinStep& step : p.joins) {
    if (!step.write) {
      continue;
    }
    bool touched = all;
    std::string joined;
    for (const auto& name : step.spec.fields) {
      touched = touched || selected(fields, false, name);
      const Value* v = values.find(name);
      if (v != nullptr && v->kind() == Value::Kind::String) {
        if (!joined.empty()) {
          joined += step.spec.separator;
        }
        joined += v->asString();
      }
    }
    if (!touched || (create && joined.empty())) {
      continue;
    }
    if (joined.empty()) {
      writeEmpty(step.empty, slot(doc, step.ptr));
    } else {
      slot(doc, step.ptr) = str(joined, a);
    }
  }
  for (const ConstStep& c : p.constants) {
    if (create || !c.create_only) {
      slot(doc, c.ptr).CopyFrom(c.value, a);
    }
  }
  return errors;
}

std::expected<SystemBody, FieldErrors> buildDocument(const MappingPlan& plan,
                                                     const CanonicalValues& values, WriteMode mode,
                                                     std::span<const std::string> fields,
                                                     bool all) {
  SystemBody body;
  FieldErrors errors = build(plan, values, mode, fields, all, body.doc());
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return body;
}

// Builds in a pool on the stack: no heap chunk per record.
std::expected<std::string, FieldErrors> buildText(const MappingPlan& plan,
                                                  const CanonicalValues& values, WriteMode mode,
                                                  std::span<const std::string> fields, bool all) {
  char buffer[8192];
  rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
  rapidjson::Document doc(&pool);
  FieldErrors errors = build(plan, values, mode, fields, all, doc);
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return toJson(doc);
}

// A 12-field customer's body takes ~1 KB of its pool.
constexpr size_t kBodyChunk = 2048;

}  // namespace

SystemBody::SystemBody()
    : pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>(kBodyChunk)),
      doc_(std::make_unique<rapidjson::Document>(pool_.get())) {}
SystemBody::~SystemBody() = default;

std::expected<SystemBody, FieldErrors> toSystemDocument(const MappingPlan& plan,
                                                        const CanonicalValues& values,
                                                        WriteMode mode) {
  return buildDocument(plan, values, mode, {}, true);
}

std::expected<SystemBody, FieldErrors> toSystemDocument(const MappingPlan& plan,
                                                        const CanonicalValues& values,
                                                        WriteMode mode,
                                                        std::span<const std::string> fields) {
  return buildDocument(plan, values, mode, fields, false);
}

std::expected<std::string, FieldErrors> toSystem(const MappingPlan& plan,
                                                 const CanonicalValues& values, WriteMode mode) {
  return buildText(plan, values, mode, {}, true);
}

std::expected<std::string, FieldErrors> toSystem(const MappingPlan& plan,
                                                 const CanonicalValues& values, WriteMode mode,
                                                 std::span<const std::string> fields) {
  return buildText(plan, values, mode, fields, false);
}

std::string toJson(const rapidjson::Value& v, bool pretty) {
  rapidjson::StringBuffer buf;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    v.Accept(w);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
  }
  return std::string(buf.GetString(), buf.GetSize());
}

std::string canonicalToJson(const CanonicalValues& values, bool pretty) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, v] : values) {
    out += first ? "" : ",";
    if (pretty) {
      out += "\n  ";
    }
    first = false;
    out += "\"" + name + "\":" + (pretty ? " " : "") + v.toJson();
  }
  out += pretty && !first ? "\n}" : "}";
  return out;
}

}  // namespace tandem::mappers
