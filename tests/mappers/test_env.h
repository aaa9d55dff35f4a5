#pragma once

// An in-memory ConfigEnv for tests: files and environment variables, no real I/O.

#include <map>
#include <string>
#include <vector>

#include "mappers/config_loader.h"

namespace tandem::mappers::testing {

class FakeEnv : public ConfigEnv {
 public:
  std::map<std::string, std::string> vars;
  std::map<std::string, std::string> files;

  std::optional<std::string> env(const std::string& name) const override {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  Result<std::string> readFile(const std::string& path) const override {
    auto it = files.find(path);
    if (it == files.end()) {
      return fail("cannot open " + path);
    }
    return it->second;
  }
};

// Every error of a load, formatted "file:line:col: path: message"; none when it loaded.
inline std::vector<std::string> errorsOf(const ConfigResult& cfg) {
  std::vector<std::string> out;
  if (!cfg) {
    for (const auto& d : cfg.error().items()) {
      out.push_back(d.format());
    }
  }
  return out;
}

// The real file system, with a fake environment (for the demo configuration).
class DiskEnv : public SystemConfigEnv {
 public:
  std::map<std::string, std::string> vars;
  std::optional<std::string> env(const std::string& name) const override {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

inline DiskEnv demoEnv() {
  DiskEnv e;
  e.vars = {{"CRM_TOKEN", "crm-token"},
            {"ERP_KEY", "erp-key"},
            {"FIN_TOKEN", "fin-token"},
            {"CRM_WEBHOOK_SECRET", "crm-secret"},
            {"FIN_WEBHOOK_VERIFIER", "fin-verifier"}};
  return e;
}

}  // namespace tandem::mappers::testing
