#include "agent/connector/json_util.h"

#include <rapidjson/pointer.h>

#include "mappers/record_json.h"

namespace tandem::agent::connector {

const rapidjson::Value* valueAt(const rapidjson::Value& root, std::string_view pointer) {
  if (pointer.empty()) {
    return &root;
  }
  const rapidjson::Pointer p(pointer.data(), pointer.size());
  if (!p.IsValid()) {
    return nullptr;
  }
  return p.Get(root);
}

std::optional<std::string> scalarText(const rapidjson::Value& value) {
  if (value.IsString()) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  if (value.IsInt64()) {
    return std::to_string(value.GetInt64());
  }
  if (value.IsUint64()) {
    return std::to_string(value.GetUint64());
  }
  return std::nullopt;
}

const char* jsonTypeName(const rapidjson::Value& value) {
  if (value.IsNull()) {
    return "null";
  }
  if (value.IsBool()) {
    return "bool";
  }
  if (value.IsInt64() || value.IsUint64()) {
    return "integer";
  }
  if (value.IsNumber()) {
    return "number";
  }
  if (value.IsString()) {
    return "string";
  }
  if (value.IsArray()) {
    return "array";
  }
  return "object";
}

Result<rapidjson::Document> parseAnswer(std::string_view body) {
  mappers::RecordLimits limits;
  limits.max_bytes = 64u << 20;  // the HTTP client's body limit comes first
  limits.max_depth = 64;
  limits.max_string = 4u << 20;
  rapidjson::Document doc;
  if (auto ok = mappers::parseRecordInto(body, doc, limits); !ok) {
    std::string why = ok.error().message;
    if (why.starts_with("record: ")) {
      why.erase(0, 8);
    }
    return fail("answer is not JSON: " + why + " (" + std::to_string(body.size()) + " bytes)");
  }
  return doc;
}

std::string quoteForError(std::string_view text) {
  constexpr size_t kMax = 80;
  if (text.size() > kMax) {
    return "\"" + std::string(text.substr(0, kMax)) + "...\"";
  }
  return "\"" + std::string(text) + "\"";
}

}  // namespace tandem::agent::connector
