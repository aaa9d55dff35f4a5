// Deletes against concurrent updates (case 15), manual hold and resolution (case 23), and the
// merge core's answers to wrong input.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/conflict/harness.h"

namespace tandem::conflict::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

void seed(Harness& h) {
  h.report(kCrm, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}}, kT0, false);
  h.pushAll();
  h.report(kErp, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}}, kT0 + 1, false);
  h.report(kFin, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}}, kT0 + 1, false);
  ASSERT_TRUE(h.log.empty());
}

bool contains(const std::vector<ActorId>& v, ActorId a) {
  return std::find(v.begin(), v.end(), a) != v.end();
}

TEST(Deletes, DeleteSeenEverywhereIsPushedAndConfirmedWithoutConflict) {
  Harness h;
  seed(h);
  auto r = h.report(kCrm, {}, kT0 + 100, true);
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(r.push_to, (std::vector<ActorId>{kErp, kFin}));
  EXPECT_EQ(h.push(kErp).op, PushOp::Delete);
  EXPECT_EQ(h.push(kFin, false).op, PushOp::Delete);
  h.report(kFin, {}, kT0 + 200, true);  // the lost answer's delete shows in the feed
  EXPECT_TRUE(h.log.empty());
  for (ActorId s : {kCrm, kErp, kFin}) {
    EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[s], h.specOf(s)));
  }
  // Undelete (unarchive) in a system that had seen the delete: plain edit, propagates.
  h.report(kErp, {}, kT0 + 300, false);
  EXPECT_FALSE(h.state.record.tombstone.deleted);
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(h.push(kCrm).op, PushOp::Undelete);
}

TEST(Deletes, FirstAliveReportFromASystemTheDeleteHasNotReachedDoesNotRevive) {
  Harness h;
  h.report(kCrm, {{"email", S("ada@x.io")}}, kT0);
  h.push(kErp);  // erp holds the record but has never reported a deleted flag
  h.report(kCrm, {}, kT0 + 100, true);
  auto r = h.report(kErp, {{"email", S("ada@x.io")}}, kT0 + 50, false);
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  EXPECT_TRUE(h.log.empty());
  EXPECT_TRUE(contains(r.push_to, kErp));
  EXPECT_EQ(h.push(kErp).op, PushOp::Delete);
}

TEST(Convergence, C15_DeleteAgainstConcurrentUpdateUpdateWinsAndRevives) {
  Harness h;
  seed(h);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 100);  // update in the ERP
  auto r = h.report(kCrm, {}, kT0 + 110, true);         // the CRM deletes, not having seen it
  EXPECT_FALSE(h.state.record.tombstone.deleted) << "default: the update wins";
  auto entries = h.conflictsOn(kDeleteField);
  ASSERT_EQ(entries.size(), 1u);
  const ConflictEntry& e = entries[0];
  ASSERT_EQ(e.sides.size(), 2u);
  EXPECT_EQ(e.sides[0].system, kCrm);
  EXPECT_EQ(e.sides[0].value, Value::boolean(true));
  EXPECT_EQ(e.sides[1].system, kErp);
  EXPECT_EQ(e.outcome, Value::boolean(false));
  EXPECT_EQ(e.note,
            "delete by actor 0 vs update of phone: update wins, record revived (update-wins)");
  EXPECT_TRUE(contains(r.push_to, kCrm));
  PushPlan p = h.push(kCrm);
  EXPECT_EQ(p.op, PushOp::Undelete);
  EXPECT_EQ(p.fields.size(), 2u);  // a whole body: the CRM may have to re-create it
  EXPECT_EQ(h.value("phone"), S("+1 999"));
}

TEST(Convergence, C15_UpdateArrivingAfterAConcurrentDeleteRevivesIt) {
  Harness h;
  seed(h);
  h.report(kCrm, {}, kT0 + 100, true);
  ASSERT_TRUE(h.state.record.tombstone.deleted);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 90);  // edited before the delete reached it
  EXPECT_FALSE(h.state.record.tombstone.deleted);
  EXPECT_EQ(h.conflictsOn(kDeleteField).size(), 1u);
  EXPECT_EQ(h.value("phone"), S("+1 999"));
}

// The CRM shows a lifecycle stage it never showed before (tandem's create wrote the mapping's
// default_on_create there) while the record is deleted elsewhere: the echo of tandem's own create
// is no edit that missed the delete, and does not revive the record. An edit of a field the
// system had shown does (above).
TEST(Convergence, C15_FirstValueOfAFieldIsNoUpdateAgainstADelete) {
  Harness h;
  seed(h);
  h.report(kFin, {}, kT0 + 100, true);
  ASSERT_TRUE(h.state.record.tombstone.deleted);
  h.report(kCrm, {{"lifecycle", S("lead")}}, kT0 + 90);
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  EXPECT_TRUE(h.conflictsOn(kDeleteField).empty());
  EXPECT_EQ(h.value("lifecycle"), S("lead"));
  EXPECT_EQ(h.push(kCrm).op, PushOp::Delete);
}

