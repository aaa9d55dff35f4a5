#include "agent/ops/resolve.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "mappers/mapper.h"

namespace tandem::agent::ops {

namespace {

using conflict::Value;

std::string parseError(const rapidjson::Document& doc) {
  return std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
         std::to_string(doc.GetErrorOffset());
}

std::string describeJson(const rapidjson::Value& v) {
  std::string text = mappers::toJson(v);
  if (text.size() > 60) {
    text = text.substr(0, 57) + "...";
  }
  return text;
}

}  // namespace

Result<ResolveRequest> parseResolveBody(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return fail("body: not JSON: " + parseError(doc));
  }
  if (!doc.IsObject()) {
    return fail("body: expected a JSON object like {\"take\":\"crm\"} or {\"value\":...}");
  }
  ResolveRequest r;
  for (const auto& m : doc.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name == "take") {
      if (!m.value.IsString()) {
        return fail("body.take: expected a string (a system name)");
      }
      r.take = std::string(m.value.GetString(), m.value.GetStringLength());
    } else if (name == "value") {
      r.value_json = mappers::toJson(m.value);
    } else if (name == "note") {
      if (!m.value.IsString()) {
        return fail("body.note: expected a string");
      }
      r.note.assign(m.value.GetString(), m.value.GetStringLength());
    } else {
      return fail("body." + name + ": unknown member (expected take, value, note)");
    }
  }
  if (r.take && r.value_json) {
    return fail("body: give either \"take\" or \"value\", not both");
  }
  if (!r.take && !r.value_json) {
    return fail("body: missing \"take\" (a system) or \"value\" (the value to keep)");
  }
  return r;
}

Result<RetryRequest> parseRetryBody(std::string_view body) {
  RetryRequest r;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return r;
  }
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return fail("body: not JSON: " + parseError(doc));
  }
  if (!doc.IsObject()) {
    return fail("body: expected a JSON object like {\"system\":\"erp\",\"record\":\"r-1\"}");
  }
  for (const auto& m : doc.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name != "system" && name != "record") {
      return fail("body." + name + ": unknown member (expected system, record)");
    }
    if (!m.value.IsString() || m.value.GetStringLength() == 0) {
      return fail("body." + name + ": expected a non-empty string");
    }
    (name == "system" ? r.system : r.record).assign(m.value.GetString(), m.value.GetStringLength());
  }
  if (r.system.empty() != r.record.empty()) {
    return fail("body: give both \"system\" and \"record\", or neither to retry every dead letter");
  }
  return r;
}

Result<Value> parseValue(std::string_view json, mappers::FieldType type, std::string_view field) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return fail("value: not JSON: " + parseError(doc));
  }
  const std::string expected = "value: field " + std::string(field) + " is " +
                               (type == mappers::FieldType::Integer ? "an " : "a ") +
                               mappers::fieldTypeName(type);
  auto wrong = [&] { return fail(expected + ", got " + describeJson(doc)); };
  if (doc.IsNull()) {
    return Value::null();
  }
  switch (type) {
    case mappers::FieldType::String:
      if (!doc.IsString()) {
        return wrong();
      }
      return Value::string(std::string(doc.GetString(), doc.GetStringLength()));
    case mappers::FieldType::Number:
      if (!doc.IsNumber()) {
        return wrong();
      }
      return Value::number(doc.GetDouble());
    case mappers::FieldType::Integer:
    case mappers::FieldType::DateTime:
      if (!doc.IsInt64()) {
        return wrong();
      }
      return Value::integer(doc.GetInt64());
    case mappers::FieldType::Bool:
      if (!doc.IsBool()) {
        return wrong();
      }
      return Value::boolean(doc.GetBool());
    case mappers::FieldType::StringSet: {
      if (!doc.IsArray()) {
        return wrong();
      }
      Value::StringSet items;
      for (const auto& item : doc.GetArray()) {
        if (!item.IsString()) {
          return wrong();
        }
        items.emplace_back(item.GetString(), item.GetStringLength());
      }
      return Value::stringSet(std::move(items));
    }
  }
  return wrong();
}

Result<Value> chosenValue(const ResolveRequest& request, const conflict::ConflictEntry& entry,
                          const ActorNames& names, const mappers::Config& config) {
  const std::string where = "conflict " + std::to_string(entry.id);
  if (request.take) {
    std::string sides;
    for (const auto& side : entry.sides) {
      const std::string name = names.name(side.system);
      if (name == *request.take) {
        return side.value;
      }
      sides += (sides.empty() ? "" : ", ") + name;
    }
    return fail(where + " has no side from system \"" + *request.take + "\" (sides: " + sides +
                ")");
  }
  if (entry.field == conflict::kDeleteField) {
    // A delete conflict: true keeps the record deleted, false revives it.
    return parseValue(*request.value_json, mappers::FieldType::Bool, "$deleted (keep deleted?)");
  }
  const mappers::EntityConfig* entity = config.findEntity(entry.entity);
  const mappers::CanonicalField* field = entity ? entity->findField(entry.field) : nullptr;
  if (field == nullptr) {
    return fail(where + ": field " + entry.entity + "." + entry.field +
                " is not in the configuration any more");
  }
  return parseValue(*request.value_json, field->type, entry.field);
}

std::string resolveNote(const ResolveRequest& request, std::string_view via) {
  if (!request.note.empty()) {
    return request.note;
  }
  if (request.take) {
    return "resolved " + std::string(via) + ": took " + *request.take;
  }
  return "resolved " + std::string(via) + ": value set";
}

}  // namespace tandem::agent::ops
