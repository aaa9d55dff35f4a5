#pragma once

// The soak model for the "prove it" end-to-end tests: it places customers in one, two or all
// three fixture systems, makes rounds of random human edits through the fixtures' control API
// (one field in one system, different fields of one customer in two systems, the same field in
// two or three systems at once, creates, archives) and remembers what each edit must lead to,
// so that after quiescence `verify()` can say whether the agent got every one of them right:
//
//   Soak soak(world, 7);
//   soak.seed(500, {"crm"});
//   world.startAgent();
//   world.waitConverged(...);
//   soak.editRound({.singles = 40, .same_field = 10});
//   world.waitConverged(...);
//   EXPECT_EQ(soak.verify(), "");
//
// A customer is touched by at most one edit group per round, and a round starts from a
// quiescent world, so the expected outcome of every group is known: the latest human value,
// or for edits the agent cannot have seen one before the other (made while it is paused with
// SIGSTOP) one conflict entry with every side and the configured policy's outcome everywhere.

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "conflict/result.h"
#include "tests/e2e/world.h"

namespace tandem::e2e {

struct RoundPlan {
  int singles = 0;      // one field in one system (agent running)
  int diff_fields = 0;  // case 5: two systems, two fields of one customer (agent paused)
  int same_field = 0;   // case 6: one field in two systems (agent paused)
  int three_way = 0;    // case 7: one field in all three systems (agent paused)
  int archives = 0;     // archive / deactivate in one system (agent running)
  // cases 15, 16: a silent hard delete in the CRM or the ERP while another system updates the
  // customer (agent paused): the update wins, the customer is created again where it was
  // deleted, and one "$deleted" conflict entry says so
  int delete_vs_update = 0;
  int creates = 0;         // a new customer created by a person in one system (agent running)
  int live_gap_every = 8;  // a short sleep after this many live edits, so the agent interleaves
};

class Soak {
 public:
  Soak(World& world, uint64_t seed);

  // Seeds `count` people into `systems`; every other system owes each of them one create.
  void seed(int64_t count, const std::vector<std::string>& systems);

  // One round of edits; the world should be quiescent and the agent running. `afterLiveEdit`
  // runs after each edit made while the agent runs (the kill test kills and restarts there).
  Status editRound(const RoundPlan& plan, const std::function<void(int)>& afterLiveEdit = {});

  // After waitConverged: "" or every broken expectation, one per line (at most 30). Settles
  // this round's concurrent edits into expectations, so call it once per round.
  std::string verify();

  int64_t expectedCreates(const std::string& system) const;
  size_t liveCount() const;
  size_t editsMade() const { return edits_; }
  size_t concurrentGroups() const { return concurrent_total_; }

 private:
  struct Person {
    std::string email;
    std::map<std::string, std::string> ids;  // system -> native id, from the snapshot
    bool live = true;
    std::map<std::string, std::string> expect;  // canonical field -> Value::toJson()
  };
  struct Concurrent {  // one field typed in several systems while the agent was paused
    std::string email;
    std::string field;
    std::map<std::string, std::string> typed;  // system -> Value::toJson()
  };
  struct Typed {  // a value a person typed with nothing concurrent: must not be a conflict side
    std::string email;
    std::string field;
    std::string value;
  };

  Status refreshIds();
  Status edit(Person& p, const std::string& system, const std::string& field,
              const std::string& canonicalJson);
  Status create(const std::string& system);
  std::string freshValue(const std::string& field);
  std::vector<Person*> pick(size_t n);

  World& world_;
  std::mt19937_64 rng_;
  std::map<std::string, Person> people_;  // by email
  std::map<std::string, int64_t> creates_;
  std::vector<Concurrent> pending_;
  std::vector<Typed> typed_;
  size_t delete_conflicts_ = 0;  // "$deleted" conflict entries expected so far
  uint64_t serial_ = 0;
  size_t edits_ = 0;
  size_t concurrent_total_ = 0;
};

}  // namespace tandem::e2e
