#pragma once

// The feed cursor, opaque to the runtime and stored as JSON text:
//   {"v":1,"since":<ms>,"token":"..","hw":<ms>,"seen":{"<id>":[<updated ms>,<body hash>],..},
//    "capped":true,"dense":<ms>,"floor":<ms>,
//    "scan":{"since":<ms>,"token":"..","page":N,"offset":N,"after":"..","next":"..","count":N}}
// `seen` holds records at or after the start of the next query's window with the updated time
// and body hash they were reported at, so the overlap window is re-read without reporting twice,
// while a second change within the same (whole-second) updated time is still reported. It is
// bounded (kSeenCap, oldest updated time dropped first; written oldest first, so the order in
// which entries were reported survives encoding): dropping an entry only means that record may
// be reported again if a later query returns it, which the merge core ignores (older or
// identical content changes nothing). No progress depends on `seen`: queries move on by updated
// time and paging. `scan` is present while the pages of one query are being read; with `dense`
// they are the pages of the feed's dense_fallback reading that one second. `floor`: the end of
// the last second read by the fallback; the window does not step back behind it once a later
// change showed that the second is over.

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
  int64_t floor_ms = 0;     // the window's start stays at or after this; 0 = none
  uint64_t next_order = 0;  // Seen::order of the next record reported

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
