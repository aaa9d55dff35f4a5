// The seam between the merge core and the store: conflict entries numbered by the merge's own
// sequence (MergeContext::conflict_seq) are stored as new entries, in the batch that carries
// the sequence; later amendments name them; ids nobody handed out are still refused.

#include <gtest/gtest.h>

#include <array>

#include "conflict/merge.h"
#include "state/store.h"
#include "test_util.h"

namespace tandem::state {
namespace {

using conflict::ActorId;
using conflict::Value;
using testing::TempDir;

constexpr ActorId kCrm = 0;
constexpr ActorId kErp = 1;
constexpr ActorId kAgent = 3;

conflict::Report report(ActorId system, std::string phone, int64_t ts) {
  conflict::Report r;
  r.system = system;
  r.fields["phone"] = Value::string(std::move(phone));
  r.source_ts_ms = ts;
  return r;
}

TEST(ConflictSeq, MergeNumberedConflictsAreStoredAndAmendable) {
  TempDir dir;
  auto store = Store::open(dir.path(), testing::testOptions());
  ASSERT_TRUE(store) << store.error().message;
  uint64_t seq = *(*store)->read()->conflictSeq();
  EXPECT_EQ(seq, 0u);

  // Two systems create the same record's phone concurrently: the merge numbers a conflict.
  conflict::EntityPolicy policy;
  conflict::ActorClock clock;
  std::array<conflict::SystemSpec, 2> systems{conflict::SystemSpec{kCrm, {}},
                                              conflict::SystemSpec{kErp, {}}};
  conflict::MergeContext ctx{policy, clock, 1000, kAgent, systems, seq};
  conflict::RecordState st;
  st.record.id = "r-1";
  st.record.entity = "customer";
  ASSERT_TRUE(conflict::mergeReport(st, report(kCrm, "+1 555", 900), ctx));
  auto second = conflict::mergeReport(st, report(kErp, "+1 556", 901), ctx);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->new_conflicts.size(), 1u);
  EXPECT_EQ(second->new_conflicts[0].id, 1u);
  EXPECT_EQ(seq, 1u);

  Batch b;
  b.records.push_back(st.record);
  b.conflicts = second->new_conflicts;
  b.conflict_seq = seq;
  b.clock = clock;
  auto applied = (*store)->apply(b);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->conflict_ids, std::vector<uint64_t>{1});

  {  // a snapshot must end before the next write
    auto snap = (*store)->read();
    ASSERT_TRUE(snap);
    EXPECT_EQ(*snap->conflictSeq(), 1u);
    auto stored = snap->conflict(1);
    ASSERT_TRUE(stored && stored->has_value());
    EXPECT_EQ((*stored)->sides.size(), 2u);
    EXPECT_TRUE((*stored)->open || !(*stored)->outcome.isNull());
  }

  // A store-numbered entry continues after the merge's ids, and an update of id 1 is accepted.
  Batch later;
  conflict::ConflictEntry fresh;
  fresh.record = "r-2";
  fresh.field = "email";
  later.conflicts.push_back(fresh);
  conflict::ConflictEntry amended = second->new_conflicts[0];
  amended.note = "amended";
  later.conflicts.push_back(amended);
  auto again = (*store)->apply(later);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->conflict_ids, (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ((*(*store)->read()->conflict(1))->note, "amended");
  EXPECT_EQ(*(*store)->read()->conflictSeq(), 2u);
}

TEST(ConflictSeq, IdsBeyondTheReservedSequenceAreRefused) {
  TempDir dir;
  auto store = Store::open(dir.path(), testing::testOptions());
  ASSERT_TRUE(store);
  Batch b;
  conflict::ConflictEntry c;
  c.id = 4;
  c.record = "r-1";
  b.conflicts.push_back(c);
  b.conflict_seq = 3;  // the merge handed out 1..3 only
  auto r = (*store)->apply(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: apply: conflict 4 on \"r-1\" was never assigned (next id 4)");
  // Nothing of the refused batch stayed, the reservation included.
  EXPECT_EQ(*(*store)->read()->conflictSeq(), 0u);
}

}  // namespace
}  // namespace tandem::state
