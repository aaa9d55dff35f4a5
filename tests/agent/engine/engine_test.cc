// The engine against three in-memory systems: convergence cases and wrong input.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "agent/engine/work_set.h"
#include "tests/agent/engine/sim.h"

namespace tandem::engine::testing {
namespace {

std::map<std::string, Value> alice() {
  return {{"email", str("alice@example.com")}, {"name", str("Alice")}, {"phone", str("100")}};
}

size_t successfulPushes(const SimSystem& s) {
  return s.received().size();
}

TEST(Convergence, C01_EchoOfOwnPushIsNotPushedAgain) {
  Harness h;
  h.sim(kCrm).humanCreate(alice());
  EXPECT_EQ(h.poll(kCrm), 1u);
  EXPECT_EQ(h.outboxSize(), 2u);  // a create for the ERP and one for finance
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
  EXPECT_EQ(h.sim(kFin).creates(), 1u);
  EXPECT_EQ(successfulPushes(h.sim(kErp)), 1u);
  EXPECT_EQ(successfulPushes(h.sim(kFin)), 1u);
  EXPECT_EQ(successfulPushes(h.sim(kCrm)), 0u);
  EXPECT_TRUE(h.conflicts().empty());
  // The ERP's and finance's feeds reported the created records back: linked, nothing queued.
  h.sim(kErp).humanEdit(*h.sim(kErp).nativeByEmail("alice@example.com"), "name", str("Alice"));
  EXPECT_EQ(h.poll(kErp), 1u);
  EXPECT_EQ(h.outboxSize(), 0u);
}

TEST(Convergence, C05_DifferentFieldsSameRecordBothSurvive) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kCrm).humanEdit(crm, "name", str("Alice Smith"));
  h.sim(kFin).humanEdit(*h.sim(kFin).nativeByEmail("alice@example.com"), "phone", str("555"));
  h.settle();
  h.expectConverged();
  const auto& erp = h.sim(kErp).records().begin()->second;
  EXPECT_EQ(erp.fields.at("name"), str("Alice Smith"));
  EXPECT_EQ(erp.fields.at("phone"), str("555"));
  EXPECT_TRUE(h.conflicts().empty());
}

TEST(Convergence, C06_SameFieldTwoSystemsOneConflictEntry) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kCrm).humanEdit(crm, "phone", str("111"));
  h.clock().advanceMs(1000);
  h.sim(kErp).humanEdit(*h.sim(kErp).nativeByEmail("alice@example.com"), "phone", str("222"));
  h.settle();
  h.expectConverged();
  auto conflicts = h.conflicts();
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].field, "phone");
  EXPECT_EQ(conflicts[0].sides.size(), 2u);
  EXPECT_EQ(conflicts[0].outcome, str("222"));  // lww: the ERP's edit is later
  EXPECT_EQ(h.sim(kFin).records().begin()->second.fields.at("phone"), str("222"));
}

TEST(Convergence, C08_SequentialEditWinsWithoutConflict) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kCrm).humanEdit(crm, "name", str("From CRM"));
  h.settle();
  h.sim(kErp).humanEdit(*h.sim(kErp).nativeByEmail("alice@example.com"), "name", str("From ERP"));
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kCrm).records().at(crm).fields.at("name"), str("From ERP"));
  EXPECT_TRUE(h.conflicts().empty());
}

TEST(Convergence, C13_PartialBodyKeepsConcurrentEditOfOtherField) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kErp).clearReceived();
  h.sim(kCrm).humanEdit(crm, "phone", str("777"));
  h.poll(kCrm);
  // A person edits the name in the ERP before tandem's push of the phone arrives.
  std::string erp = *h.sim(kErp).nativeByEmail("alice@example.com");
  h.sim(kErp).humanEdit(erp, "name", str("Typed in ERP"));
  h.push(kErp);
  ASSERT_EQ(h.sim(kErp).received().size(), 1u);
  const PushJob& job = h.sim(kErp).received()[0];
  EXPECT_EQ(job.plan.op, conflict::PushOp::Update);
  ASSERT_EQ(job.plan.fields.size(), 1u);
  EXPECT_EQ(job.plan.fields[0].name, "phone");
  EXPECT_EQ(job.native_id, erp);
  EXPECT_EQ(h.sim(kErp).records().at(erp).fields.at("name"), str("Typed in ERP"));
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kCrm).records().at(crm).fields.at("name"), str("Typed in ERP"));
  EXPECT_EQ(h.sim(kCrm).records().at(crm).fields.at("phone"), str("777"));
  EXPECT_TRUE(h.conflicts().empty());
}

