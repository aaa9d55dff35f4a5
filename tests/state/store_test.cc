// Round trips of every table, range scans and the replace-on-re-enqueue rule.

#include "state/store.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace tandem::state {
namespace {

using testing::openStore;
using testing::outboxEntry;
using testing::sampleConflict;
using testing::sampleRecord;
using testing::sampleShadow;
using testing::TempDir;
using testing::testOptions;

void applyOk(Store& s, const Batch& b) {
  auto r = s.apply(b);
  ASSERT_TRUE(r) << r.error().message;
}

TEST(Store, EveryTableRoundTripsAndSurvivesReopen) {
  TempDir dir;
  Batch b;
  b.actors = {{"crm", 0}, {"erp", 1}, {"agent", 15}};
  b.records.push_back(sampleRecord("r-1"));
  b.shadows.push_back({1, "r-1", sampleShadow(77)});
  b.links.push_back({1, "ERP-9", "r-1"});
  b.match_keys.push_back({"customer", "email", "r-1@example.com", "r-1"});
  b.outbox.push_back(outboxEntry(0, "r-1", 5000));
  b.conflicts.push_back(sampleConflict("r-1", true));
  b.dead_letters.push_back({2, "r-1", "HTTP 422: invalid vat", 900, 8, PushKind::Create});
  b.cursors.push_back({1, "customer", std::string("\x00\x01since", 7)});
  conflict::ActorClock clock;
  clock.set(0, 17);
  clock.set(15, 1'700'000'000'000);
  b.clock = clock;
  {
    auto store = openStore(dir);
    auto applied = store->apply(b);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->conflict_ids, std::vector<uint64_t>{1});
  }
  auto store = openStore(dir);
  auto snap = store->read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(**snap->record("r-1"), sampleRecord("r-1"));
  EXPECT_FALSE(snap->record("r-2")->has_value());
  EXPECT_EQ(**snap->shadow(1, "r-1"), sampleShadow(77));
  EXPECT_FALSE(snap->shadow(0, "r-1")->has_value());
  EXPECT_EQ(**snap->linkedRecord(1, "ERP-9"), "r-1");
  EXPECT_EQ(**snap->nativeId("r-1", 1), "ERP-9");
  EXPECT_EQ(**snap->match("customer", "email", "r-1@example.com"), "r-1");
  EXPECT_FALSE(snap->match("customer", "email", "other@example.com")->has_value());
  EXPECT_EQ(**snap->outboxEntry(0, "r-1"), outboxEntry(0, "r-1", 5000));
  auto c = sampleConflict("r-1", true);
  c.id = 1;
  EXPECT_EQ(**snap->conflict(1), c);
  EXPECT_EQ(**snap->deadLetter(2, "r-1"),
            (DeadLetter{2, "r-1", "HTTP 422: invalid vat", 900, 8, PushKind::Create}));
  EXPECT_EQ(**snap->cursor(1, "customer"), std::string("\x00\x01since", 7));
  auto gotClock = snap->clock();
  ASSERT_TRUE(gotClock);
  EXPECT_EQ(gotClock->get(0), 17u);
  EXPECT_EQ(gotClock->get(15), 1'700'000'000'000u);
  EXPECT_EQ(*snap->actors(),
            (std::vector<std::pair<std::string, ActorId>>{{"crm", 0}, {"erp", 1}, {"agent", 15}}));
}