TEST(Convergence, C15_DeleteWinsPolicyKeepsItDeletedAndLogsTheUpdate) {
  Harness h;
  h.policy.on_delete_conflict = DeletePolicy::DeleteWins;
  seed(h);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 100);
  auto r = h.report(kCrm, {}, kT0 + 110, true);
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  ASSERT_EQ(h.conflictsOn(kDeleteField).size(), 1u);
  EXPECT_EQ(h.conflictsOn(kDeleteField)[0].outcome, Value::boolean(true));
  EXPECT_EQ(r.push_to, (std::vector<ActorId>{kErp, kFin}));
  EXPECT_EQ(h.push(kErp).op, PushOp::Delete);
}

TEST(Convergence, C15_DeletePreferListDecides) {
  Harness h;
  h.policy.on_delete_conflict = DeletePolicy::Prefer;
  h.policy.delete_prefer = {kCrm};
  seed(h);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 100);
  h.report(kCrm, {}, kT0 + 110, true);
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  Harness h2;
  h2.policy.on_delete_conflict = DeletePolicy::Prefer;
  h2.policy.delete_prefer = {kErp};
  seed(h2);
  h2.report(kErp, {{"phone", S("+1 999")}}, kT0 + 100);
  h2.report(kCrm, {}, kT0 + 110, true);
  EXPECT_FALSE(h2.state.record.tombstone.deleted);
}

TEST(Convergence, C15_ManualDeleteConflictHoldsAndResolves) {
  Harness h;
  h.policy.on_delete_conflict = DeletePolicy::Manual;
  seed(h);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 100);
  h.report(kCrm, {}, kT0 + 110, true);
  EXPECT_FALSE(h.state.record.tombstone.deleted);
  ASSERT_NE(h.state.record.tombstone.open_conflict, 0u);
  // Held: nobody is pushed a delete or an undelete.
  EXPECT_NE(h.push(kCrm).op, PushOp::Undelete);
  ConflictEntry e = h.log.at(h.state.record.tombstone.open_conflict);
  EXPECT_TRUE(e.open);
  auto res = resolveConflict(h.state, e, Value::boolean(true), "customer left", h.ctx());
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_TRUE(h.state.record.tombstone.deleted);
  EXPECT_EQ(h.state.record.tombstone.open_conflict, 0u);
  EXPECT_FALSE(e.open);
  EXPECT_EQ(res->push_to, (std::vector<ActorId>{kErp, kFin}));
}

TEST(Convergence, C23_ManualFieldIsHeldAndResolutionPushesTheChoiceEverywhere) {
  Harness h;
  h.policy.fields["credit_limit"] = PolicySpec{PolicyKind::Manual, {}};
  h.report(kCrm, {{"credit_limit", Value::integer(1000)}}, kT0);
  h.pushAll();
  h.report(kErp, {{"credit_limit", Value::integer(1000)}}, kT0 + 1);
  h.report(kFin, {{"credit_limit", Value::integer(1000)}}, kT0 + 1);

  h.report(kErp, {{"credit_limit", Value::integer(2000)}}, kT0 + 100);  // wins outright
  h.report(kFin, {{"credit_limit", Value::integer(3000)}}, kT0 + 110);  // concurrent: held
  const FieldState* cf = h.state.record.fields.find("credit_limit");
  EXPECT_EQ(cf->value, Value::integer(2000)) << "held at the last agreed value";
  ASSERT_NE(cf->open_conflict, 0u);
  // The field is not pushed with new values while held; fin keeps what its user typed.
  PushPlan p = h.push(kFin);
  EXPECT_EQ(p.op, PushOp::None);
  // Another edit while held joins the open entry instead of deciding anything.
  h.report(kCrm, {{"credit_limit", Value::integer(4000)}}, kT0 + 120);
  EXPECT_EQ(h.value("credit_limit"), Value::integer(2000));
  ASSERT_EQ(h.log.size(), 1u);
  ConflictEntry e = h.log.begin()->second;
  EXPECT_TRUE(e.open);
  EXPECT_EQ(e.sides.size(), 3u);
  EXPECT_EQ(e.policy, PolicyKind::Manual);

  auto res = resolveConflict(h.state, e, Value::integer(2500), "agreed with finance", h.ctx());
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->push_to, (std::vector<ActorId>{kCrm, kErp, kFin}));
  EXPECT_FALSE(e.open);
  EXPECT_EQ(e.resolved_ms, h.now_ms);
  EXPECT_EQ(e.note, "agreed with finance");
  cf = h.state.record.fields.find("credit_limit");
  EXPECT_EQ(cf->open_conflict, 0u);
  for (const auto& side : e.sides) {
    EXPECT_EQ(cf->vv.compare(side.vv), Order::After);
  }
  h.pushAll();
  for (ActorId s : {kCrm, kErp, kFin}) {
    h.report(s, {{"credit_limit", Value::integer(2500)}}, kT0 + 500);
    EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[s], h.specOf(s)));
  }
  // A later edit anywhere is ordered after the resolution: no new conflict.
  h.report(kFin, {{"credit_limit", Value::integer(2600)}}, kT0 + 600);
  EXPECT_EQ(h.value("credit_limit"), Value::integer(2600));
  EXPECT_EQ(h.log.size(), 1u);

  // Resolving twice is refused.
  auto again = resolveConflict(h.state, e, Value::integer(1), "", h.ctx());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "resolve conflict " + std::to_string(e.id) + " (r1.credit_limit): already resolved");
}