TEST(Convergence, C14_SameEmailCreatedInTwoSystemsIsOneRecord) {
  Harness h;
  h.sim(kCrm).humanCreate({{"email", str("bob@example.com")}, {"name", str("Bob")}});
  h.sim(kErp).humanCreate({{"email", str("bob@example.com")}, {"phone", str("999")}});
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kCrm).records().size(), 1u);
  EXPECT_EQ(h.sim(kErp).creates(), 0u);  // linked to the ERP's own record, never created
  EXPECT_EQ(h.sim(kCrm).creates(), 0u);
  EXPECT_EQ(h.sim(kFin).creates(), 1u);
  const auto& fin = h.sim(kFin).records().begin()->second;
  EXPECT_EQ(fin.fields.at("name"), str("Bob"));
  EXPECT_EQ(fin.fields.at("phone"), str("999"));
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(*snap->recordCount(), 1u);
}

TEST(Convergence, C14_SameEmailInErpAndFinanceCreatedOnceInCrm) {
  Harness h;
  // The ERP's batch makes the record and queues creates; finance's report of its own copy is
  // matched by email before any push, so finance keeps its record and only the CRM gets one.
  h.sim(kErp).humanCreate({{"email", str("carol@example.com")}, {"name", str("Carol")}});
  h.sim(kFin).humanCreate({{"email", str("carol@example.com")}, {"name", str("Carol")}});
  h.poll(kErp);
  h.poll(kFin);
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kFin).creates(), 0u);
  EXPECT_EQ(h.sim(kErp).creates(), 0u);
  EXPECT_EQ(h.sim(kCrm).creates(), 1u);
}

TEST(Convergence, C19_OutboxHoldsLatestValueWhileSystemIsDown) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kFin).setDown(true);
  for (const char* phone : {"1", "2", "3"}) {
    h.sim(kCrm).humanEdit(crm, "phone", str(phone));
    h.poll(kCrm);
    h.push(kErp);
    h.push(kFin);
    h.clock().advanceMs(120'000);
  }
  EXPECT_EQ(h.sim(kErp).records().begin()->second.fields.at("phone"), str("3"));
  EXPECT_EQ(h.outboxSize(), 1u);  // one entry for finance, not three
  {
    auto snap = h.store().read();
    ASSERT_TRUE(snap);
    auto due = snap->dueOutbox(h.clock().nowMs() + 3'600'000, 10, kFin);
    ASSERT_TRUE(due);
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].last_error, "503 service unavailable");
    EXPECT_GE((*due)[0].attempts, 2u);
  }
  h.sim(kFin).setDown(false);
  h.sim(kFin).clearReceived();
  h.settle();
  h.expectConverged();
  ASSERT_EQ(h.sim(kFin).received().size(), 1u);  // only the latest value, once
  ASSERT_EQ(h.sim(kFin).received()[0].plan.fields.size(), 1u);
  EXPECT_EQ(h.sim(kFin).received()[0].plan.fields[0].value, str("3"));
}

TEST(Convergence, C20_RefusedValueIsDeadLetteredOthersConvergeRetrySucceeds) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kFin).setReject([](const std::string& field, const Value& v) -> std::optional<std::string> {
    if (field == "phone" && v.asString().starts_with("bad")) {
      return "400 phone: not a valid number";
    }
    return std::nullopt;
  });
  h.sim(kCrm).humanEdit(crm, "phone", str("bad-1"));
  h.sim(kCrm).humanEdit(crm, "name", str("Alice B"));
  h.settle();
  EXPECT_EQ(h.sim(kErp).records().begin()->second.fields.at("phone"), str("bad-1"));
  EXPECT_EQ(h.sim(kErp).records().begin()->second.fields.at("name"), str("Alice B"));
  EXPECT_EQ(h.sim(kFin).records().begin()->second.fields.at("phone"), str("100"));
  std::vector<state::DeadLetter> dead;
  {
    auto snap = h.store().read();
    ASSERT_TRUE(snap);
    dead = *snap->deadLetters(kFin, 10);
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "400 phone: not a valid number");
  EXPECT_EQ(h.outboxSize(), 0u);
  // The fix (the system accepts it now), then the operator's retry.
  h.sim(kFin).setReject({});
  ASSERT_TRUE(h.engine().retryDeadLetter(kFin, dead[0].record));
  h.settle();
  h.expectConverged();
  auto again = h.engine().retryDeadLetter(kFin, dead[0].record);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "engine: retry dead letter " + dead[0].record + " of system 3: no such dead letter");
}

