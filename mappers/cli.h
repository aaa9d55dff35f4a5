#pragma once

// `tandem validate` and `tandem map`: the functions behind the commands (the agent's main wires
// them with CLI11). Each returns the process exit code.

#include <optional>
#include <ostream>
#include <string>

#include "mappers/config_loader.h"

namespace tandem::mappers {

// Prints "OK" to `out`, or every problem (one per line) to `err` and returns 1.
int runValidate(const std::string& config_path, std::ostream& out, std::ostream& err,
                const ConfigEnv& env);
int runValidate(const std::string& config_path, std::ostream& out, std::ostream& err);

// Maps the record in `input_path` from `system` to canonical JSON; with `out_system`, on to the
// create body tandem would send to that system. Field errors go to `err`, exit code 1; a bad
// command line (unknown system or entity) exits 2.
int runMap(const std::string& config_path, const std::string& system, const std::string& entity,
           const std::string& input_path, const std::optional<std::string>& out_system,
           std::ostream& out, std::ostream& err, const ConfigEnv& env);
int runMap(const std::string& config_path, const std::string& system, const std::string& entity,
           const std::string& input_path, const std::optional<std::string>& out_system,
           std::ostream& out, std::ostream& err);

}  // namespace tandem::mappers
