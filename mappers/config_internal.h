#pragma once

// Shared by the parts of the loader (config_loader.cc, entity_schema.cc, connector_schema.cc,
// mapping_schema.cc). Not part of the public API.

#include <string>
#include <vector>

#include "mappers/config.h"
#include "mappers/config_loader.h"
#include "mappers/schema_reader.h"

namespace tandem::mappers::detail {

struct LoadContext {
  Diagnostics& diags;
  const ConfigEnv& env;
  std::string base_dir;  // of the main config file, for includes and {"file": ...}
  std::vector<std::string> system_names;
  const std::vector<EntityConfig>* entities = nullptr;
  LoadOptions opts;
};

// {"env": "NAME"} or {"file": "path"}; inline strings are refused.
Secret readSecret(const JNode* n, const std::string& path, LoadContext& ctx);

EntityConfig parseEntity(const JNode& n, const std::string& path, LoadContext& ctx);
void parseTimeFormat(ObjectReader& r, std::string_view key, TimeFormat& out);
FieldType parseFieldType(ObjectReader& r, std::string_view key);
ConnectorSpec parseConnector(ObjectReader& r, const std::vector<std::string>& vars,
                             LoadContext& ctx);
// `n` is the mapping object (already loaded from an include when there was one).
MappingSpec parseMapping(const JNode& n, const std::string& path, const EntityConfig& entity,
                         const std::string& system, LoadContext& ctx);
std::string joinPath(std::string_view dir, std::string_view file);

}  // namespace tandem::mappers::detail