TEST(Convergence, C20_RefusedCreateGoesOutAgainUnderAFreshKey) {
  Harness h;
  h.sim(kFin).setReject([](const std::string& field, const Value& v) -> std::optional<std::string> {
    if (field == "phone" && v.asString().starts_with("bad")) {
      return "400 phone: not a valid number";
    }
    return std::nullopt;
  });
  auto record = alice();
  record["phone"] = str("bad-1");
  h.sim(kCrm).humanCreate(record);
  h.settle();
  ASSERT_EQ(h.sim(kFin).received().size(), 1u);
  const std::string refused_key = h.sim(kFin).received()[0].idempotency_key;
  std::vector<state::DeadLetter> dead;
  {
    auto snap = h.store().read();
    ASSERT_TRUE(snap);
    dead = *snap->deadLetters(kFin, 10);
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].kind, state::PushKind::Create);
  h.sim(kFin).setReject({});
  ASSERT_TRUE(h.engine().retryDeadLetter(kFin, dead[0].record));
  auto jobs = h.engine().duePushes(kFin, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_NE((*jobs)[0].idempotency_key, refused_key);
  EXPECT_EQ(recordOfIdempotencyKey((*jobs)[0].idempotency_key), dead[0].record);
}

TEST(Convergence, C20_ValueFixedAtSourceFlowsWithoutOperatorRetry) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kFin).setReject([](const std::string& field, const Value& v) -> std::optional<std::string> {
    if (field == "phone" && v.asString().starts_with("bad")) {
      return "400 phone: not a valid number";
    }
    return std::nullopt;
  });
  h.sim(kCrm).humanEdit(crm, "phone", str("bad-1"));
  h.settle();
  h.sim(kFin).clearReceived();
  // A poll that brings nothing new for finance does not send the refused value again.
  h.sim(kErp).humanEdit(*h.sim(kErp).nativeByEmail("alice@example.com"), "phone", str("bad-1"));
  h.settle();
  EXPECT_TRUE(h.sim(kFin).received().empty());
  // A new value of another field goes out once, with the refused one, and is refused again.
  h.sim(kCrm).humanEdit(crm, "name", str("Still Bad Phone"));
  h.settle();
  EXPECT_EQ(h.sim(kFin).received().size(), 1u);
  {
    auto snap = h.store().read();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->deadLetters(kFin, 10)->size(), 1u);
  }
  // The person fixes the number in the CRM: the new value goes out and clears the dead letter.
  h.sim(kCrm).humanEdit(crm, "phone", str("200"));
  h.settle();
  h.expectConverged();
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  EXPECT_TRUE(snap->deadLetters(kFin, 10)->empty());
}

TEST(Convergence, C23_ManualConflictResolvedPushesChosenValue) {
  conflict::EntityPolicy policy;
  policy.fields["phone"] = conflict::PolicySpec{conflict::PolicyKind::Manual, {}};
  Harness h(testConfig(policy));
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kCrm).humanEdit(crm, "phone", str("111"));
  h.sim(kErp).humanEdit(*h.sim(kErp).nativeByEmail("alice@example.com"), "phone", str("222"));
  h.settle();
  auto conflicts = h.conflicts();
  ASSERT_EQ(conflicts.size(), 1u);
  ASSERT_TRUE(conflicts[0].open);
  ASSERT_TRUE(h.engine().resolveConflict(conflicts[0].id, str("333"), "resolved by alice"));
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kFin).records().begin()->second.fields.at("phone"), str("333"));
  EXPECT_FALSE(h.conflicts()[0].open);
  auto twice = h.engine().resolveConflict(conflicts[0].id, str("444"), "");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message,
            "engine: resolve conflict " + std::to_string(conflicts[0].id) + ": already closed");
}