TEST(Merge, WhenInDoubtConcurrent_NoShadowWhileCanonicalHasAValue) {
  Harness h;
  h.report(kCrm, {{"email", S("ada@crm.io")}}, kT0);
  // erp is linked to the record for the first time (or its state was lost) and holds another
  // value: no ordering can be proven, so it is a conflict, not an overwrite.
  auto r = h.report(kErp, {{"email", S("ada@erp.io")}}, kT0 + 100);
  EXPECT_EQ(r.new_conflicts.size(), 1u);
  // ...whereas the same value is simply agreement.
  h.report(kFin, {{"email", h.value("email")}}, kT0 + 100);
  EXPECT_EQ(h.log.size(), 1u);
}

TEST(Merge, FirstReportCreatesTheRecordAndPlansCreates) {
  Harness h;
  h.setSystems({SystemSpec{kCrm, {}}, SystemSpec{kErp, {"email"}}, SystemSpec{kFin, {}}});
  auto r = h.report(kCrm, {{"email", S("a@x.io")}, {"tags", Value::stringSet({"vip"})}}, kT0);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.push_to, (std::vector<ActorId>{kErp, kFin}));
  PushPlan erp = h.push(kErp);
  EXPECT_EQ(erp.op, PushOp::Create);
  ASSERT_EQ(erp.fields.size(), 1u) << "only the fields the ERP maps";
  EXPECT_EQ(erp.fields[0].name, "email");
  EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[kErp], h.specOf(kErp)));
}

TEST(Merge, ReportFromAnUnconfiguredSystemIsAnError) {
  Harness h;
  Report r;
  r.system = 9;
  auto res = mergeReport(h.state, r, h.ctx());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message,
            "merge: record r1: report from actor 9, which is not a configured system");
  r.system = kAgent;
  res = mergeReport(h.state, r, h.ctx());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message,
            "merge: record r1: report from actor 3, which is not a configured system");
}

TEST(Resolve, WrongInputIsRefusedWithItsReason) {
  Harness h;
  ConflictEntry e;
  e.id = 5;
  e.record = "r2";
  e.field = "email";
  e.open = true;
  auto other = resolveConflict(h.state, e, S("x"), "", h.ctx());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "resolve conflict 5 (r2.email): given record r1");
  e.record = "r1";
  auto missing = resolveConflict(h.state, e, S("x"), "", h.ctx());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "resolve conflict 5 (r1.email): record has no field \"email\"");
  e.field = kDeleteField;
  auto type = resolveConflict(h.state, e, S("yes"), "", h.ctx());
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().message,
            "resolve conflict 5 (r1.$deleted): expected a bool (keep deleted?), got string");
}

TEST(Push, ConfirmationTakesThePlannedVersionsAndToken) {
  Harness h;
  h.report(kCrm, {{"email", S("a@x.io")}}, kT0);
  PushPlan p = planPush(h.state.record, h.state.shadows[kErp], h.specOf(kErp));
  recordPending(h.state.shadows[kErp], p);
  ASSERT_TRUE(h.state.shadows[kErp]);
  EXPECT_EQ(h.state.shadows[kErp]->fields.find("email")->pending.size(), 1u);
  EXPECT_TRUE(needsPush(h.state.record, h.state.shadows[kErp], h.specOf(kErp)));
  confirmPush(*h.state.shadows[kErp], p, "etag-7", kT0 + 5);
  const ShadowField* sf = h.state.shadows[kErp]->fields.find("email");
  EXPECT_TRUE(sf->pending.empty());
  EXPECT_EQ(sf->hash, S("a@x.io").hash());
  EXPECT_EQ(sf->vv, h.state.record.fields.find("email")->vv);
  EXPECT_EQ(h.state.shadows[kErp]->version_token, "etag-7");
  EXPECT_EQ(h.state.shadows[kErp]->source_ts_ms, kT0 + 5);
  EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[kErp], h.specOf(kErp)));
  EXPECT_EQ(planPush(h.state.record, h.state.shadows[kErp], h.specOf(kErp)).version_token,
            "etag-7");
}

TEST(Push, PendingWritesAreBounded) {
  Harness h;
  h.report(kCrm, {{"n", Value::integer(0)}}, kT0);
  for (int i = 1; i <= 10; ++i) {
    h.report(kCrm, {{"n", Value::integer(i)}}, kT0 + i);
    h.push(kErp, false);
  }
  EXPECT_EQ(h.state.shadows[kErp]->fields.find("n")->pending.size(), kMaxPending);
}

}  // namespace
}  // namespace tandem::conflict::testing
