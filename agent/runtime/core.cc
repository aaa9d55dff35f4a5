// The runtime's shared core: building systems, tracked coroutines, the writer strand, drain and
// reload (see core.h).

#include "agent/runtime/core.h"

#include <algorithm>
#include <exception>

#include "agent/runtime/defaults.h"
#include "agent/runtime/detector.h"
#include "agent/runtime/existence.h"
#include "agent/runtime/pusher.h"

namespace tandem::agent::runtime::detail {

EntityRuntime::EntityRuntime() = default;
EntityRuntime::~EntityRuntime() = default;
SystemRuntime::SystemRuntime(std::shared_ptr<const mappers::Config> cfg,
                             const mappers::SystemConfig& sys, conflict::ActorId actor,
                             const Strand& s)
    : config(std::move(cfg)), spec(&sys), id(actor), strand(s), exited(s) {}
SystemRuntime::~SystemRuntime() = default;

std::string exceptionText(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    if (ex.what() != nullptr && *ex.what() != '\0') {
      return ex.what();  // never "": callers take "" for no exception
    }
    return "exception without a message";
  } catch (...) {
  }
  return "unknown exception";
}

SystemRuntime::ReadMark::ReadMark(SystemRuntime& sys)
    : sys_(sys), started_(std::chrono::steady_clock::now()) {
  ++sys_.reads_in_flight_[started_];
}

SystemRuntime::ReadMark::~ReadMark() {
  const auto it = sys_.reads_in_flight_.find(started_);
  if (it != sys_.reads_in_flight_.end() && --it->second == 0) {
    sys_.reads_in_flight_.erase(it);
  }
  sys_.forgetAnswers();
}

void SystemRuntime::noteAnswer(const std::string& native_id) {
  if (native_id.empty()) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  answered_at_[native_id] = now;
  answer_order_.emplace_back(now, native_id);
  forgetAnswers();
}

int SystemRuntime::readsInFlight() const {
  int n = 0;
  for (const auto& [at, count] : reads_in_flight_) {
    n += count;
  }
  return n;
}

bool SystemRuntime::answeredSince(const std::string& native_id, TimePoint read_started) const {
  const auto it = answered_at_.find(native_id);
  return it != answered_at_.end() && it->second >= read_started;
}

// Answers older than the oldest read in flight can make no read doubtful: every read that
// starts from now on starts after them.
void SystemRuntime::forgetAnswers() {
  while (
      !answer_order_.empty() &&
      (reads_in_flight_.empty() || answer_order_.front().first < reads_in_flight_.begin()->first)) {
    auto& [at, native_id] = answer_order_.front();
    const auto it = answered_at_.find(native_id);
    if (it != answered_at_.end() && it->second == at) {
      answered_at_.erase(it);
    }
    answer_order_.pop_front();
  }
}

EntityRuntime* SystemRuntime::entity(std::string_view name) {
  for (auto& e : entities) {
    if (e->entity->name == name) {
      return e.get();
    }
  }
  return nullptr;
}

Core::Core(asio::io_context& ioc, AgentOptions options)
    : ioc_(ioc),
      options_(std::move(options)),
      own_clock_(options_.clock == nullptr ? std::make_unique<SystemClock>() : nullptr),
      clock_(options_.clock != nullptr ? options_.clock : own_clock_.get()),
      engine_clock_(*clock_),
      writer_(
          asio::make_strand(options_.writer_context != nullptr ? *options_.writer_context : ioc)),
      stats_(std::make_shared<Stats>()) {
  if (!options_.connector_factory) {
    options_.connector_factory = defaultConnectorFactory();
  }
  if (!options_.channel_factory) {
    options_.channel_factory = defaultChannelFactory();
  }
}

Status Core::open(mappers::Config config) {
  const std::string dir =
      options_.state_dir_override.empty() ? config.agent.state_dir : options_.state_dir_override;
  TANDEM_ASSIGN_OR_RETURN(store_, state::Store::open(dir, options_.store));
  TANDEM_ASSIGN_OR_RETURN(auto ec, buildEngineConfig(config, *store_));
  if (options_.backoff) {
    ec.backoff = options_.backoff;
  }
  log().addSecrets(config);
  auto cfg = std::make_shared<const mappers::Config>(std::move(config));
  TANDEM_ASSIGN_OR_RETURN(auto systems, buildSystems(cfg));
  engine_ = std::make_unique<engine::SyncEngine>(*store_, engine_clock_, std::move(ec));
  TANDEM_RETURN_IF_ERROR(prepareState(true));
  std::lock_guard lock(mu_);
  config_ = cfg;
  configs_.push_back(cfg);
  systems_ = std::move(systems);
  return {};
}

