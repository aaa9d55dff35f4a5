// Pieces every CLI command uses: loading the configuration, opening the existing state.

#include <filesystem>

#include "agent/ops/cli.h"

namespace tandem::agent::ops::cli_detail {

std::optional<mappers::Config> loadConfig(const std::string& path, bool resolve_secrets,
                                          std::ostream& err, const CliContext& ctx) {
  mappers::SystemConfigEnv system_env;
  const mappers::ConfigEnv& env = ctx.env != nullptr ? *ctx.env : system_env;
  auto cfg =
      mappers::loadConfig(path, env, mappers::LoadOptions{.resolve_secrets = resolve_secrets});
  if (!cfg) {
    err << cfg.error().formatAll();
    err << cfg.error().size() << (cfg.error().size() == 1 ? " error" : " errors") << " in " << path
        << "\n";
    return std::nullopt;
  }
  return std::move(*cfg);
}

Result<std::unique_ptr<state::Store>> openExistingStore(const mappers::Config& config,
                                                        const CliContext& ctx) {
  const std::string& dir = config.agent.state_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail("state: no state at " + dir + " (the agent has not run with this configuration)");
  }
  return state::Store::open(dir, ctx.store);
}

}  // namespace tandem::agent::ops::cli_detail
