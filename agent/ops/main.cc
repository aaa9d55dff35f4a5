// The `tandem` program: parses the command line and wires objects (STYLE.md item 3). Every
// behaviour is in tandem_ops (agent/ops/cli.h, daemon.h) or mappers/cli.h, reachable from tests.

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include "agent/ops/cli.h"
#include "agent/ops/daemon.h"
#include "agent/ops/heap.h"
#include "agent/runtime/agent.h"
#include "mappers/cli.h"

namespace {

using namespace tandem;
using namespace tandem::agent;

#ifdef TANDEM_HAVE_RUNTIME
constexpr bool kHaveRuntime = true;
#else
constexpr bool kHaveRuntime = false;
#endif

int noRuntime(const char* command) {
  std::cerr << "tandem " << command
            << ": this build has no agent runtime (agent/runtime was not built)\n";
  return 1;
}

ops::CliContext cliContext() {
  ops::CliContext ctx;
#ifdef TANDEM_HAVE_RUNTIME
  ctx.engine_config = [](const mappers::Config& config, state::Store& store) {
    return runtime::buildEngineConfig(config, store);
  };
#endif
  return ctx;
}

int run(const std::string& config) {
  if (!kHaveRuntime) {
    return noRuntime("run");
  }
  ops::RunOptions options;
#ifdef TANDEM_HAVE_RUNTIME
  options.make_agent = [](boost::asio::io_context& ioc, mappers::Config cfg,
                          runtime::AgentOptions agent_options) {
    return runtime::Agent::make(ioc, std::move(cfg), std::move(agent_options));
  };
#endif
  options.log_out = &std::cerr;
  options.allocator = ops::heap::allocatorName();
  options.release_heap = ops::heap::releaseFree;
  options.log_is_tty = isatty(STDERR_FILENO) != 0;
  return ops::runDaemon(config, options, std::cerr);
}

int plan(const std::string& config) {
  if (!kHaveRuntime) {
    return noRuntime("plan");
  }
  ops::PlanFn fn;
#ifdef TANDEM_HAVE_RUNTIME
  fn = [](const mappers::Config& cfg) {
    boost::asio::io_context ioc;
    Logger log(std::cerr, cfg.agent.log_format, LogLevel::Warn);
    log.addSecrets(cfg);
    runtime::AgentOptions options;
    options.log = &log;
    return runtime::plan(ioc, cfg, std::move(options));
  };
#endif
  return ops::runPlan(config, fn, std::cout, std::cerr, cliContext());
}

}  // namespace

int main(int argc, char** argv) {
  ops::heap::tune();
  CLI::App app{"tandem: two-way sync of business records between CRM, ERP and finance systems"};
  app.require_subcommand(1);
  std::string config;
  int code = 0;
  auto configArg = [&](CLI::App* cmd) {
    cmd->add_option("CONFIG", config, "configuration file")->required();
  };

  auto* validate =
      app.add_subcommand("validate", "check a configuration; prints OK or every error");
  configArg(validate);
  validate->callback([&] { code = mappers::runValidate(config, std::cout, std::cerr); });

  std::string system, entity, input;
  std::optional<std::string> out_system;
  auto* map = app.add_subcommand("map", "map one system record to canonical fields (and on)");
  configArg(map);
  map->add_option("--system", system, "system the record comes from")->required();
  map->add_option("--entity", entity, "entity of the record")->required();
  map->add_option("--in", input, "file with the record as the system sends it")->required();
  map->add_option("--out", out_system, "also show the create body for this system");
  map->callback([&] {
    code = mappers::runMap(config, system, entity, input, out_system, std::cout, std::cerr);
  });

  auto* run_cmd = app.add_subcommand("run", "run the agent in the foreground");
  configArg(run_cmd);
  run_cmd->callback([&] { code = run(config); });

  auto* plan_cmd = app.add_subcommand("plan", "dry run: what one pass would do");
  configArg(plan_cmd);
  plan_cmd->callback([&] { code = plan(config); });

  auto* status = app.add_subcommand("status", "the running agent's status (or the stored state)");
  configArg(status);
  status->callback([&] { code = ops::runStatus(config, std::cout, std::cerr, cliContext()); });

  auto* conflicts = app.add_subcommand("conflicts", "review and resolve conflicts");
  conflicts->require_subcommand(1);
  ops::ConflictQuery query;
  auto* c_list = conflicts->add_subcommand("list", "open conflicts (--all: every one)");
  configArg(c_list);
  c_list->add_flag("--all", query.all, "resolved ones too");
  c_list->add_option("--record", query.record, "only conflicts of this record id");
  c_list->add_option("--field", query.field, "only conflicts on this field");
  c_list->callback(
      [&] { code = ops::runConflictsList(config, query, std::cout, std::cerr, cliContext()); });
  std::string id;
  auto* c_show = conflicts->add_subcommand("show", "one conflict with every side");
  configArg(c_show);
  c_show->add_option("ID", id, "conflict id")->required();
  c_show->callback(
      [&] { code = ops::runConflictsShow(config, id, std::cout, std::cerr, cliContext()); });
  std::optional<std::string> take, value;
  std::string note;
  auto* c_resolve = conflicts->add_subcommand("resolve", "choose the value a conflict keeps");
  configArg(c_resolve);
  c_resolve->add_option("ID", id, "conflict id")->required();
  auto* take_opt = c_resolve->add_option("--take", take, "keep this system's value");
  auto* value_opt = c_resolve->add_option("--value", value, "keep this JSON value");
  take_opt->excludes(value_opt);
  c_resolve->add_option("--note", note, "why (kept with the conflict)");
  c_resolve->callback([&] {
    code =
        ops::runConflictsResolve(config, id, take, value, note, std::cout, std::cerr, cliContext());
  });

  auto* dead = app.add_subcommand("deadletters", "pushes given up on");
  dead->require_subcommand(1);
  auto* d_list = dead->add_subcommand("list", "every dead letter");
  configArg(d_list);
  d_list->callback(
      [&] { code = ops::runDeadLettersList(config, std::cout, std::cerr, cliContext()); });
  std::optional<std::string> d_system, d_record;
  auto* d_retry = dead->add_subcommand("retry", "push again (one, or every one)");
  configArg(d_retry);
  d_retry->add_option("--system", d_system, "system of the dead letter");
  d_retry->add_option("--record", d_record, "record id of the dead letter");
  d_retry->callback([&] {
    code = ops::runDeadLettersRetry(config, d_system, d_record, std::cout, std::cerr, cliContext());
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int exit = app.exit(e);
    return exit == 0 ? 0 : 2;  // help is fine; anything else is bad usage
  }
  return code;
}
