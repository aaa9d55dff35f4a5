// The merge core under thousands of random interleavings: three systems, people editing them,
// an unreliable world between them and the agent. After delivery quiesces every system holds
// the canonical record, and every value a person typed that was overwritten by someone who had
// not seen it is in the conflict log.

#include <gtest/gtest.h>

#include <cstdio>

#include "tests/conflict/sim.h"

namespace tandem::conflict::testing {
namespace {

// Sanitizer builds (Debug, ASan+UBSan) run about 80 times slower: they walk an eighth of the
// seeds, which keeps them under half a minute; plain builds walk them all in about two seconds.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kSeedDivisor = 8;
#else
constexpr uint64_t kSeedDivisor = 1;
#endif

struct Profile {
  const char* name;
  SimFaults faults;
  uint64_t seeds;
  int steps;
};

void runChaos(const Profile& p) {
  size_t conflicts = 0;
  size_t edits = 0;
  const uint64_t seeds = p.seeds / kSeedDivisor;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    Simulator sim(seed * 7919 + p.steps, p.faults);
    for (int i = 1; i <= p.steps; ++i) {
      sim.step();
      if (i % 1000 == 0 && i < p.steps) {
        // Settle now and then, so that later chaos starts from converged states too.
        ASSERT_TRUE(sim.quiesce())
            << p.name << " seed " << seed << " step " << i << ": " << sim.checkConverged();
        ASSERT_EQ(sim.checkNothingLostSilently(), "") << p.name << " seed " << seed;
      }
    }
    ASSERT_TRUE(sim.quiesce()) << p.name << " seed " << seed << ": " << sim.checkConverged();
    std::string lost = sim.checkNothingLostSilently();
    ASSERT_TRUE(lost.empty()) << p.name << " seed " << seed << ": " << lost;
    std::string bad = sim.checkConflictEntries();
    ASSERT_TRUE(bad.empty()) << p.name << " seed " << seed << ": " << bad;
    conflicts += sim.conflictCount();
    edits += sim.editCount();
  }
  // The run must exercise concurrency, or it proves nothing.
  EXPECT_GT(conflicts, seeds * 10) << p.name;
  std::printf("[ %s ] %llu seeds x %d steps: %zu human edits, %zu conflict entries\n", p.name,
              static_cast<unsigned long long>(seeds), p.steps, edits, conflicts);
}

TEST(ConvergenceProperty, RandomInterleavingsConvergeAndLoseNothingSilently) {
  runChaos(Profile{"default faults", SimFaults{}, 200, 4000});
}

TEST(ConvergenceProperty, HarshWorldConvergesAndLosesNothingSilently) {
  // Most answers lost, a third of pushes dropped, many duplicates and dropped reports.
  runChaos(Profile{"harsh faults", SimFaults{0.5, 0.3, 0.3, 0.2, false}, 100, 4000});
}

TEST(ConvergenceProperty, PartialMappingConvergesAndLosesNothingSilently) {
  // fin does not map f3: it is never pushed it and never reports it, and the others converge.
  SimFaults faults;
  faults.fin_maps_three = true;
  runChaos(Profile{"fin maps 3 of 4 fields", faults, 100, 4000});
}

TEST(ConvergenceProperty, PerfectWorldConvergesAndLosesNothingSilently) {
  runChaos(Profile{"no faults", SimFaults{0, 0, 0, 0, false}, 100, 4000});
}

TEST(ConvergenceProperty, QuiescingBetweenEditsGivesNoConflictAtAll) {
  // Sequential edits (each one reaches every system before the next) are never conflicts, even
  // with lost push answers and duplicated, reordered reports: the merge is not "always
  // concurrent".
  for (uint64_t seed = 1; seed <= 48 / kSeedDivisor; ++seed) {
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
  for (uint64_t seed = 1; seed <= 96 / kSeedDivisor; ++seed) {
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
