#pragma once

// Internal to agent/runtime: the state the running agent's coroutines share.
//
// Threads: the io_context may run on several threads. Every system has one strand on which its
// detectors, its pusher, its pushes and its webhook fetches run (so a connector and its channel
// are only ever used from one strand), and the engine has the writer strand: every SyncEngine
// call hops there with onWriter() and the caller resumes on its own strand. The writer strand is
// on AgentOptions::writer_context when given (the daemon's own writer thread), else on the
// io_context. Counters for status() sit behind Stats::mu. Coroutines hold a shared_ptr to the
// Core and to their SystemRuntime, so destroying the Agent while they finish is safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/runtime/agent.h"
#include "mappers/mapper.h"

// TANDEM_ASSIGN_OR_RETURN for coroutines (a coroutine may not `return`).
#define TANDEM_CO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp) {                                            \
    co_return std::unexpected(std::move(tmp).error());   \
  }                                                      \
  lhs = std::move(*tmp)
#define TANDEM_CO_ASSIGN_OR_RETURN(lhs, expr) \
  TANDEM_CO_ASSIGN_OR_RETURN_IMPL_(TANDEM_CAT_(tandem_co_result_, __LINE__), lhs, expr)

namespace tandem::agent::runtime::detail {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;

// What an exception caught with `catch (...)` says (its what(), or "unknown exception"); never
// empty.
std::string exceptionText(const std::exception_ptr& e);

// The engine wants a mutable Clock; the options hand in a const one (its readings are const).
class ClockRef final : public Clock {
 public:
  explicit ClockRef(const Clock& c) : c_(c) {}
  int64_t nowMs() const override { return c_.nowMs(); }
  int64_t monotonicMs() const override { return c_.monotonicMs(); }

 private:
  const Clock& c_;
};

// A broadcast wake-up for coroutines on one strand: wait() returns at the next notify().
class Signal {
 public:
  explicit Signal(const Strand& strand) : timer_(strand) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  asio::awaitable<void> wait() { co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable)); }
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

// Counters behind status(); every member is guarded by mu.
struct Stats {
  mutable std::mutex mu;
  std::map<std::pair<std::string, std::string>, DetectorStatus> detectors;
  std::map<std::string, SystemStatus> systems;
  std::map<std::pair<std::string, std::string>, HttpLatency> http;
  std::map<std::pair<std::string, std::string>, WebhookCounters> webhooks;
  uint64_t records_synced = 0;
  uint64_t conflicts_total = 0;
  // Time the writer strand spent running engine calls (every store write goes through it).
  std::atomic<uint64_t> writer_busy_ns{0};

  void observe(const connector::RequestObservation& o);
  void countPush(const std::string& system, const engine::PushOutcome& outcome, bool create);
  void setBreaker(const std::string& system, std::string state);
  template <class F>
  void detector(const std::string& system, const std::string& entity, F f) {
    std::lock_guard lock(mu);
    f(detectors[{system, entity}]);
  }
};

class Core;
class Detector;
class ExistenceChecker;
class Pusher;
struct SystemRuntime;

struct EntityRuntime {
  EntityRuntime();
  ~EntityRuntime();
  const mappers::SystemEntity* spec = nullptr;
  const mappers::EntityConfig* entity = nullptr;
  mappers::MappingPlan plan;
  std::unique_ptr<connector::Connector> connector;
  std::unique_ptr<Detector> detector;
  std::unique_ptr<ExistenceChecker> checker;  // runs when the system's existence check is on
  // On the strand: the feed was read to its end once in this run. Until then the pusher holds
  // this entity's creates (engine::DueFilter).
  bool feed_read = false;
};

// One configured system: its channel, one connector and detector per entity, its pusher. A
// reload builds a new one and retires the old; the new one's loops wait for the old one's.
struct SystemRuntime {
  SystemRuntime(std::shared_ptr<const mappers::Config> cfg, const mappers::SystemConfig& sys,
                conflict::ActorId actor, const Strand& s);
  ~SystemRuntime();

