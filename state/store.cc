#include "state/store.h"

#include <filesystem>
#include <system_error>

#include "state/apply_batch.h"
#include "state/lmdb.h"
#include "state/names.h"
#include "state/schema.h"
#include "state/tables.h"

namespace tandem::state {

bool Batch::empty() const {
  return actors.empty() && record_removals.empty() && records.empty() && shadow_removals.empty() &&
         shadows.empty() && link_removals.empty() && links.empty() && match_key_removals.empty() &&
         match_keys.empty() && outbox_removals.empty() && outbox.empty() && conflicts.empty() &&
         dead_letter_removals.empty() && dead_letters.empty() && cursors.empty() && notes.empty() &&
         !clock && !conflict_seq;
}

Store::Store(std::string dir, const Options& options) : dir_(std::move(dir)), options_(options) {}

Store::~Store() {
  if (flusher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(defer_mu_);
      stopping_ = true;
    }
    defer_cv_.notify_all();
    flusher_.join();
  }
  if (env_) {
    (void)flush();  // a clean stop leaves nothing only in the OS's buffers
  }
}

// Deferred commits become durable half of kMaxDeferMs after the oldest of them (at once when
// someone waits in whenDurable), by an fsync on this thread: the writers go on meanwhile (the
// fsync covers at least what was committed when it started). A failing fsync is tried again;
// apply() falls back to a durable commit if the deferred ones stay unflushed for three times
// kMaxDeferMs, and reports its error.
void Store::flushLoop() {
  std::unique_lock<std::mutex> lock(defer_mu_);
  for (;;) {
    releaseDurable(lock, {});  // those a durable commit or flush() elsewhere covered
    // Someone waiting for durability is not kept waiting for the batching delay.
    if (durable_waiters_.empty()) {
      if (stopping_) {
        return;
      }
      if (!deferred_since_) {
        defer_cv_.wait(lock);
        continue;
      }
      const auto due = *deferred_since_ + std::chrono::milliseconds(kMaxDeferMs / 2);
      if (std::chrono::steady_clock::now() < due) {
        defer_cv_.wait_until(lock, due);
        continue;
      }
    }
    const uint64_t gen = deferred_gen_;
    const auto started = std::chrono::steady_clock::now();
    lock.unlock();
    const Status synced = env_->flush();
    lock.lock();
    if (synced) {
      flushed(gen, started);
      continue;
    }
    releaseDurable(lock, synced);  // every waiter hears why
    if (!stopping_) {
      defer_cv_.wait_for(lock, std::chrono::milliseconds(kMaxDeferMs));
    }
  }
}

void Store::releaseDurable(std::unique_lock<std::mutex>& lock, const Status& synced) {
  std::vector<std::function<void(Status)>> done;
  for (auto it = durable_waiters_.begin(); it != durable_waiters_.end();) {
    if (!synced || it->first <= durable_gen_) {
      done.push_back(std::move(it->second));
      it = durable_waiters_.erase(it);
    } else {
      ++it;
    }
  }
  if (done.empty()) {
    return;
  }
  lock.unlock();
  for (auto& d : done) {
    d(synced);
  }
  lock.lock();
}

void Store::whenDurable(std::function<void(Status)> done) {
  bool flush_here = false;
  {
    std::lock_guard<std::mutex> lock(defer_mu_);
    if (deferred_gen_ <= durable_gen_) {
      // Every deferred commit so far is durable (or there was none): a durable commit is too.
    } else if (flusher_.joinable() && !stopping_) {
      durable_waiters_.emplace_back(deferred_gen_, std::move(done));
      defer_cv_.notify_all();
      return;
    } else {
      flush_here = true;  // stopping: no flusher to wait for
    }
  }
  done(flush_here ? flush() : Status{});
}

void Store::flushed(uint64_t gen, std::chrono::steady_clock::time_point started) {
  durable_gen_ = std::max(durable_gen_, gen);
  if (deferred_gen_ == gen) {
    deferred_since_.reset();
  } else if (deferred_since_) {
    deferred_since_ = std::max(*deferred_since_, started);  // commits after it are not covered
  }
  if (!durable_waiters_.empty()) {
    defer_cv_.notify_all();
  }
}

