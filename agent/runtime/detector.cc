// The change detector of one (system, entity) (see detector.h).

#include "agent/runtime/detector.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include "agent/runtime/pusher.h"

namespace tandem::agent::runtime::detail {

Detector::Detector(Core& core, SystemRuntime& sys, EntityRuntime& ent)
    : core_(core), sys_(sys), ent_(ent), sleep_(sys.strand), pass_done_(sys.strand) {}

void Detector::wake(std::shared_ptr<SystemRuntime> keep) {
  asio::post(sys_.strand, [this, keep = std::move(keep)] { wakeHere(); });
}

void Detector::wakeHere() {
  woken_ = true;
  sleep_.cancel();
}

void Detector::fail(const std::string& what, const std::string& error) {
  // A system that stays down fails every poll: one warning, the repeats at debug level and a
  // warning again every failure_rewarn_ms while it lasts (status() counts every one and keeps
  // the latest text), so an operator reading only the warnings sees the feed is not read.
  failures_.failed(core_.log(), LogLevel::Warn, what,
                   {{"system", sys_.name()}, {"entity", ent_.entity->name}}, error,
                   core_.clock().nowMs(), core_.options().failure_rewarn_ms);
  core_.stats().detector(sys_.name(), ent_.entity->name, [&](DetectorStatus& d) {
    ++d.errors;
    d.last_error = error;
  });
}

void Detector::logPage(const connector::FeedBatch& batch) {
  // Which records a page brought, with their updated times (the first 20): enough to tell
  // whether a change reached the agent at all.
  std::string ids;
  int64_t first = 0;
  int64_t last = 0;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const auto& r = batch.records[i];
    if (r.updated_ms > 0) {
      first = first == 0 ? r.updated_ms : std::min(first, r.updated_ms);
      last = std::max(last, r.updated_ms);
    }
    if (i < 20) {
      ids += (ids.empty() ? "" : " ") + r.id;
    }
  }
  core_.log().debug("feed page", {{"system", sys_.name()},
                                  {"entity", ent_.entity->name},
                                  {"records", static_cast<int64_t>(batch.records.size())},
                                  {"more", batch.more ? "yes" : "no"},
                                  {"updated_from_ms", first},
                                  {"updated_to_ms", last},
                                  {"ids", ids}});
}

