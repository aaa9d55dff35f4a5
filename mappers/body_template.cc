#include "mappers/body_template.h"

#include <rapidjson/pointer.h>

#include "mappers/mapper.h"

namespace tandem::mappers {

Status placeRecord(rapidjson::Value& body, rapidjson::MemoryPoolAllocator<>& alloc,
                   const std::string& record_at, const rapidjson::Value& record) {
  rapidjson::Value* target = &body;
  if (!record_at.empty()) {
    rapidjson::Pointer p(record_at.c_str());
    if (!p.IsValid()) {
      return fail("record_at \"" + record_at + "\" is not a JSON pointer");
    }
    target = &p.Create(body, alloc);
  }
  if (!target->IsObject()) {
    target->SetObject();
  }
  for (auto it = record.MemberBegin(); it != record.MemberEnd(); ++it) {
    rapidjson::Value key(it->name, alloc);
    rapidjson::Value value(it->value, alloc);
    auto existing = target->FindMember(key);
    if (existing != target->MemberEnd()) {
      existing->value = std::move(value);
    } else {
      target->AddMember(std::move(key), std::move(value), alloc);
    }
  }
  return {};
}

Result<std::string> renderBody(const std::string& body_template, const std::string& record_at,
                               const rapidjson::Value& record) {
  rapidjson::Document doc;
  doc.Parse(body_template.empty() ? "{}" : body_template.c_str());
  if (doc.HasParseError()) {
    return fail("body template is not JSON: " + body_template);
  }
  TANDEM_RETURN_IF_ERROR(placeRecord(doc, doc.GetAllocator(), record_at, record));
  return toJson(doc, true);
}

}  // namespace tandem::mappers
