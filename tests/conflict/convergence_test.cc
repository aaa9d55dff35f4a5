// The pure convergence cases of CONVERGENCE.md, at the level of the merge core.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/conflict/harness.h"

namespace tandem::conflict::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

// crm creates the record; every system gets it and reports it back.
void seed(Harness& h) {
  h.report(kCrm, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}, {"name", S("Ada")}}, kT0);
  h.pushAll();
  for (ActorId s : {kErp, kFin}) {
    auto r = h.report(s, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}, {"name", S("Ada")}},
                      kT0 + 1);
    EXPECT_TRUE(r.push_to.empty());
  }
  ASSERT_TRUE(h.log.empty());
}

TEST(Convergence, C01_EchoOfOwnWriteIsNoChangeNoPushNoConflict) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"email", S("ada@new.io")}}, kT0 + 100);
  PushPlan p = h.push(kErp);
  ASSERT_EQ(p.op, PushOp::Update);
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].name, "email");
  Record before = h.state.record;
  // The ERP's feed reports the pushed value back, with a bumped updated time.
  auto r = h.report(kErp, {{"email", S("ada@new.io")}, {"phone", S("+1 555")}}, kT0 + 200);
  EXPECT_EQ(h.state.record, before);
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(r.push_to, std::vector<ActorId>{kFin});  // fin still lacks it; erp is done
}

TEST(Convergence, C02_EchoAfterLostAnswerConfirmsThePendingWrite) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"phone", S("+1 777")}}, kT0 + 100);
  PushPlan p = h.push(kErp, /*answered=*/false);  // applied, answered 500
  ASSERT_EQ(p.op, PushOp::Update);
  EXPECT_EQ(h.state.shadows[kErp]->fields.find("phone")->pending.size(), 1u);
  Record before = h.state.record;
  auto r = h.report(kErp, {{"phone", S("+1 777")}}, kT0 + 300);
  EXPECT_EQ(h.state.record, before) << "our own write is not a human edit";
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_TRUE(std::find(r.push_to.begin(), r.push_to.end(), kErp) == r.push_to.end());
  const ShadowField* sf = h.state.shadows[kErp]->fields.find("phone");
  EXPECT_TRUE(sf->pending.empty());
  EXPECT_EQ(sf->vv, h.state.record.fields.find("phone")->vv);
  // A later edit in the ERP is then ordered after it: no conflict.
  h.report(kErp, {{"phone", S("+1 778")}}, kT0 + 400);
  EXPECT_EQ(h.value("phone"), S("+1 778"));
  EXPECT_TRUE(h.log.empty());
}

TEST(Convergence, C02_ReportOfAnOlderPendingDropsItAndKeepsNewerOnes) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"phone", S("+1 1")}}, kT0 + 100);
  h.push(kErp, false);
  h.report(kCrm, {{"phone", S("+1 2")}}, kT0 + 200);
  h.push(kErp, false);
  ASSERT_EQ(h.state.shadows[kErp]->fields.find("phone")->pending.size(), 2u);
  auto r = h.report(kErp, {{"phone", S("+1 1")}}, kT0 + 300);
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(h.value("phone"), S("+1 2"));
  EXPECT_EQ(h.state.shadows[kErp]->fields.find("phone")->pending.size(), 1u);
  EXPECT_NE(std::find(r.push_to.begin(), r.push_to.end(), kErp), r.push_to.end());
  h.report(kErp, {{"phone", S("+1 2")}}, kT0 + 400);
  EXPECT_TRUE(h.log.empty());
  EXPECT_TRUE(h.state.shadows[kErp]->fields.find("phone")->pending.empty());
}