TEST(Store, RecordIdsPageInKeyOrderAndNotesAreSetAndRemoved) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  for (const char* id : {"r-3", "r-1", "r-2", "r-5", "r-4"}) {
    b.records.push_back(sampleRecord(id));
  }
  b.notes.emplace_back("placed/customer/2", "1");
  b.notes.emplace_back("other", "x");
  ASSERT_TRUE(store->apply(b));
  {
    auto snap = store->read();
    ASSERT_TRUE(snap);
    EXPECT_EQ(*snap->recordIds("", 2), (std::vector<RecordId>{"r-1", "r-2"}));
    EXPECT_EQ(*snap->recordIds("r-2", 2), (std::vector<RecordId>{"r-3", "r-4"}));
    EXPECT_EQ(*snap->recordIds("r-4", 2), (std::vector<RecordId>{"r-5"}));
    EXPECT_TRUE(snap->recordIds("r-5", 2)->empty());
    EXPECT_EQ(**snap->note("placed/customer/2"), "1");
    EXPECT_FALSE(snap->note("placed/customer/3")->has_value());
    // Notes live apart from the store's own meta keys: a caller cannot read or clobber those.
    EXPECT_FALSE(snap->note("schema_version")->has_value());
  }
  Batch rm;
  rm.notes.emplace_back("placed/customer/2", std::nullopt);
  ASSERT_TRUE(store->apply(rm));
  auto again = store->read();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->note("placed/customer/2")->has_value());
  EXPECT_EQ(**again->note("other"), "x");
  Batch bad;
  bad.notes.emplace_back("", "1");
  EXPECT_FALSE(store->apply(bad));
}

TEST(Store, DueOutboxIsOldestFirstAndFiltersBySystem) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.outbox = {outboxEntry(1, "r-a", 300), outboxEntry(0, "r-b", 100), outboxEntry(2, "r-c", 200),
              outboxEntry(1, "r-d", 100), outboxEntry(0, "r-e", 400), outboxEntry(1, "r-f", 256)};
  applyOk(*store, b);
  auto snap = store->read();
  auto due = snap->dueOutbox(300, 100);
  ASSERT_TRUE(due);
  std::vector<std::string> ids;
  for (const auto& e : *due) {
    ids.push_back(e.record);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"r-b", "r-d", "r-c", "r-f", "r-a"}));
  auto sys1 = snap->dueOutbox(300, 2, ActorId{1});
  ASSERT_TRUE(sys1);
  ASSERT_EQ(sys1->size(), 2u);
  EXPECT_EQ((*sys1)[0].record, "r-d");
  EXPECT_EQ((*sys1)[1].record, "r-f");
  EXPECT_TRUE(snap->dueOutbox(99, 10)->empty());
  EXPECT_EQ(*snap->outboxSize(), 6u);
}

TEST(Store, DueOutboxOfOneSystemSkipsOtherSystemsBacklog) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  for (int i = 0; i < 300; ++i) {  // a throttled system's backlog, all due at once
    b.outbox.push_back(outboxEntry(1, "r-" + std::to_string(i), 100));
    b.outbox.push_back(outboxEntry(3, "s-" + std::to_string(i), 100 + i % 3));
  }
  b.outbox.push_back(outboxEntry(2, "mine-2", 101));
  b.outbox.push_back(outboxEntry(2, "mine-1", 100));
  b.outbox.push_back(outboxEntry(2, "mine-late", 103));
  b.outbox.push_back(outboxEntry(0, "other", 99));
  applyOk(*store, b);
  auto snap = store->read();
  auto mine = snap->dueOutbox(102, 10, ActorId{2});
  ASSERT_TRUE(mine) << mine.error().message;
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0], outboxEntry(2, "mine-1", 100));
  EXPECT_EQ((*mine)[1], outboxEntry(2, "mine-2", 101));
  EXPECT_EQ(snap->dueOutbox(102, 1000, ActorId{3})->size(), 300u);
  EXPECT_EQ(snap->dueOutbox(99, 1000, ActorId{3})->size(), 0u);
  EXPECT_EQ(snap->dueOutbox(1000, 1000, ActorId{0})->size(), 1u);
  EXPECT_EQ(snap->dueOutbox(1000, 1000, ActorId{4})->size(), 0u);
  EXPECT_EQ(snap->dueOutbox(1000, 10000)->size(), 604u);
}