asio::awaitable<void> Detector::run(std::shared_ptr<SystemRuntime> keep) {
  const auto interval =
      std::chrono::milliseconds(std::max<int64_t>(1, keep->config->agent.poll_interval_ms));
  while (!core_.stopped(sys_)) {
    in_pass_ = true;
    woken_ = false;
    last_pass_ok_ = co_await pass();
    in_pass_ = false;
    ++passes_;
    pass_done_.notify();
    if (core_.stopped(sys_)) {
      break;
    }
    if (!woken_) {
      sleep_.expires_after(interval);
      co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  exited_ = true;
  pass_done_.notify();
}

asio::awaitable<bool> Detector::pollNow() {
  if (exited_) {
    co_return false;
  }
  const uint64_t target = passes_ + (in_pass_ ? 2 : 1);
  wakeHere();
  while (passes_ < target && !exited_ && !core_.stopped(sys_)) {
    co_await pass_done_.wait();
  }
  co_return passes_ >= target&& last_pass_ok_;
}

asio::awaitable<bool> Detector::pass() {
  const std::string& system = sys_.name();
  const std::string& entity = ent_.entity->name;
  std::optional<std::string> cursor;
  {
    auto snap = core_.store().read();
    auto stored = snap ? snap->cursor(sys_.id, entity)
                       : Result<std::optional<std::string>>(std::unexpected(snap.error()));
    if (!stored) {
      fail("detector: read cursor", stored.error().message);
      co_return false;
    }
    cursor = std::move(*stored);
  }
  std::optional<Progress> progress;
  if (!cursor) {
    progress.emplace(core_.options().progress, core_.options().progress_is_tty, core_.log(),
                     core_.clock(), system + "." + entity);
  }
  if (!read_again_.empty()) {
    std::vector<std::string> ids(read_again_.begin(), read_again_.end());
    read_again_.clear();
    FetchOutcome got = co_await fetchAndIngest(std::move(ids), "read again");
    read_again_.insert(got.failed_ids.begin(), got.failed_ids.end());
  }
  uint64_t read = 0;
  bool first = true;
  // The next page is fetched while this one is taken in: the feed's round trip and the parsing of
  // its answer overlap the writer's ingest instead of adding to it (a bulk load reads thousands
  // of pages). Each page's read is marked from its request to its ingest (ReadMark).
  auto mark = std::make_unique<SystemRuntime::ReadMark>(sys_);
  auto batch = co_await ent_.connector->fetchChanges(cursor);
  for (;;) {
    core_.stats().setBreaker(system, sys_.channel->breakerState());
    if (!batch) {
      fail("detector: fetch failed", batch.error().message);
      co_return false;
    }
    const size_t n = batch->records.size();
    if (core_.log().enabled(LogLevel::Debug)) {
      logPage(*batch);
    }
    MappedBatch mapped = mapRecords(sys_, ent_, batch->records);
    // The mapped reports own their values: the page's documents (a pool chunk of 64 KiB each,
    // up to a thousand of them on a QuickBooks CDC page) need not live through the ingest.
    std::vector<connector::NativeRecord>().swap(batch->records);
    std::optional<std::string> next = batch->cursor;
    const bool more = batch->more;
    auto ingest = core_.ingest(sys_, ent_, std::move(mapped.incoming), std::move(mapped.failures),
                               next, mark->started());
    Result<engine::IngestResult> result = tandem::fail("detector: page not taken in");
    std::unique_ptr<SystemRuntime::ReadMark> next_mark;
    Result<connector::FeedBatch> next_batch = tandem::fail("detector: next page not read");
    if (more && !core_.stopped(sys_)) {
      next_mark = std::make_unique<SystemRuntime::ReadMark>(sys_);
      auto [order, fetch_error, fetched, ingest_error, ingested] =
          co_await asio::experimental::make_parallel_group(
              asio::co_spawn(sys_.strand, ent_.connector->fetchChanges(next ? next : cursor),
                             asio::deferred),
              asio::co_spawn(sys_.strand, std::move(ingest), asio::deferred))
              .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      for (const auto& e : {fetch_error, ingest_error}) {
        if (e) {
          std::rethrow_exception(e);
        }
      }
      result = std::move(ingested);
      next_batch = std::move(fetched);
    } else {
      result = co_await std::move(ingest);
    }
    mark = std::move(next_mark);
    if (!result) {
      fail("detector: ingest failed", result.error().message);
      co_return false;
    }
    read += n;
    if (next) {
      cursor = std::move(next);
    }
    failures_.succeeded(core_.log(), "detector: reading again",
                        {{"system", system}, {"entity", entity}}, core_.clock().nowMs());
    core_.stats().detector(system, entity, [&](DetectorStatus& d) {
      ++d.batches;
      d.records += n;
      d.last_error.clear();
      if (!batch->more) {
        d.initial_load_done = true;
        d.last_success_ms = core_.clock().nowMs();
      }
    });
    if (progress && (batch->more || !first)) {
      if (batch->more) {
        progress->update(read, batch->remaining ? std::optional<uint64_t>(read + *batch->remaining)
                                                : std::nullopt);
      } else {
        progress->finish(read);
      }
    }
    first = false;
    if (!more) {
      if (!ent_.feed_read) {
        ent_.feed_read = true;
        sys_.pusher->wakeHere();  // creates held for this feed may go now
      }
      co_return true;
    }
    if (core_.stopped(sys_)) {
      co_return false;
    }
    batch = std::move(next_batch);
  }
}

asio::awaitable<void> Detector::fetchIds(std::shared_ptr<SystemRuntime> keep,
                                         std::vector<std::string> ids) {
  keep->enter();
  std::string why = "webhook";
  FetchOutcome got = co_await fetchAndIngest(std::move(ids), std::move(why));
  // A get that failed is tried again at the start of the next pass (the feed may not show the
  // change: HubSpot's search leaves archived contacts out).
  read_again_.insert(got.failed_ids.begin(), got.failed_ids.end());
  if (got.returned == 0 && got.gone == 0) {
    wakeHere();  // nothing to ingest from the named ids: let the feed have a look
  }
  keep->leave();
}

void Detector::readAgain(const std::vector<std::string>& ids) {
  read_again_.insert(ids.begin(), ids.end());
  wakeHere();
}

asio::awaitable<FetchOutcome> Detector::fetchAndIngest(
    std::vector<std::string> ids, std::string why,
    std::function<bool(const std::string&)> still_valid) {
  const SystemRuntime::ReadMark read(sys_);
  FetchOutcome out;
  std::set<std::string> seen;
  std::vector<connector::NativeRecord> records;
  std::vector<engine::Incoming> gone;
  for (auto& id : ids) {
    if (id.empty() || !seen.insert(id).second) {
      continue;
    }
    ++out.asked;
    auto got = co_await ent_.connector->get(id);
    if (!got) {
      ++out.failed;
      out.failed_ids.push_back(id);
      fail(why + ": get " + id + " failed", got.error().message);
      continue;
    }
    if (!*got) {
      // Deleted, or archived where neither get nor the feed shows archived records (HubSpot's
      // search leaves them out): for a record tandem holds, the system reports it deleted and
      // the entity's delete policy decides (case 16). An unknown id is nothing to act on.
      auto snap = core_.store().read();
      auto linked = snap ? snap->linkedRecord(sys_.id, id)
                         : Result<std::optional<std::string>>(std::unexpected(snap.error()));
      core_.log().debug(why + ": record not found",
                        {{"system", sys_.name()},
                         {"entity", ent_.entity->name},
                         {"id", id},
                         {"linked", linked && *linked ? **linked : std::string()}});
      if (linked && *linked) {
        engine::Incoming in;
        in.native_id = id;
        in.report.system = sys_.id;
        in.report.deleted = true;
        in.report.source_ts_ms = core_.clock().nowMs();
        gone.push_back(std::move(in));
      }
      continue;
    }
    records.push_back(std::move(**got));
  }
  if (still_valid) {
    const size_t before = records.size() + gone.size();
    std::erase_if(records, [&](const connector::NativeRecord& r) { return !still_valid(r.id); });
    std::erase_if(gone, [&](const engine::Incoming& in) { return !still_valid(in.native_id); });
    out.dropped = before - records.size() - gone.size();
  }
  out.returned = records.size();
  out.gone = gone.size();
  if (records.empty() && gone.empty()) {
    co_return out;
  }
  MappedBatch mapped = mapRecords(sys_, ent_, records);
  for (auto& in : gone) {
    mapped.incoming.push_back(std::move(in));
  }
  auto result = co_await core_.ingest(sys_, ent_, std::move(mapped.incoming),
                                      std::move(mapped.failures), std::nullopt, read.started());
  if (!result) {
    out.ingested = false;
    fail(why + ": ingest failed", result.error().message);
    for (const auto& r : records) {
      out.failed_ids.push_back(r.id);
    }
  }
  co_return out;
}

}  // namespace tandem::agent::runtime::detail