TEST(Convergence, C03_ReformattingPingPongIsFrozenWithAnOpenConflict) {
  Harness h;
  seed(h);
  // The ERP upper-cases what tandem writes, the CRM lower-cases it: a mapping without
  // normalisation. Each system's rewrite of tandem's confirmed write looks like a human edit.
  h.report(kCrm, {{"country", S("us")}}, kT0 + 10);
  int64_t ts = kT0 + 20;
  size_t rounds = 0;
  while (h.state.record.fields.find("country")->open_conflict == 0 && rounds < 20) {
    ++rounds;
    h.push(kErp);
    h.push(kFin);
    h.report(kErp, {{"country", S("US")}}, ts += 10);
    if (h.state.record.fields.find("country")->open_conflict != 0) {
      break;
    }
    h.push(kCrm);
    h.report(kCrm, {{"country", S("us")}}, ts += 10);
  }
  const FieldState* cf = h.state.record.fields.find("country");
  ASSERT_NE(cf->open_conflict, 0u) << "never frozen after " << rounds << " rounds";
  EXPECT_LE(rounds, 4u);
  const ConflictEntry& e = h.log.at(cf->open_conflict);
  EXPECT_TRUE(e.open);
  EXPECT_EQ(e.note, "frozen: value oscillated 5 times in 60 s; not pushed until resolved");
  // Frozen: no system is pushed the field any more.
  for (ActorId s : {kCrm, kErp, kFin}) {
    PushPlan p = planPush(h.state.record, h.state.shadows[s], h.specOf(s));
    for (const auto& f : p.fields) {
      EXPECT_NE(f.name, "country") << "pushed to " << int(s);
    }
  }
  // Resolving it unfreezes and pushes the chosen value everywhere.
  ConflictEntry stored = e;
  auto res = resolveConflict(h.state, stored, S("US"), "fixed the mapping", h.ctx());
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(h.state.record.fields.find("country")->flips, 0u);
  EXPECT_EQ(h.state.record.fields.find("country")->open_conflict, 0u);
  EXPECT_NE(std::find(res->push_to.begin(), res->push_to.end(), kCrm), res->push_to.end());
}

TEST(Convergence, C03_ValuesSettlingDoNotFreeze) {
  Harness h;
  seed(h);
  // A value changing back and forth slowly (more than the window apart) is not oscillation.
  for (int i = 0; i < 10; ++i) {
    h.now_ms += kFlipWindowMs;
    h.report(kCrm, {{"name", S(i % 2 ? "Ada" : "Ada L.")}}, kT0 + 100 + i);
  }
  EXPECT_EQ(h.state.record.fields.find("name")->open_conflict, 0u);
  EXPECT_TRUE(h.log.empty());
}

TEST(Convergence, C04_EmptyIsOneNullAndNeverCausesAPushByItself) {
  Harness h;
  seed(h);
  // Every system reports an empty "fax" (mappers turned "", false, absent and null into null).
  for (ActorId s : {kCrm, kErp, kFin}) {
    auto r = h.report(s, {{"fax", Value::null()}}, kT0 + 50 + s);
    EXPECT_TRUE(r.push_to.empty()) << "system " << int(s);
    EXPECT_TRUE(r.new_conflicts.empty());
  }
  EXPECT_EQ(h.state.record.fields.find("fax"), nullptr);  // nothing recorded for an empty field
  for (ActorId s : {kCrm, kErp, kFin}) {
    EXPECT_EQ(planPush(h.state.record, h.state.shadows[s], h.specOf(s)).op, PushOp::None);
  }
  // A system that never mentions the field does not get pushed an empty value either.
  h.report(kCrm, {{"website", Value::null()}}, kT0 + 60);
  EXPECT_EQ(planPush(h.state.record, h.state.shadows[kFin], h.specOf(kFin)).op, PushOp::None);
  // Clearing a field that has a value is an edit and is pushed.
  auto r = h.report(kCrm, {{"phone", Value::null()}}, kT0 + 70);
  EXPECT_EQ(r.push_to, (std::vector<ActorId>{kErp, kFin}));
  PushPlan p = h.push(kErp);
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_TRUE(p.fields[0].value.isNull());
}

TEST(Convergence, C05_DifferentFieldsSameRecordBothSurvive) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"email", S("ada@crm.io")}, {"phone", S("+1 555")}}, kT0 + 100);
  h.report(kFin, {{"email", S("ada@x.io")}, {"phone", S("+44 20")}}, kT0 + 101);
  EXPECT_EQ(h.value("email"), S("ada@crm.io"));
  EXPECT_EQ(h.value("phone"), S("+44 20"));
  EXPECT_TRUE(h.log.empty());
  // Partial bodies (case 13): each system gets only what it lacks.
  PushPlan crm = h.push(kCrm);
  ASSERT_EQ(crm.fields.size(), 1u);
  EXPECT_EQ(crm.fields[0].name, "phone");
  PushPlan erp = h.push(kErp);
  EXPECT_EQ(erp.fields.size(), 2u);
  PushPlan fin = h.push(kFin);
  ASSERT_EQ(fin.fields.size(), 1u);
  EXPECT_EQ(fin.fields[0].name, "email");
  for (ActorId s : {kCrm, kErp, kFin}) {
    EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[s], h.specOf(s)));
  }
}