TEST(Store, ReEnqueueReplacesTheEntryOfThatSystemAndRecord) {
  TempDir dir;
  auto store = openStore(dir);
  Batch first;
  first.outbox = {outboxEntry(1, "r-1", 100), outboxEntry(2, "r-1", 100)};
  applyOk(*store, first);
  Batch retry;  // a pusher reschedules after a failure
  OutboxEntry later = outboxEntry(1, "r-1", 900);
  later.attempts = 1;
  later.last_error = "HTTP 503";
  retry.outbox = {later};
  applyOk(*store, retry);
  auto snap = store->read();
  EXPECT_EQ(*snap->outboxSize(), 2u);
  EXPECT_EQ(**snap->outboxEntry(1, "r-1"), later);
  auto due = snap->dueOutbox(500, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].system, 2);
  // Filed again at the same time: still one entry, its value replaced.
  later.attempts = 2;
  Batch same;
  same.outbox = {later};
  applyOk(*store, same);
  snap = store->read();
  EXPECT_EQ(*snap->outboxSize(), 2u);
  EXPECT_EQ(**snap->outboxEntry(1, "r-1"), later);
  ASSERT_EQ(snap->dueOutbox(1000, 10)->size(), 2u);
  // Removed after its move: nothing of it is left, at either time.
  Batch gone;
  gone.outbox_removals = {{1, "r-1"}};
  applyOk(*store, gone);
  snap = store->read();
  EXPECT_EQ(*snap->outboxSize(), 1u);
  EXPECT_FALSE(*snap->outboxEntry(1, "r-1"));
  auto left = snap->dueOutbox(1000, 10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].system, 2);
}

TEST(Store, PushDoneRemovesOutboxAndUpdatesShadowTogether) {
  TempDir dir;
  auto store = openStore(dir);
  Batch enqueue;
  enqueue.records = {sampleRecord("r-1")};
  enqueue.outbox = {outboxEntry(1, "r-1", 100)};
  applyOk(*store, enqueue);
  Batch done;
  done.shadows = {{1, "r-1", sampleShadow(5)}};
  done.outbox_removals = {{1, "r-1"}, {2, "never-queued"}};
  applyOk(*store, done);
  auto snap = store->read();
  EXPECT_FALSE(snap->outboxEntry(1, "r-1")->has_value());
  EXPECT_EQ(*snap->outboxSize(), 0u);
  EXPECT_EQ(**snap->shadow(1, "r-1"), sampleShadow(5));
}

// A record and its shadows are one row, each shadow written against the record (state/row.h):
// a batch that changes the record and only some shadows keeps the others as they were, and
// each shadow comes back as written whichever way it differs from the record.
TEST(Store, ChangingARecordKeepsTheShadowsTheBatchDoesNotWrite) {
  TempDir dir;
  auto store = openStore(dir);
  conflict::Record r = sampleRecord("r-1");
  // Settled in system 0 (every field as the record holds it), behind in system 1, and system
  // 2's own shadow with fields the record lacks.
  conflict::Shadow settled;
  for (const auto& [name, f] : r.fields) {
    settled.fields[name] = {f.value.hash(), f.vv, {}};
  }
  settled.tombstone = {conflict::Value::boolean(false).hash(), r.tombstone.vv, {}};
  settled.version_token = "v-1";
  Batch b;
  b.records = {r};
  b.shadows = {{0, "r-1", settled}, {1, "r-1", sampleShadow(3)}, {2, "r-1", sampleShadow(4)}};
  applyOk(*store, b);

  conflict::Record edited = r;
  for (auto& [name, f] : edited.fields) {
    f.value = conflict::Value::string("edited " + name);
    f.vv.set(0, f.vv.get(0) + 1);
  }
  edited.fields["added"] = {conflict::Value::string("new"), {}, 0, 0, 0};
  conflict::Shadow caught_up = sampleShadow(9);
  Batch change;
  change.records = {edited};
  change.shadows = {{1, "r-1", caught_up}};
  applyOk(*store, change);
  {
    auto snap = store->read();
    EXPECT_EQ(**snap->record("r-1"), edited);
    EXPECT_EQ(**snap->shadow(0, "r-1"), settled);  // now behind the record: no longer its
    EXPECT_EQ(**snap->shadow(1, "r-1"), caught_up);
    EXPECT_EQ(**snap->shadow(2, "r-1"), sampleShadow(4));
    auto row = snap->row("r-1", 0b101);
    ASSERT_TRUE(row && *row) << (row ? "no row" : row.error().message);
    EXPECT_EQ((*row)->record, edited);
    EXPECT_EQ((*row)->shadows[0], settled);
    EXPECT_FALSE((*row)->shadows[1]);  // not asked for
    EXPECT_EQ((*row)->shadows[2], sampleShadow(4));
  }
  // A shadow alone, against the stored record; a removal; the record unchanged.
  Batch lone;
  lone.shadows = {{0, "r-1", sampleShadow(10)}};
  lone.shadow_removals = {{2, "r-1"}};
  applyOk(*store, lone);
  auto snap = store->read();
  EXPECT_EQ(**snap->record("r-1"), edited);
  EXPECT_EQ(**snap->shadow(0, "r-1"), sampleShadow(10));
  EXPECT_EQ(**snap->shadow(1, "r-1"), caught_up);
  EXPECT_FALSE(snap->shadow(2, "r-1")->has_value());
  EXPECT_FALSE(snap->shadow(99, "r-1")->has_value());
  EXPECT_FALSE(snap->row("r-2")->has_value());
}

