#pragma once

// The feed cursor, opaque to the runtime and stored as JSON text:
//   {"v":1,"since":<ms>,"token":"..","hw":<ms>,"seen":{"<id>":[<updated ms>,<body hash>],..},
//    "capped":true,"dense":<ms>,"floor":<ms>,
//    "scan":{"since":<ms>,"token":"..","page":N,"offset":N,"after":"..","next":"..","count":N}}
// `seen` holds every record at or after the start of the next query's window with the updated
// time and body hash it was reported at, so the overlap window is re-read without reporting
// twice, while a second change within the same (whole-second) updated time is still reported;
// `scan` is present while the pages of one query are being read; with `dense` they are the pages
// of the feed's dense_fallback reading that one second. `floor`: the end of the last second read
// by the fallback; the window does not step back behind it once a later change showed that the
// second is over.

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

struct Seen {
  int64_t updated_ms = 0;
  uint64_t hash = 0;  // FNV-1a 64 of the record's JSON text
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

  // Forgets records that no later query can return again.
  void pruneBelow(int64_t ms);
};

std::string encodeCursor(const FeedCursor& cursor);
// Errors: `cursor is not a JSON object: ...`, `cursor: "seen" must map ids to [updated, hash]`.
Result<FeedCursor> decodeCursor(std::string_view text);

}  // namespace tandem::agent::connector