Status Core::prepareState(bool at_start) {
  // Only at start: on a reload the old pushers still await their creates' answers.
  TANDEM_ASSIGN_OR_RETURN(size_t reclaimed,
                          at_start ? engine_->reclaimSentCreates() : Result<size_t>(0));
  if (reclaimed > 0) {
    log().info("creates left unanswered by the last run are read back now",
               {{"creates", static_cast<uint64_t>(reclaimed)}});
  }
  TANDEM_ASSIGN_OR_RETURN(size_t queued, engine_->placeExisting());
  if (queued > 0) {
    log().info("stored records queued for systems that joined",
               {{"pushes", static_cast<uint64_t>(queued)}});
  }
  return {};
}

Result<std::map<std::string, std::shared_ptr<SystemRuntime>>> Core::buildSystems(
    const std::shared_ptr<const mappers::Config>& cfg) {
  std::map<std::string, conflict::ActorId> ids;
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_->read());
    TANDEM_ASSIGN_OR_RETURN(auto actors, snap.actors());
    for (const auto& [name, id] : actors) {
      ids[name] = id;
    }
  }
  std::map<std::string, std::shared_ptr<SystemRuntime>> out;
  for (const auto& sys : cfg->systems) {
    const std::string where = "runtime: system " + sys.name;
    auto id = ids.find(sys.name);
    if (id == ids.end()) {
      return fail(where + ": no actor id registered");
    }
    Strand strand = asio::make_strand(ioc_);
    {
      std::lock_guard lock(mu_);
      auto known = strands_.find(sys.name);
      if (known != strands_.end()) {
        strand = known->second;
      } else {
        strands_.emplace(sys.name, strand);
      }
    }
    auto rt = std::make_shared<SystemRuntime>(cfg, sys, id->second, strand);
    connector::ChannelOptions copts;
    copts.ca_file = options_.ca_file;
    copts.observer = [stats = stats_](const connector::RequestObservation& o) {
      stats->observe(o);
    };
    auto channel = options_.channel_factory(ioc_, sys, *clock_, std::move(copts));
    if (!channel) {
      return failWith(where + ": channel", channel.error());
    }
    rt->channel = std::move(*channel);
    for (const auto& se : sys.entities) {
      auto er = std::make_unique<EntityRuntime>();
      er->spec = &se;
      er->entity = cfg->findEntity(se.entity);
      if (er->entity == nullptr) {
        return fail(where + ": unknown entity \"" + se.entity + "\"");
      }
      auto plan = mappers::compilePlan(se.mapping, *er->entity, sys.name);
      if (!plan) {
        return failWith(where + " entity " + se.entity, plan.error());
      }
      er->plan = std::move(*plan);
      auto conn = options_.connector_factory(*rt->channel, sys, se);
      if (!conn) {
        return failWith(where + " entity " + se.entity + ": connector", conn.error());
      }
      er->connector = std::move(*conn);
      er->detector = std::make_unique<Detector>(*this, *rt, *er);
      er->checker = std::make_unique<ExistenceChecker>(*this, *rt, *er);
      std::lock_guard lock(stats_->mu);
      auto& d = stats_->detectors[{sys.name, se.entity}];
      d.system = sys.name;
      d.entity = se.entity;
      d.webhook = se.connector.webhook.has_value();
      if (d.webhook) {
        auto& w = stats_->webhooks[{sys.name, se.entity}];
        w.system = sys.name;
        w.entity = se.entity;
      }
      rt->entities.push_back(std::move(er));
    }
    rt->pusher = std::make_unique<Pusher>(*this, *rt);
    {
      std::lock_guard lock(stats_->mu);
      auto& s = stats_->systems[sys.name];
      s.name = sys.name;
      if (s.breaker.empty()) {
        s.breaker = "closed";
      }
    }
    out.emplace(sys.name, std::move(rt));
  }
  return out;
}

std::shared_ptr<const mappers::Config> Core::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

std::shared_ptr<SystemRuntime> Core::system(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = systems_.find(std::string(name));
  return it == systems_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<SystemRuntime>> Core::systems() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<SystemRuntime>> out;
  for (const auto& [name, rt] : systems_) {
    out.push_back(rt);
  }
  return out;
}

void Core::spawn(const Strand& strand, asio::awaitable<void> coro, std::string what) {
  {
    std::lock_guard lock(drain_mu_);
    ++active_;
  }
  asio::co_spawn(
      strand, std::move(coro),
      [self = shared_from_this(), what = std::move(what)](std::exception_ptr e) {
        if (e) {
          self->log().error("runtime: task failed", {{"task", what}, {"error", exceptionText(e)}});
        }
        self->finished();
      });
}