// Removals come first in a batch: a record removed and put again in one batch starts a new row,
// with the shadows that batch puts and none of the old ones.
TEST(Store, ARecordRemovedAndPutInOneBatchKeepsOnlyTheNewShadows) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.records = {sampleRecord("r-1")};
  b.shadows = {{0, "r-1", sampleShadow(1)}, {1, "r-1", sampleShadow(2)}};
  applyOk(*store, b);
  Batch again;
  again.record_removals = {"r-1"};
  again.records = {sampleRecord("r-1", 7)};
  again.shadows = {{2, "r-1", sampleShadow(3)}};
  applyOk(*store, again);
  auto snap = store->read();
  EXPECT_EQ(**snap->record("r-1"), sampleRecord("r-1", 7));
  EXPECT_FALSE(snap->shadow(0, "r-1")->has_value());
  EXPECT_FALSE(snap->shadow(1, "r-1")->has_value());
  EXPECT_EQ(**snap->shadow(2, "r-1"), sampleShadow(3));
  EXPECT_EQ(*snap->recordCount(), 1u);
}

TEST(Store, AShadowOfARecordNotStoredIsRefusedAndTheBatchWithIt) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.records = {sampleRecord("r-1")};
  b.shadows = {{1, "r-2", sampleShadow(1)}};
  auto r = store->apply(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "state: apply: shadow of record \"r-2\", which is not stored");
  EXPECT_FALSE(store->read()->record("r-1")->has_value());
}

TEST(Store, RelinkingReplacesBothDirections) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.links = {{1, "N-1", "r-1"}, {1, "N-2", "r-2"}, {0, "C-1", "r-1"}};
  applyOk(*store, b);
  Batch relink;  // the ERP record N-1 turned out to be r-2 (merged duplicate)
  relink.links = {{1, "N-1", "r-2"}};
  applyOk(*store, relink);
  auto snap = store->read();
  EXPECT_EQ(**snap->linkedRecord(1, "N-1"), "r-2");
  EXPECT_FALSE(snap->linkedRecord(1, "N-2")->has_value());  // r-2's old ERP link is gone
  EXPECT_FALSE(snap->nativeId("r-1", 1)->has_value());
  EXPECT_EQ(**snap->nativeId("r-2", 1), "N-1");
  EXPECT_EQ(**snap->nativeId("r-1", 0), "C-1");
  auto erp = snap->links(1, "", 10);
  ASSERT_TRUE(erp);
  EXPECT_EQ(*erp, (std::vector<Link>{{1, "N-1", "r-2"}}));
}