TEST(Convergence, C16_SilentHardDeleteFoundByPushUpdateWinsRecreates) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kFin).hardDelete(*h.sim(kFin).nativeByEmail("alice@example.com"));
  h.sim(kCrm).humanEdit(crm, "name", str("Alice Again"));
  h.poll(kCrm);
  h.sim(kFin).clearReceived();
  h.push(kFin);  // 404: handled as finance's delete, concurrent with the CRM's edit
  auto conflicts = h.conflicts();
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].field, conflict::kDeleteField);
  h.settle();
  h.expectConverged();  // the update won (default policy): finance has the record again
  EXPECT_EQ(h.sim(kFin).records().begin()->second.fields.at("name"), str("Alice Again"));
  EXPECT_EQ(h.sim(kFin).creates(), 2u);
}

TEST(Convergence, C12_StalePushAsksForReReadAndKeepsTheEntry) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  h.sim(kCrm).humanEdit(crm, "phone", str("42"));
  h.poll(kCrm);
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  auto follow = h.engine().completePush(kErp, (*jobs)[0], PushStale{});
  ASSERT_TRUE(follow);
  EXPECT_EQ(*follow, FollowUp::Reread);
  EXPECT_EQ(h.outboxSize(), 2u);  // the ERP's entry is kept; finance's is still due
  h.settle();
  h.expectConverged();
}

// A feed page read before tandem's write to a record was answered, ingested after that answer
// was recorded, still shows the value the write replaced. Where the system gives no finer updated
// time than the page's (whole seconds, no version), nothing in the report tells it is older:
// merged, the old value would count as a person's edit in that system and undo the write everywhere
// (a lost edit). The runtime marks such reports doubtful; the engine leaves them out when they
// would change anything and names them to be read again.
TEST(Convergence, C02_ReadFromBeforeOwnWriteIsReadAgainNotMerged) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  const std::string erp = *h.sim(kErp).nativeByEmail("alice@example.com");
  std::string next;
  std::vector<Incoming> page = h.sim(kErp).poll(std::nullopt, next);  // phone "100"
  ASSERT_EQ(page.size(), 1u);
  h.sim(kCrm).humanEdit(crm, "phone", str("200"));
  h.poll(kCrm);
  EXPECT_EQ(h.push(kErp), 1u);  // the ERP now holds "200" and tandem knows it
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  auto record = snap->linkedRecord(kErp, erp);
  ASSERT_TRUE(record && *record);
  auto shadow = snap->shadow(kErp, **record);
  ASSERT_TRUE(shadow && *shadow);
  std::vector<Incoming> echo = page;
  for (auto* batch : {&page, &echo}) {
    Incoming& in = (*batch)[0];
    in.report.source_ts_ms = (*shadow)->source_ts_ms;  // the same second
    in.report.version_token.clear();
    in.doubtful = true;
  }
  auto r = h.engine().ingest(kErp, "customer", page, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->reread, std::vector<std::string>{erp});
  EXPECT_EQ(r->updated_records, 0u);
  // Read again, the record shows tandem's write: an echo, merged as such.
  echo[0].report.fields["phone"] = str("200");
  r = h.engine().ingest(kErp, "customer", echo, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->reread.empty());
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kCrm).records().at(crm).fields.at("phone"), str("200"));
  EXPECT_EQ(h.sim(kErp).records().at(erp).fields.at("phone"), str("200"));
  EXPECT_TRUE(h.conflicts().empty());
}