TEST(Convergence, C06_SameFieldTwoSystemsOneConflictWithBothSidesPolicyOutcomeEverywhere) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"phone", S("+1 111")}}, kT0 + 100);
  h.report(kErp, {{"phone", S("+1 222")}}, kT0 + 90);  // earlier source time: lww loses
  EXPECT_EQ(h.value("phone"), S("+1 111"));
  auto entries = h.conflictsOn("phone");
  ASSERT_EQ(entries.size(), 1u);
  const ConflictEntry& e = entries[0];
  EXPECT_EQ(e.policy, PolicyKind::Lww);
  EXPECT_FALSE(e.open);
  ASSERT_EQ(e.sides.size(), 2u);
  EXPECT_EQ(e.sides[0].system, kCrm);
  EXPECT_EQ(e.sides[0].value, S("+1 111"));
  EXPECT_EQ(e.sides[1].system, kErp);
  EXPECT_EQ(e.sides[1].value, S("+1 222"));
  EXPECT_EQ(e.outcome, S("+1 111"));
  const VersionVector& c = h.state.record.fields.find("phone")->vv;
  EXPECT_EQ(c.compare(e.sides[0].vv), Order::After);
  EXPECT_EQ(c.compare(e.sides[1].vv), Order::After);
  EXPECT_GT(c.get(kAgent), 0u);
  h.pushAll();
  h.report(kErp, {{"phone", S("+1 111")}}, kT0 + 200);
  h.report(kFin, {{"phone", S("+1 111")}}, kT0 + 200);
  for (ActorId s : {kCrm, kErp, kFin}) {
    EXPECT_FALSE(needsPush(h.state.record, h.state.shadows[s], h.specOf(s)));
  }
  EXPECT_EQ(h.log.size(), 1u);
}

TEST(Convergence, C07_SameFieldThreeSystemsOneEntryListingAllThreeSides) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"name", S("Ada C")}}, kT0 + 100);
  h.report(kErp, {{"name", S("Ada E")}}, kT0 + 300);
  h.report(kFin, {{"name", S("Ada F")}}, kT0 + 200);
  ASSERT_EQ(h.log.size(), 1u);
  const ConflictEntry& e = h.log.begin()->second;
  ASSERT_EQ(e.sides.size(), 3u);
  std::vector<ActorId> systems;
  for (const auto& s : e.sides) {
    systems.push_back(s.system);
  }
  std::sort(systems.begin(), systems.end());
  EXPECT_EQ(systems, (std::vector<ActorId>{kCrm, kErp, kFin}));
  EXPECT_EQ(e.outcome, S("Ada E"));
  EXPECT_EQ(h.value("name"), S("Ada E"));
  EXPECT_EQ(e.outcome_vv, h.state.record.fields.find("name")->vv);
}

TEST(Convergence, C08_SequentialEditWinsOutrightWithoutConflict) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"email", S("ada@v2.io")}}, kT0 + 100);
  h.push(kErp);
  h.report(kErp, {{"email", S("ada@v2.io")}}, kT0 + 150);  // the ERP shows the CRM's value
  // A person edits it in the ERP afterwards, with an older-looking clock.
  h.report(kErp, {{"email", S("ada@v3.io")}}, kT0 + 160);
  EXPECT_EQ(h.value("email"), S("ada@v3.io"));
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(h.state.record.fields.find("email")->source, kErp);
}

TEST(Convergence, C09_FastClockDoesNotBeatACausallyLaterEdit) {
  Harness h;
  seed(h);
  constexpr int64_t kTenMinutes = 10 * 60 * 1000;
  // fin's clock runs ten minutes fast; its edit reaches the CRM, where a person edits after it.
  h.report(kFin, {{"phone", S("+1 fin")}}, kT0 + 100 + kTenMinutes);
  h.push(kCrm);
  h.report(kCrm, {{"phone", S("+1 crm")}}, kT0 + 200);
  EXPECT_EQ(h.value("phone"), S("+1 crm"));
  EXPECT_TRUE(h.log.empty());
  // Only between truly concurrent edits does the timestamp decide (and then the fast clock
  // wins, as lww says).
  h.report(kFin, {{"name", S("Ada fin")}}, kT0 + 300 + kTenMinutes);
  h.report(kErp, {{"name", S("Ada erp")}}, kT0 + 400);
  EXPECT_EQ(h.value("name"), S("Ada fin"));
  EXPECT_EQ(h.conflictsOn("name").size(), 1u);
}