Status Store::copyTo(const std::string& dir) const {
  return env_->copyTo(dir);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, const Options& options) {
  if (options.initial_map_bytes == 0 || options.max_map_bytes < options.initial_map_bytes) {
    return fail("state: " + dir + ": initial_map_bytes must be > 0 and <= max_map_bytes");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail("state: " + dir + ": create directory: " + ec.message());
  }
  std::unique_ptr<Store> store(new Store(dir, options));
  lmdb::Env::Config config;
  config.map_bytes = options.initial_map_bytes;
  config.max_dbs = 16;
  config.sync = options.sync;
  TANDEM_ASSIGN_OR_RETURN(auto env, lmdb::Env::open(dir, config));
  store->env_ = std::make_unique<lmdb::Env>(std::move(env));

  // Opening the tables and stamping a fresh store write a little; grow if even that is full.
  for (;;) {
    TANDEM_ASSIGN_OR_RETURN(auto txn, store->env_->beginWrite());
    auto tables = openTables(txn);
    Status done = tables ? checkSchema(txn, *tables, dir) : Status(std::unexpected(tables.error()));
    auto names = std::make_unique<StoredNames>();
    if (done) {
      if (Status loaded = names->load(txn, tables->meta); !loaded) {
        done = failWith("state: " + dir, loaded.error());
      }
    }
    if (done) {
      done = txn.commit();
    }
    if (done) {
      store->tables_ = std::make_unique<Tables>(*tables);
      store->names_ = std::move(names);
      if (options.sync) {
        Store* self = store.get();
        store->flusher_ = std::thread([self] { self->flushLoop(); });
      }
      return store;
    }
    if (!txn.mapFull()) {
      return std::unexpected(done.error());
    }
    txn.abort();
    TANDEM_RETURN_IF_ERROR(store->grow(done.error()));
  }
}

Result<Snapshot> Store::read() const {
  TANDEM_ASSIGN_OR_RETURN(auto txn, env_->beginRead());
  return Snapshot(std::make_unique<lmdb::ReadTxn>(std::move(txn)), tables_.get(), names_.get());
}

Result<Applied> Store::apply(const Batch& batch, Durability durability) {
  std::lock_guard<std::mutex> lock(write_mu_);
  const auto now = std::chrono::steady_clock::now();
  bool defer = options_.sync && durability == Durability::Deferred;
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> defer_lock(defer_mu_);
    gen = deferred_gen_;
    if (defer && deferred_since_ &&
        now - *deferred_since_ >= std::chrono::milliseconds(3 * kMaxDeferMs)) {
      defer = false;  // the flusher lags: this commit's fsync makes the older ones durable
    }
  }
  if (defer) {
    TANDEM_RETURN_IF_ERROR(env_->setSync(false));
  }
  struct Restore {
    lmdb::Env* env;
    bool on;
    ~Restore() {
      if (on) {
        (void)env->setSync(true);
      }
    }
  } restore{env_.get(), defer};
  for (;;) {
    TANDEM_ASSIGN_OR_RETURN(auto txn, env_->beginWrite());
    StoredNames::Writing names(*names_, txn, tables_->meta);
    // Names numbered in a transaction that does not commit are taken back.
    struct Settle {
      StoredNames& names;
      bool committed = false;
      ~Settle() { committed ? names.commit() : names.rollback(); }
    } settle{*names_};
    auto applied = applyBatch(txn, *tables_, batch, names);
    if (applied) {
      auto committed = txn.commit();
      settle.committed = committed.has_value();
      if (committed) {
        if (defer) {
          {
            std::lock_guard<std::mutex> defer_lock(defer_mu_);
            ++deferred_gen_;
            if (!deferred_since_) {
              deferred_since_ = now;
            }
          }
          defer_cv_.notify_all();
        } else if (options_.sync) {
          // The fsync covered every earlier commit (those of this writer; a deferred commit
          // made by now is one of them, as commits hold write_mu_).
          std::lock_guard<std::mutex> defer_lock(defer_mu_);
          flushed(gen, now);
        }
        return applied;
      }
      applied = std::unexpected(committed.error());
    }
    if (!txn.mapFull()) {
      return applied;  // the transaction aborts as it goes out of scope
    }
    txn.abort();
    TANDEM_RETURN_IF_ERROR(grow(applied.error()));
  }
}

Status Store::flush() {
  std::unique_lock<std::mutex> lock(defer_mu_);
  if (!deferred_since_) {
    return {};
  }
  const uint64_t gen = deferred_gen_;
  const auto started = std::chrono::steady_clock::now();
  lock.unlock();
  TANDEM_RETURN_IF_ERROR(env_->flush());
  lock.lock();
  flushed(gen, started);
  return {};
}

bool Store::awaitingFlush() {
  std::lock_guard<std::mutex> lock(defer_mu_);
  return deferred_since_.has_value();
}

// Doubles the map (up to max_map_bytes). The caller has aborted its transaction; Env waits
// for open snapshots to end (LMDB's resize is unsafe while any is open) or reports them.
Status Store::grow(const Error& cause) {
  size_t current = env_->mapSize();
  if (current >= options_.max_map_bytes) {
    return fail(cause.message + " (map at its maximum of " +
                std::to_string(options_.max_map_bytes) + " bytes)");
  }
  size_t next = current > options_.max_map_bytes / 2 ? options_.max_map_bytes : current * 2;
  auto resized = env_->setMapSize(next, options_.grow_wait);
  if (!resized) {
    return failWith(cause.message + "; cannot grow", resized.error());
  }
  return {};
}

size_t Store::mapBytes() const {
  return env_->mapSize();
}

}  // namespace tandem::state