// A copy tandem creates before a field has a value anywhere (the ERP does not map it) shows the
// field empty once its feed reports it. By then another system may have brought a value: the
// empty field is no edit against it (none was made), so the copy gets the value, with no conflict
// even under a manual policy (which would have held the value back from the copy for good).
TEST(Convergence, C14_NewCopyShowingNoValueIsNoEditAgainstTheValue) {
  conflict::EntityPolicy policy;
  policy.fields["tags"] = conflict::PolicySpec{conflict::PolicyKind::Manual, {}};
  Harness h(testConfig(std::move(policy)));
  h.sim(kErp).humanCreate({{"email", str("bob@example.com")}, {"phone", str("999")}});
  std::string next;
  std::vector<Incoming> erp = h.sim(kErp).poll(std::nullopt, next);
  ASSERT_EQ(erp.size(), 1u);
  erp[0].report.fields.erase("tags");  // the ERP's mapping does not read tags
  ASSERT_TRUE(h.engine().ingest(kErp, "customer", erp, next));
  EXPECT_EQ(h.push(kFin), 1u);  // finance's copy is created without tags
  h.sim(kCrm).humanCreate({{"email", str("bob@example.com")}, {"tags", str("vip")}});
  EXPECT_EQ(h.poll(kCrm), 1u);
  EXPECT_EQ(h.poll(kFin), 1u);  // tags: empty
  h.settle();
  for (const auto& c : h.conflicts()) {
    ADD_FAILURE() << "conflict on " << c.field << " with " << c.sides.size() << " sides: " << c.note
                  << " [" << int(c.sides[0].system) << "=" << c.sides[0].value.toJson() << " vs "
                  << int(c.sides[1].system) << "=" << c.sides[1].value.toJson() << "]";
  }
  const auto& fin = h.sim(kFin).records().begin()->second;
  ASSERT_EQ(fin.fields.count("tags"), 1u);
  EXPECT_EQ(fin.fields.at("tags"), str("vip"));
}

// The pusher records the answers that arrived together in one transaction: creates, a refusal
// and a stale answer side by side each get what completePush alone would give them.
TEST(Engine, AnswersRecordedTogetherAreEachSettled) {
  Harness h;
  for (const char* e : {"a@example.com", "b@example.com", "c@example.com"}) {
    h.sim(kCrm).humanCreate({{"email", str(e)}, {"name", str(e)}});
  }
  h.poll(kCrm);
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 3u);
  std::vector<Completion> done;
  done.push_back(Completion{(*jobs)[0], h.sim(kErp).apply((*jobs)[0])});
  done.push_back(Completion{(*jobs)[1], PushPermanent{"HTTP 422: no"}});
  done.push_back(Completion{(*jobs)[2], PushRetryable{"HTTP 503", 0}});
  auto follow = h.engine().completePushes(kErp, done);
  ASSERT_TRUE(follow) << follow.error().message;
  EXPECT_EQ(*follow, std::vector<FollowUp>(3, FollowUp::None));
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  EXPECT_TRUE(snap->nativeId((*jobs)[0].record, kErp)->has_value());
  EXPECT_FALSE(snap->outboxEntry(kErp, (*jobs)[0].record)->has_value());
  EXPECT_TRUE(snap->deadLetter(kErp, (*jobs)[1].record)->has_value());
  auto retry = snap->outboxEntry(kErp, (*jobs)[2].record);
  ASSERT_TRUE(retry->has_value());
  EXPECT_EQ((**retry).attempts, 1u);
  EXPECT_EQ((**retry).last_error, "HTTP 503");
  // A completion naming an entity the system does not sync fails the whole group, unrecorded.
  PushJob stray = (*jobs)[2];
  stray.entity = "invoice";
  std::vector<Completion> bad{Completion{stray, PushSuccess{"9", "", 0}}};
  EXPECT_FALSE(h.engine().completePushes(kErp, bad));
}

// The outbox entry of (system, record) as stored.
std::optional<state::OutboxEntry> entryOf(Harness& h, ActorId system, const RecordId& record) {
  auto snap = h.store().read();
  EXPECT_TRUE(snap);
  auto entry = snap->outboxEntry(system, record);
  EXPECT_TRUE(entry);
  return entry ? *entry : std::nullopt;
}

// A system's outbox entries due by `by_ms`.
std::vector<state::OutboxEntry> dueBy(Harness& h, ActorId system, int64_t by_ms) {
  auto snap = h.store().read();
  EXPECT_TRUE(snap);
  auto due = snap->dueOutbox(by_ms, 100, system);
  EXPECT_TRUE(due);
  return due ? *due : std::vector<state::OutboxEntry>{};
}

// A pusher taking `limit` at a time and refilling often (two refills a moment apart): the next
// ingests hand it creates.
void refillOften(Harness& h, ActorId system, size_t limit) {
  ASSERT_TRUE(h.engine().duePushes(system, limit));
  h.clock().advanceMs(100);
  ASSERT_TRUE(h.engine().duePushes(system, limit));
}