  std::shared_ptr<const mappers::Config> config;  // first: outlives what points into it
  const mappers::SystemConfig* spec;
  conflict::ActorId id;
  Strand strand;
  std::unique_ptr<connector::SystemChannel> channel;
  std::vector<std::unique_ptr<EntityRuntime>> entities;
  std::unique_ptr<Pusher> pusher;
  std::atomic<bool> retired{false};
  // On the strand: worker loops still running, and a wake-up when the last one ends.
  int loops = 0;
  Signal exited;
  std::shared_ptr<SystemRuntime> predecessor;  // waited for before the loops start
  // On the strand: reads of this system's records (feed pages, gets) and the newer looks at a
  // record that happened while they were in flight: the answer of a push to it, or another read
  // of it taken in. A read that started before such a moment may show what the push replaced, or
  // an older version than the other read showed (engine::Incoming::doubtful). A moment is kept
  // only while a read that started before it is in flight, so the memory is bounded by what
  // arrives during one read, not by the number of records.
  using TimePoint = std::chrono::steady_clock::time_point;
  class ReadMark {
   public:
    explicit ReadMark(SystemRuntime& sys);
    ~ReadMark();
    ReadMark(const ReadMark&) = delete;
    ReadMark& operator=(const ReadMark&) = delete;
    TimePoint started() const { return started_; }

   private:
    SystemRuntime& sys_;
    TimePoint started_;
  };
  // A push to `native_id` was answered, or a read of it is being taken in, now.
  void noteAnswer(const std::string& native_id);
  // Whether such a moment for `native_id` came at or after `read_started`.
  bool answeredSince(const std::string& native_id, TimePoint read_started) const;
  // How many reads are in flight (each ReadMark alive counts once).
  int readsInFlight() const;
  size_t answersKept() const { return answered_at_.size(); }

  const std::string& name() const { return spec->name; }

 private:
  void forgetAnswers();
  std::unordered_map<std::string, TimePoint> answered_at_;
  std::deque<std::pair<TimePoint, std::string>> answer_order_;  // oldest first
  std::map<TimePoint, int> reads_in_flight_;                    // start → how many