void Core::finished() {
  std::function<void()> done;
  {
    std::lock_guard lock(drain_mu_);
    --active_;
    if (active_ == 0 && draining_ && drain_done_) {
      done = std::move(drain_done_);
      drain_done_ = nullptr;
      drained_ = true;
    }
  }
  if (done) {
    asio::post(ioc_, std::move(done));
  }
}

asio::awaitable<void> Core::loop(std::shared_ptr<SystemRuntime> rt,
                                 std::function<asio::awaitable<void>()> body, std::string what) {
  const int64_t interval = std::max<int64_t>(1, rt->config->agent.poll_interval_ms);
  int64_t pause_ms = 0;
  for (;;) {
    std::string thrown;
    try {
      co_await body();
    } catch (...) {
      thrown = exceptionText(std::current_exception());
    }
    if (thrown.empty() || stopped(*rt)) {
      break;
    }
    pause_ms = std::clamp<int64_t>(pause_ms * 2, interval, 60'000);
    log().error("runtime: loop failed, restarting it",
                {{"loop", what}, {"error", thrown}, {"restart_in_ms", pause_ms}});
    asio::steady_timer pause(rt->strand, std::chrono::milliseconds(pause_ms));
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped(*rt)) {
      break;
    }
  }
  rt->leave();
}

asio::awaitable<void> Core::runSystem(std::shared_ptr<SystemRuntime> rt) {
  // The previous generation of this system (before a reload) shares the strand: wait until its
  // loops and pushes have ended, so two pushers never hand out the same entry.
  if (rt->predecessor) {
    while (rt->predecessor->loops > 0) {
      co_await rt->predecessor->exited.wait();
    }
    rt->predecessor.reset();
  }
  if (stopped(*rt)) {
    co_return;
  }
  for (auto& ent : rt->entities) {
    Detector* detector = ent->detector.get();
    spawnLoop(rt, "detector " + rt->name() + "." + ent->entity->name,
              [detector, rt] { return detector->run(rt); });
    if (rt->config->existenceCheck(*rt->spec).interval_ms > 0) {
      ExistenceChecker* checker = ent->checker.get();
      spawnLoop(rt, "existence check " + rt->name() + "." + ent->entity->name,
                [checker, rt] { return checker->run(rt); });
    }
  }
  Pusher* pusher = rt->pusher.get();
  spawnLoop(rt, "pusher " + rt->name(), [pusher, rt] { return pusher->run(rt); });
}

void Core::spawnLoop(const std::shared_ptr<SystemRuntime>& rt, std::string what,
                     std::function<asio::awaitable<void>()> body) {
  rt->enter();
  spawn(rt->strand, loop(rt, std::move(body), what), what);
}

void Core::startSystem(const std::shared_ptr<SystemRuntime>& rt) {
  spawn(rt->strand, runSystem(rt), "start " + rt->name());
}

void Core::wakeSystem(const std::shared_ptr<SystemRuntime>& rt) {
  asio::post(rt->strand, [rt] {
    for (auto& ent : rt->entities) {
      ent->detector->wakeHere();
      ent->checker->wakeHere();
    }
    rt->pusher->wakeHere();
  });
}

void Core::wakeAll() {
  for (auto& rt : systems()) {
    rt->pusher->wake(rt);
  }
}

void Core::stopIntake() {
  stopping_ = true;
  ready = false;
  for (auto& rt : systems()) {
    wakeSystem(rt);
  }
}

void Core::drain(std::function<void()> done) {
  stopIntake();
  bool now = false;
  {
    std::lock_guard lock(drain_mu_);
    draining_ = true;
    if (active_ == 0) {
      now = true;
      drained_ = true;
    } else {
      drain_done_ = std::move(done);
    }
  }
  if (now && done) {
    asio::post(ioc_, std::move(done));
  }
}

bool Core::drained() const {
  std::lock_guard lock(drain_mu_);
  return drained_;
}