// The creates of records new in an ingest go straight to the system's next refill, planned and
// marked as sent in the ingest's own commit; no more than that refill's pusher asked for last
// time, the rest wait in the outbox as before. Each is handed out once.
TEST(Engine, CreatesOfNewRecordsAreHandedToTheNextRefillOnce) {
  Harness h;
  refillOften(h, kErp, 2);  // the ERP pusher takes two; finance never asked
  for (const char* e : {"a@example.com", "b@example.com", "c@example.com"}) {
    h.sim(kCrm).humanCreate({{"email", str(e)}, {"name", str(e)}});
  }
  h.poll(kCrm);
  const int64_t later = h.clock().nowMs() + kCreateLeaseMs;
  const auto erp = dueBy(h, kErp, later);
  ASSERT_EQ(erp.size(), 3u);
  size_t marked = 0;
  for (const auto& e : erp) {
    marked += e.last_error == kCreateSent ? 1 : 0;
  }
  EXPECT_EQ(marked, 2u);
  const auto fin = dueBy(h, kFin, later);
  ASSERT_EQ(fin.size(), 3u);
  for (const auto& e : fin) {
    EXPECT_EQ(e.last_error, "");
  }
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 3u);  // two handed over, one from the outbox
  std::set<std::string> emails;
  for (const auto& job : *jobs) {
    EXPECT_FALSE(job.outcome_unknown);  // never sent: no read-back first
    EXPECT_EQ(job.plan.op, conflict::PushOp::Create);
    EXPECT_EQ(job.idempotency_key, idempotencyKey(job.record, kErp));
    // The record's values beside the plan's: none here, the create writes every field.
    ASSERT_TRUE(job.other_values.has_value());
    EXPECT_TRUE(job.other_values->empty());
    ASSERT_EQ(job.match_fields.size(), 1u);
    EXPECT_EQ(job.match_fields[0].first, "email");
    emails.insert(job.match_fields[0].second.asString());
    auto entry = entryOf(h, kErp, job.record);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->last_error, kCreateSent);
  }
  EXPECT_EQ(emails.size(), 3u);
  auto again = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());  // not handed out a second time, nor found due
  for (const auto& job : *jobs) {
    ASSERT_TRUE(h.engine().completePush(kErp, job, h.sim(kErp).apply(job)));
  }
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kErp).records().size(), 3u);
}

// A record changed after its create was handed over is planned again from the stored record
// when the refill takes it: a record deleted meanwhile is not created at all, an edited one is
// created with the edit.
TEST(Engine, AHandedCreateOfARecordChangedSinceIsPlannedAgain) {
  Harness h;
  refillOften(h, kErp, 10);
  std::string kept = h.sim(kCrm).humanCreate(alice());
  std::string gone = h.sim(kCrm).humanCreate({{"email", str("bob@example.com")}});
  h.poll(kCrm);
  h.sim(kCrm).humanEdit(kept, "phone", str("200"));
  h.sim(kCrm).humanSetDeleted(gone, true);
  h.poll(kCrm);
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 1u);
  const PushJob& job = (*jobs)[0];
  EXPECT_FALSE(job.outcome_unknown);
  auto phone = std::find_if(job.plan.fields.begin(), job.plan.fields.end(),
                            [](const conflict::PushField& f) { return f.name == "phone"; });
  ASSERT_NE(phone, job.plan.fields.end());
  EXPECT_EQ(phone->value, str("200"));
  auto entry = entryOf(h, kErp, job.record);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->last_error, kCreateSent);
  EXPECT_EQ(dueBy(h, kErp, h.clock().nowMs() + kCreateLeaseMs).size(), 1u);  // bob's is gone
}

// One create due in `system`, not marked as sent, and the refill's job for it goes without a
// read-back first.
void expectOneCreateDueAsNeverSent(Harness& h, ActorId system) {
  const auto due = dueBy(h, system, h.clock().nowMs());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].last_error, "");
  auto jobs = h.engine().duePushes(system, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_FALSE((*jobs)[0].outcome_unknown);
}

