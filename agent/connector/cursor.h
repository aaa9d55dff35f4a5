#pragma once

// The feed cursor, opaque to the runtime and stored as JSON text:
//   {"v":1,"since":<ms>,"token":"..","hw":<ms>,"seen":{"<id>":[<updated ms>,<body hash>],..},
//    "capped":true,"dense":<ms>,"floor":<ms>,"recheck":<ms>,"settled":<ms>,"pass":<ms>|null,
//    "pass_hw":<ms>,
//    "scan":{"since":<ms>,"token":"..","page":N,"offset":N,"after":"..","next":"..","count":N}}
// `seen` holds records at or after the start of the next query's window with the updated time
// and body hash they were reported at, so the overlap window is re-read without reporting twice,
// while a second change within the same (whole-second) updated time is still reported. It is
// bounded (kSeenCap, oldest updated time dropped first; written oldest first, so the order in
// which entries were reported survives encoding): dropping an entry only means that record may
// be reported again if a later query returns it, which the merge core ignores (older or
// identical content changes nothing). No progress depends on `seen`: queries move on by updated
// time and paging. `scan` is present while the pages of one query are being read; with `dense`
// they are the pages of the feed's dense_fallback reading that one second. A second read by the
// fallback is in hand for good only if it was read when it was complete: when the system's clock
// at the start of the pass (its Date, or the high-water mark the pass began with, `pass_hw`: a
// record updated then was visible before the pass) was past the end of the second plus the
// overlap. With a Date the fallback is not started before that (the pass stops at the second
// and a later one reads it). Then `floor` (the end of that second) keeps the window out of it
// from then on; else (no Date) `recheck` (its start) makes the next pass read it again, until one
// such read is complete. (A change in the next second shows that the second is over, not that the
// fallback, which may have read it before its end, saw all of it.)
//
// Settled time. A pass is one full read of the feed from `since` to its end, across restarts of
// the query (keyset paging, narrowing after a cap) and the dense fallback. `pass` is present
// while one is under way: the system's clock when its first page was answered (the answer's Date
// header minus the round trip of that request, so at or before the moment the system read its
// data), or null when the answer had no Date. `settled`: every record updated at or before it is
// in hand for good (0 = none; absent in cursors written before it existed). When a pass with a
// known time T ends, settled = max(settled, min(T - overlap_ms, end of the high-water second)),
// and the next query starts no earlier than just after it: settled + 1 for an inclusive since,
// settled for an exclusive one (a whole-second since format rounds either down: it reads more,
// never less). A cursor written before settled time has no `settled` key: nothing is settled and
// the pass it may be in counts as one of unknown time. Why this cannot skip a record: the
// overlap is the promise that a change is visible in the feed at most overlap_ms after its
// updated time, so every record (version) updated at or before T - overlap_ms was visible at T,
// before any page of the pass was read. Each page of the pass was read at or after T and the
// pages together cover every updated time from the pass's start on (sorted keyset restarts,
// offset pages starting early, the fallback reading whole seconds), so each such record was
// returned; one edited meanwhile has a new updated time after T - overlap_ms and is read by the
// next query. Records before the pass's start were in hand already (by the same argument for
// earlier passes, or by the overlap window). A version updated later than `settled` is at or
// after the next query's start. Between the high-water mark and the end of its second there is
// nothing the pass missed either: a record updated there and at or before T - overlap_ms would
// have been returned and raised the mark. (The argument needs the pages to be exact: see the
// connector README's known limits for a body token followed within one updated time.) The cap at
// the end of the high-water second keeps the window tied to the records' own times: a system
// whose Date and updated times disagree cannot move the window more than a second past the
// newest record it returned.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "conflict/result.h"

namespace tandem::agent::connector {

struct FeedScan {
  int64_t since_ms = 0;
  std::string token;     // SinceSource::Token: the since-token this scan started from
  int64_t page = 0;      // pages read so far
  int64_t offset = 0;    // OffsetLimit
  std::string after;     // BodyToken / StartingAfter
  std::string next_url;  // NextUrl
  int64_t count = 0;     // records returned by this query so far (max_results)
};

// At most this many `seen` entries are kept (the cursor is encoded with every page).
inline constexpr size_t kSeenCap = 2000;

struct Seen {
  int64_t updated_ms = 0;
  uint64_t hash = 0;   // FNV-1a 64 of the record's JSON text
  uint64_t order = 0;  // when it was reported relative to the others (larger = later)
};

struct FeedCursor {
  int64_t since_ms = 0;  // where the next scan starts (MaxUpdated)
  std::string token;     // the since-token of the next scan (Token); "" = from the start
  int64_t high_water_ms = 0;
  std::map<std::string, Seen, std::less<>> seen;
  std::optional<FeedScan> scan;
  bool capped = false;  // the current query was narrowed after reaching the system's cap
  // The start of the second the dense_fallback is reading (scan holds its paging).
  std::optional<int64_t> dense_ms;
  int64_t floor_ms = 0;  // the window's start stays at or after this; 0 = none
  // The start of a second the fallback read before it was known to be complete: the next pass
  // starts no later than it (and `seen` keeps its records), so it is read again.
  std::optional<int64_t> recheck_ms;
  int64_t settled_ms = 0;             // every record updated at or before this is in hand; 0 = none
  bool pass_open = false;             // a pass is under way (its first page was answered)
  std::optional<int64_t> pass_at_ms;  // the system's time of that first answer; nullopt = unknown
  int64_t pass_hw_ms = 0;             // the high-water mark when the pass began (0 = none)
  uint64_t next_order = 0;            // Seen::order of the next record reported

  // The pass under way is over: forgets when it began.
  void endPass();
  // Records a reported version.
  void remember(const std::string& id, int64_t updated_ms, uint64_t hash);
  // Forgets records that no later query can return again.
  void pruneBelow(int64_t ms);
  // Keeps the `cap` entries with the latest updated times (ties: the latest reported).
  void capSeen(size_t cap = kSeenCap);
};

std::string encodeCursor(const FeedCursor& cursor);
// Errors: `cursor is not a JSON object: ...`, `cursor: "seen" must map ids to [updated, hash]`.
Result<FeedCursor> decodeCursor(std::string_view text);

}  // namespace tandem::agent::connector
