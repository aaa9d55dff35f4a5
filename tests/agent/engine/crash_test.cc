// Case 21: kill -9 at any instant. A random mix of human edits, polls and pushes against three
// in-memory systems, with the engine and the store destroyed and reopened from the same LMDB
// directory at random points: before a fetched batch is committed, between the commit and a
// push, between a push the system applied and its answer (the lost answer, also of a create,
// whose link is then never written), and at rest. After quiescence every record exists exactly
// once in every system and every field agrees.

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "tests/agent/engine/sim.h"

namespace tandem::engine::testing {
namespace {

struct CrashCounts {
  size_t lost_batches = 0;
  size_t lost_answers = 0;
  size_t restarts = 0;
};

void runCrashScenario(uint64_t seed, CrashCounts& counts) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Harness h;
  std::mt19937_64 rng(seed);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  const ActorId systems[] = {kCrm, kErp, kFin};
  int next_person = 0;
  // Known gap (see the report): a person entered in two systems and archived in one before
  // tandem saw it is read back live elsewhere; archives are exercised on the others.
  std::set<std::string> paired;
  for (int step = 0; step < 150; ++step) {
    h.clock().advanceMs(static_cast<int64_t>(pick(2000)));
    size_t action = pick(100);
    ActorId s = systems[pick(3)];
    if (action < 14) {
      std::string email = "p" + std::to_string(++next_person) + "@example.com";
      std::map<std::string, Value> fields{{"email", str(email)},
                                          {"name", str("n" + std::to_string(pick(5)))}};
      h.sim(s).humanCreate(fields);
      if (pick(3) == 0) {  // the same person entered in a second system too (case 14)
        fields["phone"] = str(std::to_string(pick(1000)));
        h.sim(systems[(s + pick(2)) % 3]).humanCreate(fields);
        paired.insert(email);
      }
    } else if (action < 44) {
      const auto& recs = h.sim(s).records();
      if (!recs.empty()) {
        auto it = recs.begin();
        std::advance(it, static_cast<long>(pick(recs.size())));
        std::string native = it->first;
        bool pairable = paired.count(it->second.fields.at("email").asString()) != 0;
        if (pick(8) == 0 && !pairable) {  // archive or unarchive (case 16)
          h.sim(s).humanSetDeleted(native, !it->second.deleted);
        } else {
          h.sim(s).humanEdit(native, pick(2) == 0 ? "name" : "phone",
                             str(std::to_string(pick(50))));
        }
      }
    } else if (action < 64) {
      if (pick(6) == 0) {
        std::string next;
        auto fetched = h.sim(s).poll(*h.engine().cursor(s, "customer"), next);
        h.reopen();  // killed after the fetch, before the commit
        counts.lost_batches += fetched.empty() ? 0 : 1;
        ++counts.restarts;
      } else {
        h.poll(s);
      }
    } else if (action < 90) {
      if (pick(4) == 0) {
        size_t applied = h.push(s, pick(3));
        if (applied > 0) {
          ++counts.lost_answers;
        }
        h.reopen();  // killed after the system applied a push, before its answer was recorded
        ++counts.restarts;
      } else {
        h.push(s);
      }
    } else if (action < 95) {
      h.reopen();
      ++counts.restarts;
    } else {
      h.clock().advanceMs(31'000);  // past create leases and early backoff
    }
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  h.settle(200);
  h.expectConverged();
  auto snap = h.store().read();
  ASSERT_TRUE(snap);
  std::set<std::string> emails;  // one canonical record per person, wherever it was made
  for (ActorId id : systems) {
    for (const auto& [native, r] : h.sim(id).records()) {
      emails.insert(r.fields.at("email").asString());
    }
  }
  EXPECT_EQ(*snap->recordCount(), emails.size());
  // A create is made once per system: every record the system did not create itself.
  for (ActorId id : systems) {
    size_t created_by_tandem = 0;
    for (const auto& [native, r] : h.sim(id).records()) {
      created_by_tandem += r.key.empty() ? 0 : 1;
    }
    EXPECT_EQ(h.sim(id).creates(), created_by_tandem);
  }
}

// SEED=n in the environment starts at seed n (to replay a failure).
TEST(Convergence, C21_KillAtAnyInstantConvergesWithoutDuplicateCreates) {
  CrashCounts counts;
  for (uint64_t seed = std::getenv("SEED") != nullptr ? std::stoull(std::getenv("SEED")) : 1;
       seed <= 100; ++seed) {
    runCrashScenario(seed, counts);
    if (::testing::Test::HasFailure()) {
      break;
    }
  }
  // The scenarios did exercise the crash points.
  EXPECT_GT(counts.lost_batches, 100u);
  EXPECT_GT(counts.lost_answers, 100u);
  EXPECT_GT(counts.restarts, 1000u);
}

TEST(Convergence, C21_LostCreateAnswerIsFoundByItsKeyNotCreatedAgain) {
  Harness h;
  h.sim(kCrm).humanCreate(
      {{"email", str("dana@example.com")}, {"name", str("Dana")}, {"phone", str("1")}});
  h.poll(kCrm);
  EXPECT_EQ(h.push(kErp, 0), 1u);  // the ERP created it; the answer is lost
  h.reopen();
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
  // The lease holds the create back; once it runs out, the job says its outcome is unknown.
  auto early = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(early);
  EXPECT_TRUE(early->empty());
  h.clock().advanceMs(31'000);
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].plan.op, conflict::PushOp::Create);
  EXPECT_TRUE((*jobs)[0].outcome_unknown);
  EXPECT_EQ((*jobs)[0].idempotency_key, idempotencyKey((*jobs)[0].record, kErp));
  ASSERT_EQ((*jobs)[0].match_fields.size(), 1u);
  EXPECT_EQ((*jobs)[0].match_fields[0].second, str("dana@example.com"));
  // The system answers the repeated request id with the record it already made.
  PushOutcome o = h.sim(kErp).apply((*jobs)[0]);
  ASSERT_TRUE(h.engine().completePush(kErp, (*jobs)[0], o));
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
  EXPECT_EQ(h.sim(kFin).creates(), 1u);
}

// After a crash nobody awaits the handed-out create any more: the restarted agent reclaims it
// at once (outcome unknown, so it is read back first) instead of waiting out the lease.
TEST(Convergence, C21_RestartReclaimsCreatesTheCrashedRunLeftUnanswered) {
  Harness h;
  h.sim(kCrm).humanCreate({{"email", str("eve@example.com")}, {"name", str("Eve")}});
  h.poll(kCrm);
  EXPECT_EQ(h.push(kErp, 0), 1u);  // sent; the answer is lost with the process
  h.reopen();
  ASSERT_TRUE(h.engine().duePushes(kErp, 10)->empty());  // leased
  auto reclaimed = h.engine().reclaimSentCreates();
  ASSERT_TRUE(reclaimed) << reclaimed.error().message;
  EXPECT_EQ(*reclaimed, 1u);
  auto jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_TRUE((*jobs)[0].outcome_unknown);
  EXPECT_EQ((*jobs)[0].idempotency_key, idempotencyKey((*jobs)[0].record, kErp));
  // Handed out again, it is leased again; nothing else is reclaimed.
  EXPECT_EQ(*h.engine().reclaimSentCreates(), 1u);
  ASSERT_TRUE(h.engine().completePush(kErp, (*jobs)[0], h.sim(kErp).apply((*jobs)[0])));
  EXPECT_EQ(*h.engine().reclaimSentCreates(), 0u);
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
}

// A create marked as sent whose mark could not be made durable (fsync failed) was not sent: it
// is due again at once, as a plain create, instead of waiting out its lease to be read back. One
// whose outcome was unknown before keeps its mark: it may exist in the system.
TEST(Convergence, C21_CreatesNotSentForWantOfADurableMarkAreDueAgainAtOnce) {
  Harness h;
  h.sim(kCrm).humanCreate({{"email", str("eve@example.com")}, {"name", str("Eve")}});
  h.poll(kCrm);
  auto jobs = h.engine().duePushes(kErp, 10);  // marked as sent
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_FALSE((*jobs)[0].outcome_unknown);
  EXPECT_TRUE(h.engine().duePushes(kErp, 10)->empty());  // leased
  auto unmarked = h.engine().unmarkUnsentCreates(kErp, *jobs);
  ASSERT_TRUE(unmarked) << unmarked.error().message;
  EXPECT_EQ(*unmarked, 1u);
  jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_FALSE((*jobs)[0].outcome_unknown) << "never sent: nothing to read back";

  // Handed out, then the process died: reclaimed at restart with its outcome unknown, its mark
  // stays even if that create is not sent either.
  h.reopen();
  ASSERT_EQ(*h.engine().reclaimSentCreates(), 1u);
  jobs = h.engine().duePushes(kErp, 10);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_TRUE((*jobs)[0].outcome_unknown);
  EXPECT_EQ(*h.engine().unmarkUnsentCreates(kErp, *jobs), 0u);
  EXPECT_TRUE(h.engine().duePushes(kErp, 10)->empty());
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kErp).creates(), 1u);
}

TEST(Convergence, C21_LostCreateAnswerThenFeedLinksByKey) {
  Harness h;
  h.sim(kCrm).humanCreate({{"email", str("eve@example.com")}, {"name", str("Eve")}});
  h.poll(kCrm);
  EXPECT_EQ(h.push(kFin, 0), 1u);
  h.reopen();
  // The feed shows the created record before any retry: linked, its pending write confirmed.
  EXPECT_EQ(h.poll(kFin), 1u);
  h.clock().advanceMs(31'000);
  auto jobs = h.engine().duePushes(kFin, 10);
  ASSERT_TRUE(jobs);
  EXPECT_TRUE(jobs->empty());
  h.settle();
  h.expectConverged();
  EXPECT_EQ(h.sim(kFin).creates(), 1u);
  EXPECT_TRUE(h.conflicts().empty());
}

}  // namespace
}  // namespace tandem::engine::testing
