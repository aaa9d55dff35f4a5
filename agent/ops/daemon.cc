#include "agent/ops/daemon.h"

#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/daemon/lifecycle.h"
#include "agent/net/http_server.h"
#include "agent/ops/admin_api.h"

namespace tandem::agent::ops {

namespace {

namespace asio = boost::asio;

// SIGHUP: the new configuration is swapped in only when it loads, keeps the admin API closed to
// strangers and the agent accepts it.
void reloadConfig(const std::string& path, const mappers::ConfigEnv& env, runtime::Agent& agent,
                  Logger& log) {
  auto cfg = mappers::loadConfig(path, env);
  if (!cfg) {
    log.error("reload refused: the configuration does not validate; the running one stays",
              {{"config", path}, {"errors", cfg.error().formatAll()}});
    return;
  }
  if (auto exposed = checkAdminExposure(cfg->agent.admin); !exposed) {
    log.error("reload refused", {{"config", path}, {"error", exposed.error().message}});
    return;
  }
  const auto& old_admin = agent.config().agent.admin;
  if (cfg->agent.admin.bind != old_admin.bind || cfg->agent.admin.port != old_admin.port ||
      cfg->agent.admin.token.reveal() != old_admin.token.reveal()) {
    log.warn("reload: admin API settings changed; they take effect at the next start",
             {{"config", path}});
  }
  log.addSecrets(*cfg);
  log.setFormat(cfg->agent.log_format);
  log.setMinLevel(logLevelOf(cfg->agent.log_level));
  if (auto applied = agent.reload(std::move(*cfg)); !applied) {
    log.error("reload refused by the agent; the running configuration stays",
              {{"config", path}, {"error", applied.error().message}});
    return;
  }
  // The agent logs the swap itself ("configuration reloaded").
}

// The store writer's thread: its own io_context, run until stop() (or the end of the scope that
// holds it, on every way out of runDaemon).
struct WriterThread {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
  std::thread thread{[this] { ioc.run(); }};

  void stop() {
    if (thread.joinable()) {
      guard.reset();
      ioc.stop();
      thread.join();
    }
  }
  ~WriterThread() { stop(); }
};

// glibc's malloc (the program runs on jemalloc, see heap.h, where this changes nothing; the
// in-process tests run on glibc's). glibc gives a thread that finds the arenas busy a new one, up
// to eight per core, and memory freed into one arena is neither reused by the others nor given
// back. One arena per io thread and one for the writer's thread is as many as allocate at once;
// the flusher threads hardly allocate. After an initial load of 100,000 records (bench_e2e_sync, 2
// cores, medians of 3) the agent's heap was 50.7 MB against 57.0 with glibc's 16 arenas.
// MALLOC_ARENA_MAX in the environment still wins.
void limitMallocArenas(int threads) {
#ifdef M_ARENA_MAX
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, std::max(threads, 2));
  }
#else
  (void)threads;
#endif
}

// What the agent has done so far, as one number that grows with every record read, merge,
// conflict and push outcome (an idle poll that finds nothing leaves it alone).
uint64_t workDone(const runtime::AgentStatus& s) {
  uint64_t n = s.records_synced + s.conflicts_total;
  for (const auto& d : s.detectors) {
    n += d.records;
  }
  for (const auto& sys : s.systems) {
    const auto& p = sys.pushes;
    n += p.success + p.retryable + p.stale + p.permanent + p.not_found;
  }
  return n;
}

void releaseFreeHeap() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// Gives freed heap back once per stretch of work, when two looks in a row find nothing new
// done. Ends with the io_context.
asio::awaitable<void> releaseHeapWhenQuiet(const runtime::Agent& agent,
                                           std::chrono::milliseconds every,
                                           std::function<void()> release) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::optional<uint64_t> last;
  bool released = false;
  for (;;) {
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    const uint64_t work = workDone(agent.counters());
    if (!last || work != *last) {
      last = work;
      released = false;
    } else if (!released) {
      release();
      released = true;
    }
  }
}

}  // namespace