TEST(Convergence, C10_LateDuplicatedAndReorderedReportsGiveTheSameFinalState) {
  // Full snapshots, as feeds deliver them: each system's later report carries its earlier edit.
  // A field's lww time is the updated time of the first report showing its value, so when one
  // system's newer snapshot overtakes its older one (fin here), that field's time is the newer
  // one; the concurrent edits below are spaced so that lww does not hinge on that.
  auto reports = [] {
    std::vector<Report> rs;
    auto mk = [](ActorId s, std::vector<std::pair<const char*, const char*>> fields, int64_t ts) {
      Report r;
      r.system = s;
      r.fields["email"] = S("ada@x.io");
      r.fields["phone"] = S("+1 555");
      r.fields["name"] = S("Ada");
      for (auto [f, v] : fields) {
        r.fields[f] = S(v);
      }
      r.source_ts_ms = ts;
      return r;
    };
    rs.push_back(mk(kCrm, {{"email", "c1@x.io"}}, kT0 + 100));
    rs.push_back(mk(kErp, {{"email", "e1@x.io"}}, kT0 + 150));
    rs.push_back(mk(kFin, {{"email", "f1@x.io"}, {"phone", "+1 f1"}}, kT0 + 130));
    rs.push_back(mk(kCrm, {{"email", "c1@x.io"}, {"phone", "+1 c1"}}, kT0 + 140));
    rs.push_back(mk(kErp, {{"email", "e1@x.io"}, {"name", "Ada E"}}, kT0 + 160));
    rs.push_back(mk(kFin, {{"email", "f1@x.io"}}, kT0 + 110));
    return rs;
  };
  std::vector<Report> base = reports();
  std::vector<size_t> order(base.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::optional<std::vector<std::pair<std::string, Value>>> first;
  size_t permutations = 0;
  do {
    for (int dup = 0; dup < 2; ++dup) {
      Harness h;
      seed(h);
      for (size_t i : order) {
        h.merge(base[i]);
        if (dup == 1) {
          h.merge(base[i]);  // at-least-once delivery
        }
      }
      if (dup == 1) {
        h.merge(base[order.front()]);  // and a very late repeat
      }
      std::vector<std::pair<std::string, Value>> values;
      for (const auto& [name, f] : h.state.record.fields) {
        values.emplace_back(name, f.value);
      }
      if (!first) {
        first = values;
        EXPECT_EQ(h.value("email"), S("e1@x.io"));
        EXPECT_EQ(h.value("phone"), S("+1 c1"));
        EXPECT_EQ(h.value("name"), S("Ada E"));
      }
      ASSERT_EQ(values, *first) << "permutation " << permutations << " dup " << dup;
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()) && permutations < 720);
  EXPECT_EQ(permutations, 720u);
}

TEST(Convergence, C11_StaleReturnerDoesNotOverwriteNewerValues) {
  Harness h;
  seed(h);
  // fin goes offline; the record moves on in the CRM and the ERP.
  h.report(kCrm, {{"email", S("ada@v2.io")}}, kT0 + 100);
  h.push(kErp);
  h.report(kErp, {{"phone", S("+1 999")}}, kT0 + 200);
  h.push(kCrm);
  // Hours later fin comes back still holding what it had: hashes match its shadow.
  auto r = h.report(kFin, {{"email", S("ada@x.io")}, {"phone", S("+1 555")}, {"name", S("Ada")}},
                    kT0 + 5 * 3600 * 1000);
  EXPECT_EQ(h.value("email"), S("ada@v2.io"));
  EXPECT_EQ(h.value("phone"), S("+1 999"));
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(r.push_to, std::vector<ActorId>{kFin});
  PushPlan p = h.push(kFin);
  EXPECT_EQ(p.op, PushOp::Update);
  EXPECT_EQ(p.fields.size(), 2u);
}

TEST(Convergence, C11_DelayedOlderReportFromTheSameSystemIsIgnored) {
  Harness h;
  seed(h);
  h.report(kCrm, {{"email", S("ada@v3.io")}}, kT0 + 300);
  Record before = h.state.record;
  auto r = h.report(kCrm, {{"email", S("ada@v2.io")}}, kT0 + 200);  // arrived late
  EXPECT_EQ(h.state.record, before);
  EXPECT_FALSE(r.changed);
}

}  // namespace
}  // namespace tandem::conflict::testing
