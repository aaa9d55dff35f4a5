#pragma once

// A real configuration for CLI and daemon tests: the demo's (fixtures/config), copied into a temp
// dir with its own state dir and admin port, and its secrets from a fake environment.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "mappers/config_loader.h"

namespace tandem::agent::ops::testing {

namespace fs = std::filesystem;

// The demo's secrets, without touching the process environment.
class TestEnv : public mappers::SystemConfigEnv {
 public:
  std::optional<std::string> env(const std::string& name) const override {
    for (const char* n :
         {"CRM_TOKEN", "ERP_KEY", "FIN_TOKEN", "CRM_WEBHOOK_SECRET", "FIN_WEBHOOK_VERIFIER"}) {
      if (name == n) {
        return "value-of-" + name;
      }
    }
    return std::nullopt;
  }
};

// Copies the demo configuration into `dir` with its state in `state_dir` (relative to the file)
// and the admin API on `port`. Returns the config path.
inline std::string writeConfig(const std::string& dir, const std::string& state_dir,
                               uint16_t port) {
  const fs::path src = fs::path(TANDEM_SOURCE_DIR) / "fixtures" / "config";
  fs::copy(src / "mappings", fs::path(dir) / "mappings", fs::copy_options::recursive);
  std::ifstream in(src / "demo.json");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = config.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    config.replace(at, from.size(), to);
  };
  replace(R"("state_dir": "./demo-state")", R"("state_dir": ")" + state_dir + R"(")");
  replace(R"("port": 7070)", R"("port": )" + std::to_string(port));
  const std::string path = (fs::path(dir) / "tandem.json").string();
  std::ofstream(path) << config;
  return path;
}

}  // namespace tandem::agent::ops::testing