TEST(Store, CollectingARecordRemovesItsRecordShadowsAndLinks) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.records = {sampleRecord("r-1"), sampleRecord("r-2")};
  b.shadows = {{0, "r-1", sampleShadow(1)}, {1, "r-1", sampleShadow(2)}};
  b.links = {{0, "C-1", "r-1"}, {1, "E-1", "r-1"}, {1, "E-2", "r-2"}};
  applyOk(*store, b);
  Batch gc;
  gc.record_removals = {"r-1", "never-existed"};
  gc.shadow_removals = {{0, "r-1"}, {1, "r-1"}};
  gc.link_removals = {{0, "C-1", ""}, {1, "E-1", ""}, {2, "absent", ""}};
  applyOk(*store, gc);
  auto snap = store->read();
  EXPECT_FALSE(snap->record("r-1")->has_value());
  EXPECT_TRUE(snap->record("r-2")->has_value());
  EXPECT_FALSE(snap->shadow(0, "r-1")->has_value());
  EXPECT_FALSE(snap->shadow(1, "r-1")->has_value());
  EXPECT_FALSE(snap->linkedRecord(0, "C-1")->has_value());
  EXPECT_FALSE(snap->nativeId("r-1", 1)->has_value());
  EXPECT_EQ(**snap->nativeId("r-2", 1), "E-2");
  EXPECT_EQ(*snap->links(1, "", 10), (std::vector<Link>{{1, "E-2", "r-2"}}));
}

TEST(Store, LinksOfOneSystemPageInNativeIdOrder) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  for (int i = 0; i < 5; ++i) {
    b.links.push_back({2, "F-" + std::to_string(i), "r-" + std::to_string(i)});
    b.links.push_back({1, "E-" + std::to_string(i), "r-" + std::to_string(i)});
  }
  applyOk(*store, b);
  auto snap = store->read();
  auto page1 = snap->links(2, "", 2);
  ASSERT_TRUE(page1);
  EXPECT_EQ(*page1, (std::vector<Link>{{2, "F-0", "r-0"}, {2, "F-1", "r-1"}}));
  auto page2 = snap->links(2, "F-1", 10);
  ASSERT_EQ(page2->size(), 3u);
  EXPECT_EQ((*page2)[0].native_id, "F-2");
  EXPECT_EQ((*page2)[2].native_id, "F-4");
}

TEST(Store, C14_MatchKeysFindTheRecordAndCanMove) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.match_keys = {{"customer", "email", "ada@example.com", "r-1"}};
  applyOk(*store, b);
  Batch changed;  // the email changed: old key out, new key in, one txn
  changed.match_key_removals = {{"customer", "email", "ada@example.com", ""}};
  changed.match_keys = {{"customer", "email", "ada@lovelace.org", "r-1"}};
  applyOk(*store, changed);
  auto snap = store->read();
  EXPECT_FALSE(snap->match("customer", "email", "ada@example.com")->has_value());
  EXPECT_EQ(**snap->match("customer", "email", "ada@lovelace.org"), "r-1");
  EXPECT_FALSE(snap->match("invoice", "email", "ada@lovelace.org")->has_value());
}

TEST(Store, ConflictsGetIncreasingIdsAndIndexes) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.conflicts = {sampleConflict("r-1", true), sampleConflict("r-10", false),
                 sampleConflict("r-1", false)};
  auto applied = store->apply(b);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->conflict_ids, (std::vector<uint64_t>{1, 2, 3}));
  Batch more;
  more.conflicts = {sampleConflict("r-2", true)};
  EXPECT_EQ(store->apply(more)->conflict_ids, std::vector<uint64_t>{4});

  auto snap = store->read();
  auto open = snap->openConflicts(10);
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].id, 1u);
  EXPECT_EQ((*open)[1].id, 4u);
  auto ofR1 = snap->conflictsOfRecord("r-1");
  ASSERT_EQ(ofR1->size(), 2u);  // not r-10's
  EXPECT_EQ((*ofR1)[0].id, 1u);
  EXPECT_EQ((*ofR1)[1].id, 3u);
  auto fromTwo = snap->conflicts(2, 2);
  ASSERT_EQ(fromTwo->size(), 2u);
  EXPECT_EQ((*fromTwo)[0].id, 2u);
  EXPECT_EQ((*fromTwo)[1].id, 3u);
}

