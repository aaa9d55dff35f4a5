// The merge core under thousands of random interleavings: three systems, people editing them,
// an unreliable world between them and the agent. After delivery quiesces every system holds
// the canonical record, and every value a person typed that was overwritten by someone who had
// not seen it is in the conflict log.

#include <gtest/gtest.h>

#include "tests/conflict/sim.h"

namespace tandem::conflict::testing {
namespace {

constexpr uint64_t kSeeds = 200;
constexpr int kSteps = 3000;

TEST(ConvergenceProperty, RandomInterleavingsConvergeAndLoseNothingSilently) {
  size_t conflicts = 0;
  size_t edits = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Simulator sim(seed);
    for (int i = 0; i < kSteps; ++i) {
      sim.step();
    }
    ASSERT_TRUE(sim.quiesce()) << "seed " << seed << ": " << sim.checkConverged();
    std::string lost = sim.checkNothingLostSilently();
    ASSERT_TRUE(lost.empty()) << "seed " << seed << ": " << lost;
    conflicts += sim.conflictCount();
    edits += sim.editCount();
  }
  // The run must actually exercise concurrency, or it proves nothing.
  EXPECT_GT(conflicts, kSeeds * 10);
  RecordProperty("edits", static_cast<int>(edits));
  RecordProperty("conflicts", static_cast<int>(conflicts));
}

TEST(ConvergenceProperty, QuiescingBetweenEditsGivesNoConflictAtAll) {
  // Sequential edits (each one reaches every system before the next) are never conflicts, even
  // with lost push answers and duplicated, reordered reports: the merge is not "always
  // concurrent".
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Simulator sim(seed);
    for (int i = 0; i < 60; ++i) {
      sim.humanEdit();
      for (int j = 0; j < 20; ++j) {
        sim.step(/*allow_edits=*/false);  // faults while the edit travels
      }
      ASSERT_TRUE(sim.quiesce()) << "seed " << seed << ": " << sim.checkConverged();
    }
    ASSERT_TRUE(sim.checkNothingLostSilently().empty()) << "seed " << seed;
    EXPECT_EQ(sim.conflictCount(), 0u) << "seed " << seed;
  }
}

TEST(ConvergenceProperty, OneWriterAtATimeNeverConflictsWhateverTheWorldDoes) {
  // People edit in one system only while pushes to the other two are dropped, answered late or
  // never answered and reports arrive duplicated and out of order. Nothing is concurrent, so
  // the log must stay empty: echoes of older pushes are recognised as pending writes.
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Simulator sim(seed);
    size_t writer = seed % Simulator::kSystems;
    for (int i = 0; i < 1500; ++i) {
      if (i % 5 == 0) {
        sim.humanEdit(writer);
      } else {
        sim.step(/*allow_edits=*/false);
      }
    }
    ASSERT_TRUE(sim.quiesce()) << "seed " << seed << ": " << sim.checkConverged();
    if (sim.conflictCount() != 0) {
      const ConflictEntry& e = sim.log().begin()->second;
      std::string sides;
      for (const auto& side : e.sides) {
        sides += " " + std::to_string(side.system) + "=" + side.value.toJson();
      }
      FAIL() << "seed " << seed << " writer " << writer << ": " << sim.conflictCount()
             << " conflicts, first on " << e.field << ":" << sides << " (" << e.note << ")";
    }
  }
}

}  // namespace
}  // namespace tandem::conflict::testing
