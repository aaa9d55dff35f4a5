#pragma once

// The feed cursor, opaque to the runtime and stored as JSON text:
//   {"v":1,"since":<ms>,"token":"..","hw":<ms>,"seen":{"<id>":<updated ms>,..},
//    "scan":{"since":<ms>,"token":"..","page":N,"offset":N,"after":"..","next":"..","count":N}}
// `seen` holds every record at or after the start of the next query's window with the updated
// time it was reported at, so the overlap window is re-read without reporting twice; `scan` is
// present while the pages of one query are being read.

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

struct FeedCursor {
  int64_t since_ms = 0;  // where the next scan starts (MaxUpdated)
  std::string token;     // the since-token of the next scan (Token); "" = from the start
  int64_t high_water_ms = 0;
  std::map<std::string, int64_t, std::less<>> seen;
  std::optional<FeedScan> scan;

  // Forgets records that no later query can return again.
  void pruneBelow(int64_t ms);
};

std::string encodeCursor(const FeedCursor& cursor);
// Errors: `cursor is not JSON`, `cursor: "seen" must be an object of integers`.
Result<FeedCursor> decodeCursor(std::string_view text);

}  // namespace tandem::agent::connector