// A system whose refills come slowly (rate-limited, or a backlog behind a slow API) is handed
// nothing: a handed create's lease runs from the ingest, and it might run out before the next
// refill. Its creates wait in the outbox, unmarked, as before.
TEST(Engine, ASystemRefillingSlowlyIsHandedNoCreates) {
  Harness h;
  ASSERT_TRUE(h.engine().duePushes(kErp, 10));
  h.clock().advanceMs(kHandOutRefillWithinMs);
  ASSERT_TRUE(h.engine().duePushes(kErp, 10));
  h.sim(kCrm).humanCreate(alice());
  h.poll(kCrm);
  expectOneCreateDueAsNeverSent(h, kErp);  // not marked: nothing was handed over
}

// Before the engine is replaced (a reload), the creates handed over and not taken are unmarked:
// the next engine's refill finds them due, as creates never sent.
TEST(Engine, ReleasedHandedCreatesAreDueAgainAsNeverSent) {
  Harness h;
  refillOften(h, kErp, 10);
  h.sim(kCrm).humanCreate(alice());
  h.poll(kCrm);
  auto released = h.engine().releaseHanded();
  ASSERT_TRUE(released) << released.error().message;
  EXPECT_EQ(*released, 1u);
  expectOneCreateDueAsNeverSent(h, kErp);
}

TEST(Engine, ReportOfWhatTheSystemHoldsOnlyRefreshesItsShadow) {
  Harness h;
  std::string crm = h.sim(kCrm).humanCreate(alice());
  h.settle();
  const std::string erp = *h.sim(kErp).nativeByEmail("alice@example.com");
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  const RecordId id = **snap->linkedRecord(kErp, erp);
  const auto record = **snap->record(id);
  const auto crm_shadow = **snap->shadow(kCrm, id);
  const auto erp_shadow = **snap->shadow(kErp, id);
  snap = h.store().read();  // (a fresh snapshot after each ingest below)

  // A re-read of the ERP's copy at a later updated time: the same values, a new version.
  std::string next;
  std::vector<Incoming> page = h.sim(kErp).poll(std::nullopt, next);
  ASSERT_EQ(page.size(), 1u);
  page[0].report.source_ts_ms = erp_shadow.source_ts_ms + 5000;
  page[0].report.version_token = "v-reread";
  auto r = h.engine().ingest(kErp, "customer", page, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->conflicts, 0u);
  EXPECT_EQ(r->pushes_queued, 0u);
  snap = h.store().read();
  ASSERT_TRUE(snap);
  auto refreshed = **snap->shadow(kErp, id);
  EXPECT_EQ(refreshed.source_ts_ms, erp_shadow.source_ts_ms + 5000);
  EXPECT_EQ(refreshed.version_token, "v-reread");
  EXPECT_EQ(refreshed.fields, erp_shadow.fields);
  EXPECT_EQ(**snap->record(id), record);  // the record and the other shadows are untouched
  EXPECT_EQ(**snap->shadow(kCrm, id), crm_shadow);
  EXPECT_EQ(h.outboxSize(), 0u);

  // In one batch, that refresh and then a person's edit of the same record: both are kept, and
  // the edit merges into the refreshed shadow.
  h.sim(kErp).humanEdit(erp, "phone", str("555"));
  std::vector<Incoming> both = page;
  both[0].report.source_ts_ms += 1000;
  both[0].report.version_token = "v-again";
  both.push_back(page[0]);
  both[1].report.source_ts_ms += 2000;
  both[1].report.version_token = "v-edited";
  both[1].report.fields["phone"] = str("555");
  r = h.engine().ingest(kErp, "customer", both, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  snap = h.store().read();
  ASSERT_TRUE(snap);
  refreshed = **snap->shadow(kErp, id);
  EXPECT_EQ(refreshed.version_token, "v-edited");
  EXPECT_EQ((**snap->record(id)).fields.find("phone")->value, str("555"));
  EXPECT_EQ(h.outboxSize(), 2u);  // the phone goes to the CRM and finance

  // The same values at an older updated time are not a refresh: nothing changes.
  std::vector<Incoming> old = page;
  old[0].report.fields["phone"] = str("555");
  old[0].report.source_ts_ms = erp_shadow.source_ts_ms;
  old[0].report.version_token = "v-old";
  r = h.engine().ingest(kErp, "customer", old, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  snap = h.store().read();
  ASSERT_TRUE(snap);
  EXPECT_EQ((**snap->shadow(kErp, id)).version_token, "v-edited");
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kCrm).records().at(crm).fields.at("phone"), str("555"));
  EXPECT_TRUE(h.conflicts().empty());
}

