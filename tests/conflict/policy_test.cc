// Each policy on two concurrent values, including its tie-breaks, through the merge step.

#include <gtest/gtest.h>

#include "conflict/policy.h"
#include "tests/conflict/harness.h"

namespace tandem::conflict::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

// crm and erp edit `field` concurrently (erp reported second); returns the outcome.
Value concurrent(Harness& h, const char* field, Value crm, int64_t crm_ts, Value erp,
                 int64_t erp_ts) {
  h.report(kCrm, {{field, Value::string("base")}}, kT0);
  h.pushAll();
  h.report(kCrm, {{field, std::move(crm)}}, crm_ts);
  h.report(kErp, {{field, std::move(erp)}}, erp_ts);
  EXPECT_EQ(h.conflictsOn(field).size(), 1u);
  return h.value(field);
}

TEST(Policy, LwwLatestSourceTimestampWins) {
  Harness h;
  EXPECT_EQ(concurrent(h, "f", S("crm"), kT0 + 200, S("erp"), kT0 + 100), S("crm"));
  Harness h2;
  EXPECT_EQ(concurrent(h2, "f", S("crm"), kT0 + 100, S("erp"), kT0 + 200), S("erp"));
}

TEST(Policy, LwwTieGoesToSystemPriorityThenLowerId) {
  Harness h;
  h.policy.priority = {kErp, kCrm};
  EXPECT_EQ(concurrent(h, "f", S("crm"), kT0 + 100, S("erp"), kT0 + 100), S("erp"));
  Harness h2;  // no priority list: lower actor id
  EXPECT_EQ(concurrent(h2, "f", S("crm"), kT0 + 100, S("erp"), kT0 + 100), S("crm"));
}

TEST(Policy, LwwIsSymmetricAndTotal) {
  EntityPolicy p;
  Value a = S("a");
  Value b = S("b");
  for (int64_t ta : {1, 2}) {
    for (ActorId sa : {kCrm, kErp}) {
      Candidate x{&a, sa, ta};
      Candidate y{&b, kFin, 1};
      EXPECT_NE(lwwBeats(p, x, y), lwwBeats(p, y, x));
    }
  }
  Candidate same1{&a, kCrm, 5};
  Candidate same2{&b, kCrm, 5};
  EXPECT_NE(lwwBeats(p, same1, same2), lwwBeats(p, same2, same1));
}

TEST(Policy, PreferSystemOfRecordThenLwwAmongUnlisted) {
  Harness h;
  h.policy.fields["credit_limit"] = PolicySpec{PolicyKind::Prefer, {kFin, kErp}};
  EXPECT_EQ(concurrent(h, "credit_limit", S("crm"), kT0 + 900, S("erp"), kT0 + 100), S("erp"));
  EXPECT_EQ(h.conflictsOn("credit_limit")[0].policy, PolicyKind::Prefer);
  Harness h2;  // neither side listed: lww
  h2.policy.fields["f"] = PolicySpec{PolicyKind::Prefer, {kFin}};
  EXPECT_EQ(concurrent(h2, "f", S("crm"), kT0 + 900, S("erp"), kT0 + 100), S("crm"));
}

TEST(Policy, MaxAndMinCompareNumbersAndStringsNullLoses) {
  Harness h;
  h.policy.fields["limit"] = PolicySpec{PolicyKind::Max, {}};
  EXPECT_EQ(concurrent(h, "limit", Value::integer(7), kT0 + 900, Value::number(7.5), kT0 + 1),
            Value::number(7.5));
  Harness h2;
  h2.policy.fields["limit"] = PolicySpec{PolicyKind::Min, {}};
  EXPECT_EQ(concurrent(h2, "limit", Value::integer(7), kT0 + 1, Value::number(7.5), kT0 + 900),
            Value::integer(7));
  Harness h3;
  h3.policy.fields["limit"] = PolicySpec{PolicyKind::Min, {}};
  EXPECT_EQ(concurrent(h3, "limit", Value::null(), kT0 + 900, Value::integer(3), kT0 + 1),
            Value::integer(3));
  Harness h4;
  h4.policy.fields["code"] = PolicySpec{PolicyKind::Max, {}};
  EXPECT_EQ(concurrent(h4, "code", S("B-2"), kT0 + 1, S("A-9"), kT0 + 900), S("B-2"));
  Harness h5;  // not comparable (bool vs string): lww
  h5.policy.fields["code"] = PolicySpec{PolicyKind::Max, {}};
  EXPECT_EQ(concurrent(h5, "code", Value::boolean(true), kT0 + 1, S("A"), kT0 + 900), S("A"));
}

TEST(Policy, UnionMergesSetsAndFallsBackToLwwForOtherValues) {
  Harness h;
  h.policy.fields["tags"] = PolicySpec{PolicyKind::Union, {}};
  Value got = concurrent(h, "tags", Value::stringSet({"vip", "b2b"}), kT0 + 100,
                         Value::stringSet({"eu", "vip"}), kT0 + 200);
  EXPECT_EQ(got, Value::stringSet({"b2b", "eu", "vip"}));
  EXPECT_EQ(h.state.record.fields.find("tags")->source, kAgent);
  // The union is new to every system: all three get it.
  EXPECT_EQ(h.push(kCrm).op, PushOp::Update);
  EXPECT_EQ(h.push(kErp).op, PushOp::Update);
  Harness h2;
  h2.policy.fields["tags"] = PolicySpec{PolicyKind::Union, {}};
  EXPECT_EQ(concurrent(h2, "tags", S("x"), kT0 + 200, Value::stringSet({"y"}), kT0 + 100), S("x"));
}

TEST(Policy, PolicyOutcomesDoNotDependOnArgumentOrder) {
  EntityPolicy entity;
  entity.priority = {kFin};
  std::vector<Value> values = {
      Value::null(), Value::integer(3),    Value::number(2.5),      S("m"),
      S("z"),        Value::boolean(true), Value::stringSet({"a"}), Value::stringSet({"b", "c"})};
  for (PolicyKind k :
       {PolicyKind::Lww, PolicyKind::Prefer, PolicyKind::Max, PolicyKind::Min, PolicyKind::Union}) {
    PolicySpec spec{k, {kErp}};
    for (const Value& x : values) {
      for (const Value& y : values) {
        for (int64_t ty : {5, 6}) {
          Candidate a{&x, kCrm, 5};
          Candidate b{&y, kErp, ty};
          PolicyOutcome ab = applyPolicy(spec, entity, a, b);
          PolicyOutcome ba = applyPolicy(spec, entity, b, a);
          auto result = [](const PolicyOutcome& o, const Value& first, const Value& second) {
            switch (o.pick) {
              case PolicyOutcome::Pick::First:
                return first;
              case PolicyOutcome::Pick::Second:
                return second;
              default:
                return o.merged;
            }
          };
          EXPECT_EQ(result(ab, x, y), result(ba, y, x))
              << policyName(k) << " " << x.toJson() << " vs " << y.toJson();
        }
      }
    }
  }
}

}  // namespace
}  // namespace tandem::conflict::testing