int runDaemon(const std::string& config_path, const RunOptions& options, std::ostream& err) {
  mappers::SystemConfigEnv system_env;
  const mappers::ConfigEnv& env = options.env != nullptr ? *options.env : system_env;
  auto cfg = mappers::loadConfig(config_path, env);
  if (!cfg) {
    err << cfg.error().formatAll();
    err << cfg.error().size() << (cfg.error().size() == 1 ? " error" : " errors") << " in "
        << config_path << "\n";
    return 1;
  }
  if (auto exposed = checkAdminExposure(cfg->agent.admin); !exposed) {
    err << "tandem run: " << exposed.error().message << "\n";
    return 1;
  }
  Logger log(*options.log_out, cfg->agent.log_format, logLevelOf(cfg->agent.log_level));
  log.addSecrets(*cfg);
  const mappers::AdminSettings admin = cfg->agent.admin;

  limitMallocArenas(options.threads + 1);  // and the writer's thread
  // A write past the file-size limit (ulimit -f, a quota) fails with EFBIG and the batch waits to
  // be retried, as with a full disk, instead of the signal's default: killing the agent.
  ::signal(SIGXFSZ, SIG_IGN);
  asio::io_context ioc(options.threads);
  WriterThread writer;  // outlives the agent, which is made after it
  runtime::AgentOptions agent_options;
  agent_options.writer_context = &writer.ioc;
  agent_options.log = &log;
  agent_options.progress = options.log_out;
  agent_options.progress_is_tty = options.log_is_tty;
  auto made = options.make_agent(ioc, std::move(*cfg), std::move(agent_options));
  if (!made) {
    log.error("agent could not start", {{"error", made.error().message}});
    err << "tandem run: " << made.error().message << "\n";
    return 1;
  }
  std::unique_ptr<runtime::Agent> agent = std::move(*made);

  AdminApi api(*agent, admin.token.reveal(), log);
  net::Router router;
  api.addRoutes(router);
  agent->addRoutes(router);
  net::HttpServerOptions server_options;
  server_options.bindAddress = admin.bind == "localhost" ? "127.0.0.1" : admin.bind;
  server_options.port = admin.port;
  net::HttpServer server(ioc, server_options, std::move(router));
  if (auto started = server.start(); !started) {
    log.error("admin API could not start", {{"error", started.error().message}});
    err << "tandem run: " << started.error().message << "\n";
    return 1;
  }

  auto guard = asio::make_work_guard(ioc);
  int exit_code = 0;
  const auto deadline = options.drain_deadline;
  daemon::Lifecycle lifecycle(
      ioc, daemon::LifecycleHooks{
               .onReload = [&] { reloadConfig(config_path, env, *agent, log); },
               .stopIntake =
                   [&] {
                     log.info("stopping: readiness off, intake stopped, draining");
                     api.setDraining();
                     agent->stopIntake();
                   },
               .drain =
                   [&, deadline](std::function<void()> done) {
                     agent->drain([&server, deadline, done = std::move(done)] {
                       server.drain(deadline, done);
                     });
                   },
               .onExit =
                   [&](int code) {
                     exit_code = code;
                     log.info("stopped", {{"exit_code", code}});
                     guard.reset();
                     ioc.stop();  // drained: only idle timers of the agent remain
                   },
           });
  if (auto started = agent->start(); !started) {
    log.error("agent could not start", {{"error", started.error().message}});
    err << "tandem run: " << started.error().message << "\n";
    return 1;
  }
  asio::co_spawn(
      ioc,
      releaseHeapWhenQuiet(*agent, options.quiet_check,
                           options.release_heap ? options.release_heap : releaseFreeHeap),
      asio::detached);
  if (auto started = lifecycle.start(); !started) {
    err << "tandem run: " << started.error().message << "\n";
    return 1;
  }
  std::vector<LogField> running{{"config", config_path},
                                {"admin", admin.bind + ":" + std::to_string(server.port())},
                                {"systems", static_cast<uint64_t>(agent->config().systems.size())}};
  if (!options.allocator.empty()) {
    running.emplace_back("allocator", options.allocator);
  }
  log.log(LogLevel::Info, "tandem running", running);
  if (options.on_started) {
    options.on_started(DaemonHandle{
        .admin_port = server.port(),
        .shutdown = [&lifecycle] { lifecycle.requestShutdown(); },
        .reload = [&] { asio::post(ioc, [&] { reloadConfig(config_path, env, *agent, log); }); },
    });
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }
  ioc.run();
  for (auto& t : threads) {
    t.join();
  }
  writer.stop();  // drained: no store write is under way, and none starts now
  return exit_code;
}

}  // namespace tandem::agent::ops
