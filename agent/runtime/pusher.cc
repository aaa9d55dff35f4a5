// The pusher of one system (see pusher.h).

#include "agent/runtime/pusher.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <string_view>
#include <unordered_set>

#include "agent/runtime/detector.h"

namespace tandem::agent::runtime::detail {

namespace {

std::vector<std::string> namesOf(const conflict::PushPlan& plan) {
  std::vector<std::string> names;
  for (const auto& f : plan.fields) {
    names.push_back(f.name);
  }
  return names;
}

engine::PushOutcome mappingFailed(const SystemRuntime& sys, const EntityRuntime& ent,
                                  const engine::PushJob& job, const mappers::FieldErrors& errors) {
  return engine::PushPermanent{"mapping " + sys.name() + "." + ent.entity->name + " record " +
                               job.record + ": " + mappers::describe(errors)};
}

// An unarchive where the system archives by writing fields ({"active": false}): the same
// members with the booleans flipped ({"active": true}) go into the update body.
void addRevive(const mappers::DeleteSpec& del, rapidjson::Document& doc) {
  if (del.mode != mappers::DeleteMode::FieldWrite || !doc.IsObject()) {
    return;
  }
  rapidjson::Document fields;
  fields.Parse(del.fields.c_str());
  if (fields.HasParseError() || !fields.IsObject()) {
    return;
  }
  auto& alloc = doc.GetAllocator();
  for (auto& m : fields.GetObject()) {
    if (!m.value.IsBool()) {
      continue;
    }
    rapidjson::Value name(m.name.GetString(), alloc);
    doc.RemoveMember(m.name.GetString());
    doc.AddMember(name, rapidjson::Value(!m.value.GetBool()), alloc);
  }
}

}  // namespace

Pusher::Pusher(Core& core, SystemRuntime& sys) : core_(core), sys_(sys), sleep_(sys.strand) {}

void Pusher::wake(std::shared_ptr<SystemRuntime> keep) {
  asio::post(sys_.strand, [this, keep = std::move(keep)] { wakeHere(); });
}

void Pusher::wakeHere() {
  woken_ = true;
  sleep_.cancel();
}

size_t Pusher::prefetch(size_t max_in_flight, size_t batch_limit) {
  // Eight rounds ahead, but not so many that a slow system sits on plans that age in the queue.
  const size_t rounds = std::clamp<size_t>(max_in_flight * 8, 16, 128);
  // Where creates go in batches, enough that every request in flight can be a full batch: the
  // one durable commit that marks a refill's creates as sent then covers that many (its fsync
  // is what a bulk load waits for most).
  return std::max(rounds, std::min<size_t>(max_in_flight * batch_limit, 1000));
}

std::optional<int64_t> Pusher::nextDueIn() {
  auto snap = core_.store().read();
  if (!snap) {
    return std::nullopt;
  }
  auto due = snap->dueOutbox(std::numeric_limits<int64_t>::max(),
                             in_flight_.size() + held_.size() + queue_.size() + 1, sys_.id);
  if (!due) {
    return std::nullopt;
  }
  const auto queued = queuedRecords();
  for (const auto& e : *due) {
    if (in_flight_.count(e.record) == 0 && queued.count(e.record) == 0 &&
        held_.count(e.record) == 0) {
      return std::max<int64_t>(0, e.due_ms - core_.clock().nowMs());
    }
  }
  return std::nullopt;
}

std::unordered_set<std::string_view> Pusher::queuedRecords() const {
  std::unordered_set<std::string_view> out;
  out.reserve(queue_.size());
  for (const auto& q : queue_) {
    out.insert(q.record);
  }
  return out;
}

bool Pusher::busy(const std::string& record) const {
  return in_flight_.count(record) != 0 ||
         std::any_of(queue_.begin(), queue_.end(),
                     [&](const engine::PushJob& q) { return q.record == record; });
}

asio::awaitable<void> Pusher::run(std::shared_ptr<SystemRuntime> keep) {
  const size_t max_in_flight =
      static_cast<size_t>(std::max(1, sys_.spec->rate_limits.max_in_flight));
  size_t batch_limit = 0;
  for (const auto& ent : keep->entities) {
    batch_limit = std::max(batch_limit, ent->connector->batchCreateLimit());
  }
  const size_t ahead = prefetch(max_in_flight, batch_limit);
  const int64_t interval = std::max<int64_t>(1, keep->config->agent.poll_interval_ms);
  // Once stopped (drain, reload) no push starts, but the answers of those in flight are still
  // recorded: an unrecorded create answer would cost a read-back after the restart.
  while (!core_.stopped(sys_) || !in_flight_.empty() || !done_.empty() || recording_ ||
         refilling_) {
    woken_ = false;
    if (!done_.empty() && !recording_) {
      recording_ = true;
      core_.spawn(sys_.strand, record(keep), "record pushes to " + sys_.name());
    }
    if (core_.stopped(sys_)) {
      queue_.clear();
      if (!woken_) {
        sleep_.expires_after(std::chrono::milliseconds(interval));
        co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      continue;
    }
    if (!refilling_ && queue_.size() <= 2 * max_in_flight) {
      refilling_ = true;
      if (queue_.empty()) {
        co_await refill(keep, ahead, false);  // nothing to send meanwhile
      } else {
        // Refill while a round is still queued, so the requests do not wait for the commit.
        core_.spawn(sys_.strand, refill(keep, ahead - queue_.size(), true),
                    "take due pushes of " + sys_.name());
      }
    }
    bool started = false;
    while (!queue_.empty() && sending_ < max_in_flight && !core_.stopped(sys_)) {
      engine::PushJob job = std::move(queue_.front());
      queue_.pop_front();
      if (in_flight_.count(job.record) != 0) {
        continue;  // taken again while its earlier push was being recorded
      }
      in_flight_.insert(job.record);
      ++sending_;
      sys_.enter();  // a reload's new pusher waits for this push
      started = true;
      std::vector<engine::PushJob> batch = takeBatch(keep, job);
      if (batch.size() > 1) {
        core_.spawn(sys_.strand, sendBatch(keep, std::move(batch)),
                    "batch create in " + sys_.name());
        continue;
      }
      core_.spawn(sys_.strand, send(keep, std::move(job)), "push to " + sys_.name());
    }
    if (started) {
      continue;
    }
    int64_t wait = interval;
    if (sending_ < max_in_flight && !refilling_ && !refill_failed_) {
      if (auto next = nextDueIn()) {
        wait = std::clamp<int64_t>(*next, 1, interval);
      }
    }
    if (!woken_ && !core_.stopped(sys_)) {
      sleep_.expires_after(std::chrono::milliseconds(wait));
      co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<void> Pusher::refill(std::shared_ptr<SystemRuntime> keep, size_t want, bool wake) {
  // Entries of records in flight or queued are due as well and come back first: look past them.
  const size_t limit = want + in_flight_.size() + queue_.size();
  engine::DueFilter filter;
  for (const auto& ent : keep->entities) {
    if (!ent->feed_read) {
      filter.hold_creates.push_back(ent->entity->name);
    }
  }
  std::vector<engine::RecordId> held;
  filter.held = &held;
  recorded_while_refilling_.clear();
  // The creates are marked as sent before they go; that commit's fsync is waited for here,
  // off the writer, which goes on with the next batch (shared with other pushers' waits).
  uint64_t due_seq = 0;
  auto jobs = co_await core_.onWriter([this, limit, &filter, &due_seq] {
    due_seq = core_.nextWriterSeq();
    return core_.engine().duePushes(sys_.id, limit, filter, state::Durability::Deferred);
  });
  held_ = std::set<std::string>(held.begin(), held.end());
  const size_t before = queue_.size();
  const auto create = [](const engine::PushJob& j) { return j.native_id.empty(); };
  bool durable = true;
  const bool creates = jobs && std::any_of(jobs->begin(), jobs->end(), create);
  if (creates) {
    if (Status synced = co_await core_.durable(); !synced) {
      // Not known to be on disk: not sent now, and unmarked so they go as soon as the store can
      // make a mark durable again. If the unmarking is lost or fails, they come back when their
      // lease ends, read back by key first, as after a crash.
      durable = false;
      storeFailed("pusher: creates not sent, their mark as sent is not durable",
                  synced.error().message);
      const auto creates_from = std::stable_partition(
          jobs->begin(), jobs->end(), [&create](const engine::PushJob& j) { return !create(j); });
      std::vector<engine::PushJob> unsent(std::make_move_iterator(creates_from),
                                          std::make_move_iterator(jobs->end()));
      jobs->erase(creates_from, jobs->end());
      auto unmarked = co_await core_.onWriter(
          [this, &unsent] { return core_.engine().unmarkUnsentCreates(sys_.id, unsent); });
      if (!unmarked) {
        storeFailed("pusher: creates not sent stay marked until their lease ends",
                    unmarked.error().message);
      }
    }
  }
  // A store that cannot write (a full disk, a disk whose fsync fails) fails every refill: the
  // loop waits a poll interval before the next one instead of the 1 ms its due entries ask for,
  // and says so once.
  refill_failed_ = !jobs || !durable;
  if (!jobs) {
    storeFailed("pusher: due pushes not taken", jobs.error().message);
  } else {
    if (creates && durable) {
      storeWrote();  // a commit made durable (a refill of updates alone may commit nothing)
    }
    // A lookup per job, not a walk of the queue (up to a thousand jobs each way in a load).
    auto queued = queuedRecords();
    for (auto& job : *jobs) {
      const auto recorded = recorded_while_refilling_.find(job.record);
      const bool stale = recorded != recorded_while_refilling_.end() && recorded->second > due_seq;
      if (in_flight_.count(job.record) == 0 && queued.count(job.record) == 0 && !stale) {
        queue_.push_back(std::move(job));
        queued.insert(queue_.back().record);  // a deque's push_back keeps the others in place
      }
    }
  }
  refilling_ = false;
  if ((wake && queue_.size() > before) || core_.stopped(sys_)) {
    wakeHere();
  }
}

void Pusher::storeFailed(std::string_view what, std::string_view error, std::string_view record) {
  std::vector<LogField> fields{{"system", sys_.name()}};
  if (!record.empty()) {
    fields.emplace_back("record", std::string(record));
  }
  store_failures_.failed(core_.log(), LogLevel::Error, what, std::move(fields), error,
                         core_.clock().nowMs(), core_.options().failure_rewarn_ms, record);
}

void Pusher::storeWrote() {
  store_failures_.succeeded(core_.log(), "pusher: the store takes writes again",
                            {{"system", sys_.name()}}, core_.clock().nowMs());
}

asio::awaitable<void> Pusher::send(std::shared_ptr<SystemRuntime> keep, engine::PushJob job) {
  EntityRuntime* ent = keep->entity(job.entity);
  std::optional<engine::PushOutcome> sent = engine::PushPermanent{
      "push to " + sys_.name() + ": no connector for entity \"" + job.entity + "\""};
  if (ent != nullptr) {
    sent = co_await performGuarded(*ent, job);
  }
  if (!sent) {
    // Reading the record first changed it: the next round sends the re-planned entry.
    core_.log().info("push re-planned after reading the record first",
                     {{"system", sys_.name()}, {"record", job.record}});
    in_flight_.erase(job.record);
    --sending_;
    sys_.leave();
    core_.wakeAll();
    co_return;
  }
  // Recorded together with the other answers that arrived meanwhile; the slot is free at once.
  answered(std::move(job), std::move(*sent));
  --sending_;
  wakeHere();
}

void Pusher::answered(engine::PushJob job, engine::PushOutcome outcome) {
  // Whatever the outcome, the system may have applied the write by now.
  const auto* ok = std::get_if<engine::PushSuccess>(&outcome);
  sys_.noteAnswer(ok != nullptr && !ok->native_id.empty() ? ok->native_id : job.native_id);
  core_.stats().setBreaker(sys_.name(), sys_.channel->breakerState());
  const bool create = job.native_id.empty() && (job.plan.op == conflict::PushOp::Create ||
                                                job.plan.op == conflict::PushOp::Undelete);
  core_.stats().countPush(sys_.name(), outcome, create);
  if (const auto* perm = std::get_if<engine::PushPermanent>(&outcome)) {
    core_.log().warn("push refused, dead-lettered",
                     {{"system", sys_.name()}, {"record", job.record}, {"error", perm->error}});
  } else if (const auto* retry = std::get_if<engine::PushRetryable>(&outcome)) {
    // A system that is down fails every push of every record: one line, the repeats at debug
    // level, and the line again with the count every failure_rewarn_ms while it lasts.
    failures_.failed(core_.log(), LogLevel::Info, "push failed, will retry",
                     {{"system", sys_.name()},
                      {"record", job.record},
                      {"attempts", static_cast<int64_t>(job.attempts + 1)}},
                     retry->error, core_.clock().nowMs(), core_.options().failure_rewarn_ms,
                     job.record);
  } else if (ok != nullptr) {
    failures_.succeeded(core_.log(), "pushes go through again", {{"system", sys_.name()}},
                        core_.clock().nowMs());
  }
  done_.push_back(engine::Completion{std::move(job), std::move(outcome)});
}

namespace {

// A create that can share a request with others: first try, no read-back pending.
bool batchable(const engine::PushJob& job) {
  return job.native_id.empty() && !job.outcome_unknown && job.plan.op != conflict::PushOp::Delete;
}

}  // namespace

std::vector<engine::PushJob> Pusher::takeBatch(const std::shared_ptr<SystemRuntime>& keep,
                                               engine::PushJob& first) {
  std::vector<engine::PushJob> batch;
  EntityRuntime* ent = keep->entity(first.entity);
  const size_t limit = ent != nullptr ? ent->connector->batchCreateLimit() : 0;
  if (limit < 2 || !batchable(first)) {
    return batch;
  }
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() + 1 < limit;) {
    if (it->entity == first.entity && batchable(*it) && in_flight_.count(it->record) == 0) {
      in_flight_.insert(it->record);
      sys_.enter();
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  if (!batch.empty()) {
    batch.insert(batch.begin(), std::move(first));
  }
  return batch;
}

asio::awaitable<void> Pusher::sendBatch(std::shared_ptr<SystemRuntime> keep,
                                        std::vector<engine::PushJob> jobs) {
  EntityRuntime& ent = *keep->entity(jobs.front().entity);
  std::vector<std::optional<engine::PushOutcome>> outcomes(jobs.size());
  std::string thrown;
  try {
    co_await batchOutcomes(ent, jobs, outcomes);
  } catch (...) {
    thrown = exceptionText(std::current_exception());
  }
  if (!thrown.empty()) {
    // As performGuarded(): the creates not answered yet are retried (read back by key).
    core_.log().error("pusher: batch create threw", {{"system", sys_.name()}, {"error", thrown}});
    for (auto& o : outcomes) {
      if (!o) {
        o = engine::PushRetryable{"batch create in " + sys_.name() + " threw: " + thrown, 0};
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    answered(std::move(jobs[i]), std::move(*outcomes[i]));
  }
  --sending_;
  wakeHere();
}

asio::awaitable<void> Pusher::batchOutcomes(
    EntityRuntime& ent, const std::vector<engine::PushJob>& jobs,
    std::vector<std::optional<engine::PushOutcome>>& outcomes) {
  std::vector<mappers::SystemBody> docs;
  std::vector<size_t> at;  // the job of each doc
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto body = createBody(ent, jobs[i]);
    if (auto* refused = std::get_if<engine::PushOutcome>(&body)) {
      outcomes[i] = std::move(*refused);
      continue;
    }
    docs.push_back(std::move(std::get<mappers::SystemBody>(body)));
    at.push_back(i);
  }
  std::vector<const rapidjson::Value*> bodies;
  std::vector<std::string> keys;
  for (size_t k = 0; k < docs.size(); ++k) {
    bodies.push_back(&docs[k].doc());
    keys.push_back(jobs[at[k]].idempotency_key);
  }
  // (No co_await inside a conditional expression: GCC 12 destroys its temporary too early.)
  Result<std::vector<engine::PushOutcome>> many = fail("one record: sent alone");
  if (bodies.size() > 1) {
    many = co_await ent.connector->createMany(bodies, keys);
  }
  if (many && many->size() == bodies.size()) {
    for (size_t k = 0; k < at.size(); ++k) {
      outcomes[at[k]] = std::move((*many)[k]);
    }
  } else {
    if (bodies.size() > 1) {
      core_.log().info(
          "batch create refused as a whole, sending one at a time",
          {{"system", sys_.name()},
           {"records", static_cast<int64_t>(bodies.size())},
           {"error", many ? std::string("wrong number of outcomes") : many.error().message}});
    }
    for (size_t k = 0; k < at.size(); ++k) {
      outcomes[at[k]] = co_await ent.connector->create(docs[k].doc(), jobs[at[k]].idempotency_key);
    }
  }
}

asio::awaitable<void> Pusher::record(std::shared_ptr<SystemRuntime> keep) {
  while (!done_.empty()) {
    std::vector<engine::Completion> done = std::move(done_);
    done_.clear();
    // The writer's sequence number of the commit that recorded each answer (see refill()).
    std::vector<uint64_t> seqs(done.size(), 0);
    // One transaction (one fsync) for every answer at hand instead of one per push.
    auto follow = co_await core_.onWriter([this, &done, &seqs] {
      std::fill(seqs.begin(), seqs.end(), core_.nextWriterSeq());
      return core_.engine().completePushes(sys_.id, done);
    });
    std::vector<engine::FollowUp> follows(done.size(), engine::FollowUp::None);
    if (follow) {
      follows = std::move(*follow);
      storeWrote();
    } else {
      // All or nothing failed: one at a time, so one bad answer does not hold back the rest.
      for (size_t i = 0; i < done.size(); ++i) {
        const engine::Completion& c = done[i];
        auto one = co_await core_.onWriter([this, &c, &seq = seqs[i]] {
          seq = core_.nextWriterSeq();
          return core_.engine().completePush(sys_.id, c.job, c.outcome);
        });
        if (one) {
          follows[i] = *one;
          storeWrote();
        } else {
          // Unrecorded, the answer is as if lost: the outbox entry is due again (a create's
          // lease runs out and it is read back by its key).
          storeFailed("pusher: push answer not recorded", one.error().message, c.job.record);
        }
      }
    }
    for (size_t i = 0; i < done.size(); ++i) {
      const engine::PushJob& job = done[i].job;
      EntityRuntime* ent = keep->entity(job.entity);
      if (follows[i] == engine::FollowUp::Reread && ent != nullptr) {
        co_await reread(*ent, job);
      }
      in_flight_.erase(job.record);
      if (refilling_) {
        recorded_while_refilling_[job.record] = seqs[i];
      }
      sys_.leave();
    }
    core_.wakeAll();
  }
  recording_ = false;
  wakeHere();
}

Result<mappers::CanonicalValues> Pusher::valuesFor(const engine::PushJob& job) {
  // The current canonical record with the planned values on top: a body that writes some fields
  // of a join (first + last name into one "name") needs the join's other fields too.
  mappers::CanonicalValues values;
  if (job.other_values) {
    values = *job.other_values;
  } else {
    TANDEM_ASSIGN_OR_RETURN(auto snap, core_.store().read());
    TANDEM_ASSIGN_OR_RETURN(auto record, snap.record(job.record));
    if (record) {
      for (const auto& [name, field] : record->fields) {
        values[name] = field.value;
      }
    }
  }
  for (const auto& f : job.plan.fields) {
    values[f.name] = f.value;
  }
  return values;
}

std::variant<mappers::SystemBody, engine::PushOutcome> Pusher::createBody(
    EntityRuntime& ent, const engine::PushJob& job) {
  auto values = valuesFor(job);
  if (!values) {
    return engine::PushRetryable{"push to " + sys_.name() + ": " + values.error().message, 0};
  }
  auto doc = mappers::toSystemDocument(ent.plan, *values, mappers::WriteMode::Create);
  if (!doc) {
    return mappingFailed(sys_, ent, job, doc.error());
  }
  return std::move(*doc);
}

asio::awaitable<std::optional<engine::PushOutcome>> Pusher::performGuarded(
    EntityRuntime& ent, const engine::PushJob& job) {
  std::string thrown;
  try {
    co_return co_await perform(ent, job);
  } catch (...) {
    thrown = exceptionText(std::current_exception());
  }
  core_.log().error("pusher: push threw",
                    {{"system", sys_.name()}, {"record", job.record}, {"error", thrown}});
  co_return engine::PushRetryable{"push to " + sys_.name() + " threw: " + thrown, 0};
}

asio::awaitable<std::optional<engine::PushOutcome>> Pusher::perform(EntityRuntime& ent,
                                                                    const engine::PushJob& job) {
  const conflict::PushPlan& plan = job.plan;
  connector::Connector& conn = *ent.connector;
  if (plan.op == conflict::PushOp::Delete && job.native_id.empty()) {
    // The engine plans a create for a system that never held the record, never this.
    co_return engine::PushPermanent{"push to " + sys_.name() + ": delete of " + job.record +
                                    ", which was never created there"};
  }
  // A system without a version token takes any write, so a person's edit there that its feed
  // has not shown yet would be overwritten unseen (case 6), or archived or deleted unseen: the
  // edit, once read, would follow the delete instead of being concurrent with it, and the
  // delete policy would never weigh it (case 15). Read the record first.
  if ((plan.op == conflict::PushOp::Update || plan.op == conflict::PushOp::Delete) &&
      !job.native_id.empty() &&
      ent.spec->connector.update.concurrency == mappers::ConcurrencyKind::None) {
    auto pre = co_await readBeforeWrite(ent, job);
    if (std::holds_alternative<Replanned>(pre)) {
      co_return std::nullopt;
    }
    if (auto* o = std::get_if<engine::PushOutcome>(&pre)) {
      co_return std::move(*o);
    }
  }
  if (plan.op == conflict::PushOp::Delete) {
    co_return co_await conn.remove(job.native_id, plan.version_token);
  }
  if (job.native_id.empty() && job.outcome_unknown) {
    // The earlier create may have been applied: read the feed first; when it shows the record
    // the ingest links it by match key and the engine re-plans instead of creating again.
    const bool read = co_await ent.detector->pollNow();
    if (!read) {
      // Without the feed there is no telling whether the first create was applied.
      co_return engine::PushRetryable{"create of " + job.record + " in " + sys_.name() +
                                          ": outcome unknown and the feed could not be read",
                                      0};
    }
    auto snap = core_.store().read();
    auto native = snap ? snap->nativeId(job.record, sys_.id)
                       : Result<std::optional<std::string>>(std::unexpected(snap.error()));
    if (native && *native) {
      co_return engine::PushRetryable{"create of " + job.record + " in " + sys_.name() +
                                          ": found as " + **native +
                                          " after an unknown outcome, re-planned",
                                      0};
    }
  }
  if (job.native_id.empty()) {
    auto body = createBody(ent, job);
    if (auto* refused = std::get_if<engine::PushOutcome>(&body)) {
      co_return std::move(*refused);
    }
    co_return co_await conn.create(std::get<mappers::SystemBody>(body).doc(), job.idempotency_key);
  }
  auto values = valuesFor(job);
  if (!values) {
    co_return engine::PushRetryable{"push to " + sys_.name() + ": " + values.error().message, 0};
  }
  std::expected<mappers::SystemBody, mappers::FieldErrors> doc;
  if (plan.op == conflict::PushOp::Update && ent.spec->connector.update.partial) {
    doc = mappers::toSystemDocument(ent.plan, *values, mappers::WriteMode::Update, namesOf(plan));
  } else {
    // Unarchive, or a system that wants the whole record on update.
    doc = mappers::toSystemDocument(ent.plan, *values, mappers::WriteMode::Update);
  }
  if (!doc) {
    co_return mappingFailed(sys_, ent, job, doc.error());
  }
  if (plan.op != conflict::PushOp::Update) {
    addRevive(ent.spec->connector.del, doc->doc());
  }
  co_return co_await conn.update(job.native_id, doc->doc(), plan.version_token);
}

asio::awaitable<Result<std::optional<engine::IngestResult>>> Pusher::readAndIngest(
    EntityRuntime& ent, const std::string& native_id) {
  const SystemRuntime::ReadMark read(sys_);
  TANDEM_CO_ASSIGN_OR_RETURN(auto got, co_await ent.connector->get(native_id));
  if (!got) {
    co_return std::nullopt;
  }
  std::vector<connector::NativeRecord> records;
  records.push_back(std::move(*got));
  MappedBatch mapped = mapRecords(sys_, ent, records);
  TANDEM_CO_ASSIGN_OR_RETURN(
      auto result, co_await core_.ingest(sys_, ent, std::move(mapped.incoming),
                                         std::move(mapped.failures), std::nullopt, read.started()));
  co_return result;
}

asio::awaitable<void> Pusher::reread(EntityRuntime& ent, const engine::PushJob& job) {
  if (job.native_id.empty()) {
    co_return;
  }
  // When the record is gone, the next push answers not found and the delete policy decides.
  auto read = co_await readAndIngest(ent, job.native_id);
  if (!read) {
    core_.log().warn(
        "pusher: re-read after a stale push failed",
        {{"system", sys_.name()}, {"id", job.native_id}, {"error", read.error().message}});
  }
}

asio::awaitable<std::variant<std::monostate, Pusher::Replanned, engine::PushOutcome>>
Pusher::readBeforeWrite(EntityRuntime& ent, const engine::PushJob& job) {
  auto read = co_await readAndIngest(ent, job.native_id);
  if (!read) {
    co_return engine::PushOutcome{engine::PushRetryable{
        "read before update of " + job.record + " in " + sys_.name() + ": " + read.error().message,
        0}};
  }
  if (!*read) {
    co_return engine::PushOutcome{engine::PushNotFound{}};
  }
  // Anything the ingest wrote (a person's edit, merged or in conflict; even only a newer updated
  // time) may change the plan: it is made again from the record. A second read of an unchanged
  // record is an echo, so the job after that goes out.
  const engine::IngestResult& r = **read;
  if (r.new_records + r.updated_records + r.conflicts > 0) {
    co_return Replanned{};
  }
  co_return std::monostate{};
}

}  // namespace tandem::agent::runtime::detail