Status Core::reload(mappers::Config config) {
  if (stopping()) {
    return fail("runtime: reload: the agent is stopping");
  }
  TANDEM_ASSIGN_OR_RETURN(auto ec, buildEngineConfig(config, *store_));
  if (options_.backoff) {
    ec.backoff = options_.backoff;
  }
  log().addSecrets(config);
  auto cfg = std::make_shared<const mappers::Config>(std::move(config));
  TANDEM_ASSIGN_OR_RETURN(auto systems, buildSystems(cfg));
  // Swapped on the writer strand before any new loop can reach the engine: the new loops first
  // wait for the old ones on their system strands, and their engine calls queue behind this.
  asio::post(writer_, [self = shared_from_this(), ec = std::move(ec)]() mutable {
    // Creates handed to the old engine's next refills go to the new one's through the outbox.
    if (auto released = self->engine_->releaseHanded(); !released) {
      self->log().error("reload: creates handed to the pushers stay marked until their lease ends",
                        {{"error", released.error().message}});
    }
    self->engine_ =
        std::make_unique<engine::SyncEngine>(*self->store_, self->engine_clock_, std::move(ec));
    if (auto placed = self->prepareState(false); !placed) {
      self->log().error("reload: placing stored records in added systems",
                        {{"error", placed.error().message}});
    }
  });
  std::map<std::string, std::shared_ptr<SystemRuntime>> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(systems_);
    for (auto& [name, rt] : systems) {
      auto it = old.find(name);
      if (it != old.end()) {
        rt->predecessor = it->second;
      }
    }
    systems_ = systems;
    config_ = cfg;
    configs_.push_back(cfg);
  }
  {
    std::lock_guard lock(stats_->mu);
    std::erase_if(stats_->detectors, [&](const auto& kv) {
      auto rt = systems.find(kv.first.first);
      return rt == systems.end() || rt->second->entity(kv.first.second) == nullptr;
    });
  }
  for (auto& [name, rt] : old) {
    rt->retired = true;
    wakeSystem(rt);
  }
  if (started) {
    for (auto& [name, rt] : systems) {
      startSystem(rt);
    }
  }
  log().info("configuration reloaded", {{"systems", static_cast<uint64_t>(systems.size())}});
  return {};
}

asio::awaitable<Status> Core::durable() {
  auto initiate = [this](auto handler) {
    // The answer comes on the flusher thread: the waiter resumes on its own executor, which is
    // kept busy (outstanding work) until then.
    auto ex = asio::prefer(asio::get_associated_executor(handler),
                           asio::execution::outstanding_work.tracked);
    auto held = std::make_shared<decltype(handler)>(std::move(handler));
    store().whenDurable([held, ex](Status synced) {
      asio::post(ex, [held, synced = std::move(synced)]() mutable {
        std::move (*held)(std::move(synced));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Status)>(
      initiate, asio::use_awaitable);
}

asio::awaitable<Result<engine::IngestResult>> Core::ingest(
    SystemRuntime& sys, EntityRuntime& ent, std::vector<engine::Incoming> records,
    std::vector<std::pair<std::string, std::string>> failures, std::optional<std::string> cursor,
    std::chrono::steady_clock::time_point read_started) {
  const std::string& entity = ent.entity->name;
  for (auto& in : records) {
    in.doubtful = sys.answeredSince(in.native_id, read_started);
  }
  // Another read of these records still in flight (a webhook's get beside a feed page) started
  // before this one is taken in, so it may show an older version when it is taken in after it:
  // on a whole-second clock with the same updated time, which the merge cannot tell from a newer
  // one, and which the feed, having reported this version, would never report again. That read's
  // records are doubtful, as after a push answer. (Ingests run in call order on the writer.)
  if (sys.readsInFlight() > 1) {
    for (const auto& in : records) {
      sys.noteAnswer(in.native_id);
    }
  }
  for (const auto& [native, reason] : failures) {
    log().warn("record not ingested, dead-lettered",
               {{"system", sys.name()}, {"entity", entity}, {"id", native}, {"error", reason}});
  }
  if (records.empty() && failures.empty() && !cursor) {
    co_return engine::IngestResult{};
  }
  auto result = co_await onWriter([&]() -> Result<engine::IngestResult> {
    if (!failures.empty()) {
      state::Batch batch;
      {
        TANDEM_ASSIGN_OR_RETURN(auto snap, store_->read());
        for (const auto& [native, reason] : failures) {
          state::DeadLetter d;
          d.system = sys.id;
          TANDEM_ASSIGN_OR_RETURN(auto linked, snap.linkedRecord(sys.id, native));
          d.record = linked ? *linked : ingestDeadLetterKey(entity, native);
          d.reason = reason;
          d.time_ms = clock_->nowMs();
          d.attempts = 1;
          batch.dead_letters.push_back(std::move(d));
        }
      }
      auto applied = store_->apply(batch);
      if (!applied) {
        return failWith("runtime: dead-letter unreadable records", applied.error());
      }
    }
    return engine_->ingest(sys.id, entity, std::move(records), std::move(cursor));
  });
  if (result) {
    {
      std::lock_guard lock(stats_->mu);
      stats_->records_synced += result->new_records + result->updated_records;
      stats_->conflicts_total += result->conflicts;
    }
    if (result->pushes_queued > 0) {
      wakeAll();
    }
    if (!result->reread.empty() && ent.detector) {
      log().info("records read before a newer write or read of them are read again",
                 {{"system", sys.name()},
                  {"entity", entity},
                  {"records", static_cast<int64_t>(result->reread.size())}});
      ent.detector->readAgain(result->reread);
    }
  }
  co_return result;
}

}  // namespace tandem::agent::runtime::detail
