#include "mappers/cli.h"

#include "mappers/body_template.h"
#include "mappers/mapper.h"
#include "mappers/record_json.h"

namespace tandem::mappers {

int runValidate(const std::string& config_path, std::ostream& out, std::ostream& err,
                const ConfigEnv& env) {
  auto cfg = loadConfig(config_path, env);
  if (!cfg) {
    err << cfg.error().formatAll();
    err << cfg.error().size() << (cfg.error().size() == 1 ? " error" : " errors") << "\n";
    return 1;
  }
  out << "OK\n";
  return 0;
}

int runValidate(const std::string& config_path, std::ostream& out, std::ostream& err) {
  return runValidate(config_path, out, err, SystemConfigEnv{});
}

int runMap(const std::string& config_path, const std::string& system, const std::string& entity,
           const std::string& input_path, const std::optional<std::string>& out_system,
           std::ostream& out, std::ostream& err, const ConfigEnv& env) {
  auto cfg = loadConfig(config_path, env, LoadOptions{.resolve_secrets = false});
  if (!cfg) {
    err << cfg.error().formatAll();
    return 1;
  }
  auto plan = compilePlan(*cfg, system, entity);
  if (!plan) {
    err << "tandem map: " << plan.error().message << "\n";
    return 2;
  }
  std::optional<MappingPlan> out_plan;
  if (out_system) {
    auto p = compilePlan(*cfg, *out_system, entity);
    if (!p) {
      err << "tandem map: " << p.error().message << "\n";
      return 2;
    }
    out_plan = std::move(*p);
  }
  auto text = env.readFile(input_path);
  if (!text) {
    err << "tandem map: " << text.error().message << "\n";
    return 1;
  }
  auto record = parseRecord(*text);
  if (!record) {
    err << input_path << ": " << record.error().message << "\n";
    return 1;
  }
  auto canonical = toCanonical(*plan, *record);
  if (!canonical) {
    for (const auto& e : canonical.error()) {
      err << e.text() << "\n";
    }
    return 1;
  }
  if (!out_plan) {
    out << canonicalToJson(*canonical, true) << "\n";
    return 0;
  }
  auto body = toSystemDocument(*out_plan, *canonical, WriteMode::Create);
  if (!body) {
    for (const auto& e : body.error()) {
      err << e.text() << "\n";
    }
    return 1;
  }
  const auto& create = cfg->findSystem(*out_system)->findEntity(entity)->connector.create.write;
  auto rendered = renderBody(create.request.body, create.record_at, body->doc());
  if (!rendered) {
    err << "tandem map: " << rendered.error().message << "\n";
    return 1;
  }
  out << *rendered << "\n";
  return 0;
}

int runMap(const std::string& config_path, const std::string& system, const std::string& entity,
           const std::string& input_path, const std::optional<std::string>& out_system,
           std::ostream& out, std::ostream& err) {
  return runMap(config_path, system, entity, input_path, out_system, out, err, SystemConfigEnv{});
}

}  // namespace tandem::mappers
