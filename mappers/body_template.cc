#include "mappers/body_template.h"

#include <rapidjson/pointer.h>

#include "mappers/mapper.h"

namespace tandem::mappers {

Result<std::string> renderBody(const std::string& body_template, const std::string& record_at,
                               const rapidjson::Value& record) {
  rapidjson::Document doc;
  doc.Parse(body_template.empty() ? "{}" : body_template.c_str());
  if (doc.HasParseError()) {
    return fail("body template is not JSON: " + body_template);
  }
  rapidjson::Value* target = &doc;
  if (!record_at.empty()) {
    rapidjson::Pointer p(record_at.c_str());
    if (!p.IsValid()) {
      return fail("record_at \"" + record_at + "\" is not a JSON pointer");
    }
    target = &p.Create(doc);
  }
  if (!target->IsObject()) {
    target->SetObject();
  }
  auto& a = doc.GetAllocator();
  for (auto it = record.MemberBegin(); it != record.MemberEnd(); ++it) {
    rapidjson::Value key(it->name, a);
    rapidjson::Value value(it->value, a);
    auto existing = target->FindMember(key);
    if (existing != target->MemberEnd()) {
      existing->value = std::move(value);
    } else {
      target->AddMember(std::move(key), std::move(value), a);
    }
  }
  return toJson(doc, true);
}

}  // namespace tandem::mappers