TEST(Store, ResolvingAConflictClosesIt) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.conflicts = {sampleConflict("r-1", true)};
  ASSERT_TRUE(store->apply(b));
  auto c = **store->read()->conflict(1);
  c.open = false;
  c.resolved_ms = 5000;
  c.note = "resolved by alice";
  Batch resolve;
  resolve.conflicts = {c};
  EXPECT_EQ(store->apply(resolve)->conflict_ids, std::vector<uint64_t>{1});
  auto snap = store->read();
  EXPECT_TRUE(snap->openConflicts(10)->empty());
  EXPECT_EQ(**snap->conflict(1), c);
  EXPECT_EQ(snap->conflictsOfRecord("r-1")->size(), 1u);
}

TEST(Store, UpdatingAConflictNeverAssignedIsRefused) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  auto c = sampleConflict("r-1", true);
  c.id = 9;
  b.conflicts = {c};
  auto r = store->apply(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: apply: conflict 9 on \"r-1\" was never assigned (next id 1)");
}

TEST(Store, DeadLettersListPerSystemAndCanBeRemoved) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.dead_letters = {{2, "r-1", "gone", 1, 3, PushKind::Update},
                    {1, "r-2", "HTTP 400", 2, 8, PushKind::Create},
                    {2, "r-3", "HTTP 409", 3, 8, PushKind::Delete}};
  applyOk(*store, b);
  EXPECT_EQ(store->read()->deadLetters(std::nullopt, 10)->size(), 3u);
  auto fin = store->read()->deadLetters(ActorId{2}, 10);
  ASSERT_EQ(fin->size(), 2u);
  EXPECT_EQ((*fin)[1].reason, "HTTP 409");
  Batch retry;  // operator requeues r-1
  retry.dead_letter_removals = {{2, "r-1"}};
  retry.outbox = {outboxEntry(2, "r-1", 10)};
  applyOk(*store, retry);
  EXPECT_FALSE(store->read()->deadLetter(2, "r-1")->has_value());
  EXPECT_EQ(store->read()->deadLetters(ActorId{2}, 10)->size(), 1u);
}

TEST(Store, ActorCannotBeRebound) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.actors = {{"crm", 0}, {"erp", 1}};
  applyOk(*store, b);
  applyOk(*store, b);  // same registry again is fine
  Batch moved;
  moved.actors = {{"crm", 3}};
  auto r = store->apply(moved);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "state: apply: actor \"crm\" is already id 0, cannot become 3");
  Batch stolen;
  stolen.actors = {{"fin", 1}};
  r = store->apply(stolen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: apply: actor id 1 already belongs to \"erp\", cannot name it \"fin\"");
}

TEST(Store, SnapshotDoesNotSeeLaterBatches) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.records = {sampleRecord("r-1", 1)};
  applyOk(*store, b);
  auto before = store->read();
  ASSERT_TRUE(before);
  Batch update;
  update.records = {sampleRecord("r-1", 2), sampleRecord("r-2", 1)};
  applyOk(*store, update);
  EXPECT_EQ(**before->record("r-1"), sampleRecord("r-1", 1));
  EXPECT_FALSE(before->record("r-2")->has_value());
  EXPECT_EQ(**store->read()->record("r-1"), sampleRecord("r-1", 2));
}

TEST(Store, EmptyStoreReadsAsEmpty) {
  TempDir dir;
  auto store = openStore(dir);
  auto snap = store->read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->clock()->get(0), 0u);
  EXPECT_TRUE(snap->actors()->empty());
  EXPECT_TRUE(snap->dueOutbox(INT64_MAX - 1, 10)->empty());
  EXPECT_TRUE(snap->openConflicts(10)->empty());
  EXPECT_EQ(*snap->recordCount(), 0u);
  EXPECT_TRUE(Batch{}.empty());
}

}  // namespace
}  // namespace tandem::state
