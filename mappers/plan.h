#pragma once

// The compiled form of a mapping (private to the engine: plan.cc, read.cc, write.cc).

#include <string>
#include <unordered_map>
#include <vector>

#include <rapidjson/document.h>

#include "mappers/mapper.h"

namespace tandem::mappers {

struct CompiledPointer {
  std::string text;
  std::vector<std::string> tokens;
  std::vector<int64_t> index;  // token as array index, or -1
};

struct FieldStep {
  FieldMapping spec;
  CompiledPointer ptr;
  FieldType type = FieldType::String;
  Normalize norm;
  EmptyForm empty = EmptyForm::Null;
  bool read = true;
  bool write = true;
  std::unordered_map<std::string, std::string> forward;  // system → canonical
  std::unordered_map<std::string, std::string> inverse;  // canonical → system
};

struct JoinStep {
  JoinMapping spec;
  CompiledPointer ptr;
  std::vector<Normalize> norms;
  EmptyForm empty = EmptyForm::Null;
  bool read = true;
  bool write = true;
};

struct ConstStep {
  CompiledPointer ptr;
  rapidjson::Document value;
  bool create_only = true;
};

struct PlanImpl {
  std::string system;
  std::string entity;
  std::vector<FieldStep> fields;
  std::vector<JoinStep> joins;
  std::vector<ConstStep> constants;
  std::vector<std::string> read_fields;
  std::vector<std::string> write_fields;
};

const rapidjson::Value* resolve(const CompiledPointer& p, const rapidjson::Value& root);

}  // namespace tandem::mappers