 public:
  // On the strand: a loop or a push starts / ends.
  void enter() { ++loops; }
  void leave() {
    if (--loops == 0) {
      exited.notify();
    }
  }
  EntityRuntime* entity(std::string_view name);
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& ioc, AgentOptions options);

  asio::io_context& ioc() { return ioc_; }
  Logger& log() { return *options_.log; }
  const Clock& clock() const { return *clock_; }
  state::Store& store() { return *store_; }
  engine::SyncEngine& engine() { return *engine_; }  // writer strand only
  Stats& stats() { return *stats_; }
  const AgentOptions& options() const { return options_; }

  // Opens the store and builds the engine and the systems of `config`.
  Status open(mappers::Config config);
  Result<std::map<std::string, std::shared_ptr<SystemRuntime>>> buildSystems(
      const std::shared_ptr<const mappers::Config>& config);

  std::shared_ptr<const mappers::Config> config() const;
  std::shared_ptr<SystemRuntime> system(std::string_view name) const;
  std::vector<std::shared_ptr<SystemRuntime>> systems() const;

  // Runs f() on the writer strand; the caller resumes on its own executor. The time f() takes
  // is added to Stats::writer_busy_ns.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> onWriter(F f) {
    using R = std::invoke_result_t<F&>;
    auto timed = [stats = stats_, f = std::move(f)]() mutable -> R {
      struct Clocked {
        Stats& stats;
        std::chrono::steady_clock::time_point from = std::chrono::steady_clock::now();
        ~Clocked() {
          stats.writer_busy_ns +=
              static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - from)
                                        .count());
        }
      } clocked{*stats};
      return f();
    };
    co_return co_await asio::co_spawn(writer_, callOnWriter<R, decltype(timed)>(std::move(timed)),
                                      asio::use_awaitable);
  }

  // Numbers the writer's calls in the order they run (call it inside an onWriter function): a
  // caller tells whether another's commit came before or after its own.
  uint64_t nextWriterSeq() { return ++writer_seq_; }

  // Resumes once every commit made so far is durable (Store::whenDurable): the fsync runs on the
  // store's flusher thread, shared by whoever waits meanwhile, while the writer goes on.
  asio::awaitable<Status> durable();

  // Starts a tracked coroutine on `strand` (drain waits for it); an escaping exception is
  // logged, never rethrown out of io_context::run().
  void spawn(const Strand& strand, asio::awaitable<void> coro, std::string what);

  void startSystem(const std::shared_ptr<SystemRuntime>& sys);
  void retire(const std::shared_ptr<SystemRuntime>& sys);
  void wakeAll();  // every pusher (after an ingest or an operator action)
  void wakeSystem(const std::shared_ptr<SystemRuntime>& sys);  // its detectors and pusher

  bool stopping() const { return stopping_.load(); }
  bool stopped(const SystemRuntime& sys) const { return stopping() || sys.retired.load(); }
  void stopIntake();
  void drain(std::function<void()> done);
  bool drained() const;
  Status reload(mappers::Config config);

  // Engine calls the agent makes on behalf of detectors, webhooks and pushers.
  // `read_started`: when the read of these records was sent. Records a push answer arrived for
  // since then, or that another read taken in since then showed, are doubtful: not merged if
  // they would change anything, but read again (through the entity's detector).
  asio::awaitable<Result<engine::IngestResult>> ingest(
      SystemRuntime& sys, EntityRuntime& ent, std::vector<engine::Incoming> records,
      std::vector<std::pair<std::string, std::string>> failures, std::optional<std::string> cursor,
      std::chrono::steady_clock::time_point read_started);

  std::atomic<bool> started{false};
  std::atomic<bool> ready{false};
  std::atomic<int64_t> started_ms{0};

 private:
  uint64_t writer_seq_ = 0;  // writer strand only

  template <class R, class F>
  static asio::awaitable<R> callOnWriter(F f) {
    // An exception out of an engine call (a bug, or std::bad_alloc) fails that call like any
    // error: it must not end the detector or pusher waiting for it, which nothing would restart.
    std::string thrown;
    try {
      co_return f();
    } catch (...) {
      thrown = exceptionText(std::current_exception());
    }
    co_return R(fail("runtime: engine call threw: " + thrown));
  }
  asio::awaitable<void> runSystem(std::shared_ptr<SystemRuntime> sys);
  // engine().reclaimSentCreates() (at start only) and placeExisting(), logged; on the writer
  // strand, or before the start.
  Status prepareState(bool at_start);
  // Runs one of a system's loops (a detector, an existence check, the pusher) until it returns.
  // An exception out of it is logged and the loop started again after a pause (doubling from the
  // poll interval up to a minute): a bug met by one record must not stop a system's sync for
  // good. The system counts the loop as ended (leave()) either way.
  asio::awaitable<void> loop(std::shared_ptr<SystemRuntime> sys,
                             std::function<asio::awaitable<void>()> body, std::string what);
  // Counts the loop in (enter()) and spawns loop() for it on the system's strand.
  void spawnLoop(const std::shared_ptr<SystemRuntime>& rt, std::string what,
                 std::function<asio::awaitable<void>()> body);
  void finished();

  asio::io_context& ioc_;
  AgentOptions options_;
  std::unique_ptr<Clock> own_clock_;
  const Clock* clock_;
  ClockRef engine_clock_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<engine::SyncEngine> engine_;
  Strand writer_;
  std::shared_ptr<Stats> stats_;  // shared with the channels' request observers

  mutable std::mutex mu_;  // config_, systems_, strands_
  std::shared_ptr<const mappers::Config> config_;
  std::map<std::string, std::shared_ptr<SystemRuntime>> systems_;
  std::map<std::string, Strand> strands_;
  std::vector<std::shared_ptr<const mappers::Config>> configs_;  // config() references stay valid

  std::atomic<bool> stopping_{false};
  mutable std::mutex drain_mu_;
  int active_ = 0;
  bool draining_ = false;
  bool drained_ = false;
  std::function<void()> drain_done_;
};

// Detector and pusher helpers (records.cc).
struct MappedBatch {
  std::vector<engine::Incoming> incoming;
  std::vector<std::pair<std::string, std::string>> failures;  // native id, reason
};
MappedBatch mapRecords(const SystemRuntime& sys, const EntityRuntime& ent,
                       std::vector<connector::NativeRecord>& records);
// The dead-letter key of a record that could not be read: its record id when linked, else
// "native:<entity>:<native id>".
std::string ingestDeadLetterKey(const std::string& entity, const std::string& native_id);

}  // namespace tandem::agent::runtime::detail
