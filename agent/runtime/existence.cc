// The periodic existence check of one (system, entity) (see existence.h).

#include "agent/runtime/existence.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>

#include "agent/runtime/detector.h"
#include "agent/runtime/pusher.h"

namespace tandem::agent::runtime::detail {

namespace {

// Store notes, per entity and system (by actor id, like the engine's "placed/..." notes):
// ".../done" holds the unix ms the last full check ended, ".../after" the last native id checked
// by the check under way (absent between checks).
std::string noteKey(const std::string& entity, conflict::ActorId system, const char* what) {
  return "existence/" + entity + "/" + std::to_string(system) + "/" + what;
}

constexpr size_t kMaxChunk = 20;      // records fetched and ingested together
constexpr int64_t kRetryMs = 60'000;  // after a failed get or ingest (capped by the interval)

std::optional<int64_t> parseMs(const std::optional<std::string>& text) {
  int64_t v = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ec != std::errc()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

ExistenceChecker::ExistenceChecker(Core& core, SystemRuntime& sys, EntityRuntime& ent)
    : core_(core), sys_(sys), ent_(ent), sleep_(sys.strand) {}

void ExistenceChecker::wakeHere() {
  sleep_.cancel();
}

asio::awaitable<bool> ExistenceChecker::sleep(int64_t ms) {
  if (core_.stopped(sys_)) {
    co_return false;
  }
  if (ms <= 0) {
    co_await asio::post(sys_.strand, asio::use_awaitable);  // yield to the strand's others
  } else {
    sleep_.expires_after(std::chrono::milliseconds(ms));
    co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return !core_.stopped(sys_);
}

asio::awaitable<bool> ExistenceChecker::save(Notes notes) {
  auto applied = co_await core_.onWriter([&]() -> Status {
    state::Batch batch;
    batch.notes = std::move(notes);
    TANDEM_RETURN_IF_ERROR(core_.store().apply(batch));
    return {};
  });
  if (!applied) {
    core_.log().warn("existence check: saving its progress failed",
                     {{"system", sys_.name()},
                      {"entity", ent_.entity->name},
                      {"error", applied.error().message}});
  }
  co_return applied.has_value();
}

asio::awaitable<void> ExistenceChecker::run(std::shared_ptr<SystemRuntime> keep) {
  const mappers::ExistenceCheck cfg = keep->config->existenceCheck(*sys_.spec);
  if (cfg.interval_ms <= 0) {
    co_return;
  }
  const std::string& entity = ent_.entity->name;
  const std::string done_key = noteKey(entity, sys_.id, "done");
  const std::string after_key = noteKey(entity, sys_.id, "after");
  const int64_t retry_ms = std::min(cfg.interval_ms, kRetryMs);
  while (!core_.stopped(sys_)) {
    std::optional<int64_t> done;
    std::optional<std::string> after;
    std::string error;
    {
      // Read and ended before any wait: a snapshot is never held across a suspension.
      auto snap = core_.store().read();
      auto d = snap ? snap->note(done_key)
                    : Result<std::optional<std::string>>(std::unexpected(snap.error()));
      auto a = d ? snap->note(after_key) : d;
      if (!d || !a) {
        error = (!d ? d : a).error().message;
      } else {
        done = parseMs(*d);
        after = std::move(*a);
      }
    }
    if (!error.empty()) {
      core_.log().warn("existence check: reading its progress failed",
                       {{"system", sys_.name()}, {"entity", entity}, {"error", error}});
      if (!co_await sleep(retry_ms)) {
        break;
      }
      continue;
    }
    const int64_t now = core_.clock().nowMs();
    if (!done) {
      // The first run with the check on: the first check comes one interval from now.
      done = now;
      Notes notes;
      notes.emplace_back(done_key, std::to_string(now));
      if (!co_await save(std::move(notes))) {
        if (!co_await sleep(retry_ms)) {
          break;
        }
        continue;
      }
    }
    if (!after && *done + cfg.interval_ms > now) {
      // Not due yet; the notes are read again after the sleep (a check may have ended under
      // another generation of this system meanwhile).
      if (!co_await sleep(*done + cfg.interval_ms - now)) {
        break;
      }
      continue;
    }
    std::string from = after ? std::move(*after) : std::string();
    const Ended ended = co_await check(std::move(from), cfg.max_per_s);
    if (ended == Ended::Stopped) {
      break;
    }
    if (ended == Ended::Failed && !co_await sleep(retry_ms)) {
      break;
    }
  }
}

asio::awaitable<ExistenceChecker::Ended> ExistenceChecker::check(std::string after,
                                                                 double max_per_s) {
  const std::string& system = sys_.name();
  const std::string& entity = ent_.entity->name;
  const std::string done_key = noteKey(entity, sys_.id, "done");
  const std::string after_key = noteKey(entity, sys_.id, "after");
  const size_t chunk = std::clamp<size_t>(static_cast<size_t>(std::ceil(max_per_s)), 1, kMaxChunk);
  const double ms_per_record = 1000.0 / max_per_s;
  const int64_t started = core_.clock().monotonicMs();
  const std::string why = "existence check";
  uint64_t checked = 0;
  uint64_t deleted = 0;
  core_.log().info(
      "existence check started",
      {{"system", system}, {"entity", entity}, {"resumed_after", after}, {"max_per_s", max_per_s}});
  for (;;) {
    if (core_.stopped(sys_)) {
      co_return Ended::Stopped;
    }
    std::vector<std::string> ids;
    // What the system's shadow of each record was before its get went out: an answer is only
    // ingested when no push of the record is queued, in flight or recorded meanwhile, since a
    // push may overtake the get and its stale answer would read as an edit (an un-delete).
    std::map<std::string, std::pair<conflict::RecordId, std::optional<conflict::Shadow>>> before;
    bool end = false;
    std::string next = after;
    std::string error;
    {
      // Only this page is read; the snapshot ends before any request goes out.
      auto snap = core_.store().read();
      auto links = snap ? snap->links(sys_.id, after, chunk)
                        : Result<std::vector<state::Link>>(std::unexpected(snap.error()));
      if (!links) {
        error = links.error().message;
      } else {
        end = links->size() < chunk;
        for (const auto& link : *links) {
          next = link.native_id;
          auto record = snap->record(link.record);
          auto outbox = record ? snap->outboxEntry(sys_.id, link.record)
                               : Result<std::optional<state::OutboxEntry>>(std::nullopt);
          auto shadow = outbox ? snap->shadow(sys_.id, link.record)
                               : Result<std::optional<conflict::Shadow>>(std::nullopt);
          if (!record || !outbox || !shadow) {
            error = (!record ? record.error() : !outbox ? outbox.error() : shadow.error()).message;
            break;
          }
          // Another entity's link, a record already deleted (its delete is the pusher's), or one
          // with a push pending here (checked in a later round).
          if (!*record || (*record)->entity != entity || (*record)->tombstone.deleted || *outbox ||
              sys_.pusher->busy(link.record)) {
            continue;
          }
          ids.push_back(link.native_id);
          before.emplace(link.native_id, std::make_pair(link.record, std::move(*shadow)));
        }
      }
    }
    if (!error.empty()) {
      core_.log().warn("existence check: reading the store failed",
                       {{"system", system}, {"entity", entity}, {"error", error}});
      co_return Ended::Failed;
    }
    const int64_t chunk_start = core_.clock().monotonicMs();
    if (!ids.empty()) {
      const size_t n = ids.size();
      auto unchanged = [this, &before](const std::string& native) {
        auto it = before.find(native);
        if (it == before.end() || sys_.pusher->busy(it->second.first)) {
          return false;
        }
        auto snap = core_.store().read();
        if (!snap) {
          return false;
        }
        auto linked = snap->linkedRecord(sys_.id, native);
        auto outbox = snap->outboxEntry(sys_.id, it->second.first);
        auto shadow = snap->shadow(sys_.id, it->second.first);
        return linked && *linked == it->second.first && outbox && !*outbox && shadow &&
               *shadow == it->second.second;
      };
      FetchOutcome got = co_await ent_.detector->fetchAndIngest(std::move(ids), why, unchanged);
      if (got.dropped > 0) {
        core_.log().debug("existence check: answers a push overtook are left to the next round",
                          {{"system", system}, {"entity", entity}, {"records", got.dropped}});
      }
      checked += got.asked - got.failed - got.dropped;
      deleted += got.gone;
      core_.stats().detector(system, entity, [&](DetectorStatus& d) {
        d.existence_checked += got.asked - got.failed - got.dropped;
        d.existence_deletes += got.gone;
      });
      if (got.failed > 0 || !got.ingested) {
        // The stored position stays before this chunk: the retry fetches it again.
        core_.log().info("existence check interrupted; it resumes later",
                         {{"system", system},
                          {"entity", entity},
                          {"records_checked", checked},
                          {"deletes_found", deleted}});
        co_return Ended::Failed;
      }
      if (!end) {
        Notes notes;
        notes.emplace_back(after_key, next);
        if (!co_await save(std::move(notes))) {
          co_return Ended::Failed;
        }
      }
      // The pace: this chunk's share of max_per_s.
      const int64_t due = chunk_start + static_cast<int64_t>(std::ceil(n * ms_per_record));
      if (!co_await sleep(due - core_.clock().monotonicMs())) {
        co_return Ended::Stopped;
      }
    } else if (!end && !co_await sleep(0)) {
      co_return Ended::Stopped;
    }
    after = std::move(next);
    if (end) {
      Notes notes;
      notes.emplace_back(done_key, std::to_string(core_.clock().nowMs()));
      notes.emplace_back(after_key, std::nullopt);
      if (!co_await save(std::move(notes))) {
        co_return Ended::Failed;
      }
      core_.stats().detector(system, entity, [](DetectorStatus& d) { ++d.existence_checks; });
      core_.log().info("existence check finished", {{"system", system},
                                                    {"entity", entity},
                                                    {"records_checked", checked},
                                                    {"deletes_found", deleted},
                                                    {"ms", core_.clock().monotonicMs() - started}});
      co_return Ended::Done;
    }
  }
}

}  // namespace tandem::agent::runtime::detail
