// Agent: the facade the operator side (agent/ops) drives; the work happens in core.cc,
// detector.cc, pusher.cc and webhooks.cc.

#include "agent/runtime/agent.h"

#include "agent/runtime/core.h"
#include "agent/runtime/status.h"
#include "agent/runtime/webhooks.h"

namespace tandem::agent::runtime {

namespace {

using detail::Core;

class AgentImpl final : public Agent {
 public:
  explicit AgentImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  // Coroutines still running keep the core alive; they see the stop and end.
  ~AgentImpl() override { core_->stopIntake(); }

  void addRoutes(net::Router& router) override { detail::addWebhookRoutes(core_, router); }

  Status start() override {
    if (core_->started.exchange(true)) {
      return fail("runtime: start: already started");
    }
    if (core_->stopping()) {
      return fail("runtime: start: the agent is stopping");
    }
    core_->started_ms = core_->clock().nowMs();
    for (auto& rt : core_->systems()) {
      core_->startSystem(rt);
    }
    core_->ready = true;
    core_->log().info("agent started",
                      {{"systems", static_cast<uint64_t>(core_->systems().size())}});
    return {};
  }
  bool ready() const override { return core_->ready.load(); }

  void stopIntake() override { core_->stopIntake(); }
  void drain(std::function<void()> done) override { core_->drain(std::move(done)); }
  Status reload(mappers::Config config) override { return core_->reload(std::move(config)); }
  AgentStatus status() const override { return detail::buildStatus(*core_); }
  AgentStatus counters() const override {
    return detail::buildStatus(*core_, /*store_gauges=*/false);
  }

  boost::asio::awaitable<Status> resolveConflict(uint64_t conflict_id, conflict::Value chosen,
                                                 std::string note) override {
    auto core = core_;
    auto done = co_await core->onWriter(
        [&] { return core->engine().resolveConflict(conflict_id, chosen, std::move(note)); });
    if (done) {
      core->log().info("conflict resolved", {{"conflict", conflict_id}});
      core->wakeAll();
    }
    co_return done;
  }

  boost::asio::awaitable<Status> retryDeadLetter(std::string system, std::string record) override {
    auto core = core_;
    std::optional<conflict::ActorId> id;
    if (auto rt = core->system(system)) {
      id = rt->id;
    }
    if (!id) {
      co_return fail("runtime: retry dead letter " + record + ": unknown system \"" + system +
                     "\"");
    }
    auto done =
        co_await core->onWriter([&] { return core->engine().retryDeadLetter(*id, record); });
    if (done) {
      core->log().info("dead letter retried", {{"system", system}, {"record", record}});
      core->wakeAll();
    }
    co_return done;
  }

  const mappers::Config& config() const override { return *core_->config(); }
  state::Store& store() override { return core_->store(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::make(boost::asio::io_context& ioc, mappers::Config config,
                                           AgentOptions options) {
  if (options.log == nullptr) {
    return fail("runtime: make: AgentOptions::log is required");
  }
  auto core = std::make_shared<Core>(ioc, std::move(options));
  TANDEM_RETURN_IF_ERROR(core->open(std::move(config)));
  return std::unique_ptr<Agent>(new AgentImpl(std::move(core)));
}

}  // namespace tandem::agent::runtime
