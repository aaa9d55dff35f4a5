// Pieces every CLI command uses: loading the configuration, opening the existing state.

#include <filesystem>

#include "agent/ops/cli.h"

namespace tandem::agent::ops::cli_detail {

std::optional<mappers::Config> loadConfig(const std::string& path, Secrets secrets,
                                          std::ostream& err, const CliContext& ctx) {
  mappers::SystemConfigEnv system_env;
  const mappers::ConfigEnv& env = ctx.env != nullptr ? *ctx.env : system_env;
  auto cfg = mappers::loadConfig(
      path, env,
      mappers::LoadOptions{.resolve_secrets = secrets == Secrets::All,
                           .resolve_admin_token = secrets == Secrets::AdminToken});
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

std::optional<StoredState> readStoredState(const std::string& config_path, std::string_view command,
                                           std::ostream& err, const CliContext& ctx) {
  auto cfg = loadConfig(config_path, Secrets::None, err, ctx);
  if (!cfg) {
    return std::nullopt;
  }
  auto store = openExistingStore(*cfg, ctx);
  if (!store) {
    err << "tandem " << command << ": " << store.error().message << "\n";
    return std::nullopt;
  }
  auto snap = (*store)->read();
  if (!snap) {
    err << "tandem " << command << ": " << snap.error().message << "\n";
    return std::nullopt;
  }
  return StoredState{std::move(*store), std::move(*snap)};
}

}  // namespace tandem::agent::ops::cli_detail