TEST(Engine, RecordLoadedForOneSystemThenWholeHasEveryShadow) {
  Harness h;
  h.sim(kCrm).humanCreate(alice());
  h.settle();
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  const RecordId id = **snap->linkedRecord(kErp, *h.sim(kErp).nativeByEmail("alice@example.com"));
  const EngineConfig config = testConfig();
  WorkSet ws(*snap, config.entities[0], kAgent, 0);
  // A push answer's load: the ERP's shadow alone.
  auto part = ws.loadFor(id, kErp);
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ((*part)->shadows[kErp], *snap->shadow(kErp, id));
  EXPECT_FALSE((*part)->shadows[kCrm]);
  EXPECT_FALSE((*part)->shadows[kFin]);
  (*part)->shadows[kErp]->version_token = "changed in the set";
  // Loaded whole afterwards (another answer about the record): the other shadows come in, the
  // change to the ERP's stays.
  auto whole = ws.load(id, false);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(*whole, *part);
  EXPECT_EQ((*whole)->shadows[kCrm], *snap->shadow(kCrm, id));
  EXPECT_EQ((*whole)->shadows[kFin], *snap->shadow(kFin, id));
  EXPECT_EQ((*whole)->shadows[kErp]->version_token, "changed in the set");
  EXPECT_FALSE(ws.loadFor("no-such-record", kErp));
  // Loaded for the ERP, then for finance: whole.
  WorkSet other(*snap, config.entities[0], kAgent, 0);
  ASSERT_TRUE(other.loadFor(id, kErp));
  auto fin = other.loadFor(id, kFin);
  ASSERT_TRUE(fin) << fin.error().message;
  EXPECT_EQ((*fin)->shadows[kFin], *snap->shadow(kFin, id));
  EXPECT_EQ((*fin)->shadows[kCrm], *snap->shadow(kCrm, id));
}

TEST(Engine, WrongInputIsRefusedWithItsReason) {
  Harness h;
  auto unknown = h.engine().ingest(kCrm, "invoice", {}, std::nullopt);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "engine: ingest from system 1: unknown entity \"invoice\"");
  auto stranger = h.engine().ingest(9, "customer", {}, std::nullopt);
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().message,
            "engine: ingest customer: system 9 is not configured for this entity");
  // A good record then a bad one in one batch: all or nothing, the cursor does not move.
  h.sim(kCrm).humanCreate(alice());
  std::string next;
  std::vector<Incoming> batch = h.sim(kCrm).poll(std::nullopt, next);
  batch.push_back(Incoming{});
  auto empty = h.engine().ingest(kCrm, "customer", std::move(batch), next);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message,
            "engine: ingest customer from system 1: record with an empty native id");
  auto missing = h.engine().resolveConflict(99, str("x"), "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "engine: resolve conflict 99: no such conflict");
  EXPECT_EQ(h.outboxSize(), 0u);  // nothing of a refused batch was written
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(*snap->recordCount(), 0u);
  EXPECT_EQ(*snap->cursor(kCrm, "customer"), std::nullopt);
}

TEST(Engine, IdempotencyKeyNamesItsRecord) {
  EXPECT_EQ(idempotencyKey("00ab", 2), "00ab@2");
  EXPECT_EQ(recordOfIdempotencyKey("00ab@2"), std::optional<RecordId>("00ab"));
  EXPECT_EQ(recordOfIdempotencyKey("00ab"), std::nullopt);
  EXPECT_EQ(recordOfIdempotencyKey("00ab@x"), std::nullopt);
  EXPECT_EQ(recordOfIdempotencyKey("@2"), std::nullopt);
  EXPECT_EQ(idempotencyKey("00ab", 2, 17), "00ab@2.17");
  EXPECT_EQ(recordOfIdempotencyKey("00ab@2.17"), std::optional<RecordId>("00ab"));
  EXPECT_EQ(recordOfIdempotencyKey("00ab@2."), std::nullopt);
}

}  // namespace
}  // namespace tandem::engine::testing
