#pragma once

// Loads and validates the configuration file (and the mapping files it includes), resolving
// secret references through an injectable environment so tests never touch the real one.

#include <expected>
#include <optional>
#include <string>

#include "conflict/result.h"
#include "mappers/config.h"
#include "mappers/diagnostics.h"

namespace tandem::mappers {

// Where the loader reads environment variables and files (config includes, {"file": ...}).
class ConfigEnv {
 public:
  virtual ~ConfigEnv() = default;
  virtual std::optional<std::string> env(const std::string& name) const = 0;
  virtual Result<std::string> readFile(const std::string& path) const = 0;
};

// The process environment and the file system.
class SystemConfigEnv : public ConfigEnv {
 public:
  std::optional<std::string> env(const std::string& name) const override;
  Result<std::string> readFile(const std::string& path) const override;
};

using ConfigResult = std::expected<Config, Diagnostics>;

struct LoadOptions {
  // false: secret references are checked but not resolved (`tandem map` needs no tokens).
  bool resolve_secrets = true;
  // With resolve_secrets false: still resolve agent.admin.token, the one secret a command that
  // talks to the running agent needs (`tandem status`, `conflicts`, `deadletters`).
  bool resolve_admin_token = false;
};

// Every problem in the file and its includes is reported at once, each with its location.
ConfigResult loadConfig(const std::string& path, const ConfigEnv& env, LoadOptions opts = {});
ConfigResult loadConfigText(std::string_view text, const std::string& path, const ConfigEnv& env,
                            LoadOptions opts = {});

}  // namespace tandem::mappers
