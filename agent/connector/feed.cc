// fetchChanges: one page per call. Since comes from the highest updated time seen (minus the
// overlap window, floored to whole seconds, so records sharing a second or back-dated behind
// the cursor are re-read) or from an opaque since-token; what the cursor has already reported
// (id → updated, body hash) is not reported again. Paging: body token and next URL (restarted
// from the last updated time when that moves on: keyset paging), offset/limit (each page starts
// a few records early), starting after. A query that reaches the system's cap (max_results) is
// narrowed to start at the last updated time it returned and repeated, so nothing past the cap
// is lost. When more records share one updated second than the cap, the window cannot be
// narrowed: the feed's dense_fallback (a second, pageable request) reads that whole second and
// the feed goes on after it, once the system's clock is past that second plus the overlap (before,
// the pass stops at the second: see cursor.h on dense seconds). The window start is whole seconds
// because systems with second-precision clocks read `since` that way too. Feeds read by updated
// time must return records oldest first.
//
// Settled time: a pass (one full read from `since` to the end of the feed, across keyset
// restarts, narrowing and the dense fallback) remembers the system's clock when its first page was
// answered: T = Date header − round trip, at or before the moment the system read its data. When
// the pass ends, everything updated at or before min(T − overlap_ms, end of the high-water second)
// is settled and the next query starts just after that, if that is later than the overlap window.
// It cannot skip a record: overlap_ms promises that a change is visible at most that long after
// its updated time, so a version updated at or before T − overlap_ms was visible at T, before any
// page of the pass was read; every page was read later and the pages together cover every updated
// time from the pass's start (sorted, keyset restarts at the last time read, offset pages starting
// early, whole dense seconds), so the pass returned it (or, if it was edited meanwhile, its newer
// version has an updated time after T − overlap_ms and is read by the next query). What lies
// before the pass's start was in hand before it. A version updated after the settled point is at or
// after the next query's start; a whole-second `since` rounds that start down, reading more, never
// less. Without a Date nothing settles and the window is what it always was. `seen` is capped
// (cursor.h): a dropped entry only means a possible re-report, never a loop, because every query
// moves on by updated time and paging, not by what `seen` holds.
#include <algorithm>
#include <chrono>
#include <string>

#include <rapidjson/document.h>
#include <xxhash.h>

#include "agent/connector/connector_impl.h"
#include "agent/connector/cursor.h"
#include "agent/connector/json_util.h"
#include "agent/connector/records.h"
#include "agent/sync/retry_after.h"
#include "mappers/transforms.h"

namespace tandem::agent::connector {
namespace {

int64_t floorSecond(int64_t ms) {
  return ms - (((ms % 1000) + 1000) % 1000);
}

// How long after its updated time a change may take to show in the feed (never negative).
int64_t overlapMs(const mappers::FeedSpec& feed) {
  return std::max<int64_t>(feed.overlap_ms, 0);
}

// Where the next full query starts: the overlap window behind the high-water mark, whole
// seconds, one second earlier again for an exclusive `since`.
int64_t windowStart(const mappers::FeedSpec& feed, int64_t high_water_ms) {
  if (high_water_ms <= 0) {
    return 0;
  }
  const int64_t start =
      floorSecond(high_water_ms - overlapMs(feed)) - (feed.since_inclusive ? 0 : 1000);
  return std::max<int64_t>(start, 0);
}

// Whether, at `clock_ms` on the system's clock, every change stamped with the second starting at
// `second` was visible: the clock is past the end of that second plus the overlap (the promise
// that a change shows in the feed at most overlap_ms after its updated time).
bool secondCompleteAt(const mappers::FeedSpec& feed, int64_t clock_ms, int64_t second) {
  return clock_ms - overlapMs(feed) >= second + 999;
}

// A pass whose first page the system answered at `pass_at_ms` (its clock) has everything updated
// up to that time minus the overlap in hand, as far as it read: up to `read_to`.
void settlePass(FeedCursor& cursor, const mappers::FeedSpec& feed, int64_t pass_at_ms,
                int64_t read_to) {
  cursor.settled_ms = std::max(cursor.settled_ms, std::min(pass_at_ms - overlapMs(feed), read_to));
}

// When the system answered, on its own clock: the answer's Date (whole seconds, so at or before
// the moment it was sent) minus the round trip, so at or before the moment the system read the
// data it answered with. nullopt without a (readable) Date.
std::optional<int64_t> snapshotTime(const net::HttpResponse& answer,
                                    std::chrono::steady_clock::duration round_trip) {
  const auto date = sync::parseHttpDateMs(answer.header("Date"));
  if (!date) {
    return std::nullopt;
  }
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(round_trip).count();
  return *date - std::max<int64_t>(1, (us + 999) / 1000);
}

// Tells a second change within the same updated time (whole-second clocks) from a re-read of the
// same version: XXH3 over a compact binary form of the record (type tags, lengths, raw numbers),
// written into one reused buffer. (It used to write the record out as JSON text and run FNV-1a
// over it byte by byte: 8% of the agent's CPU in a bulk load.)
void appendForHash(std::string& out, const rapidjson::Value& v) {
  const auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  const auto text = [&](const char* s, rapidjson::SizeType n) {
    put(&n, sizeof n);
    put(s, n);
  };
  switch (v.GetType()) {
    case rapidjson::kObjectType: {
      out.push_back('o');
      const rapidjson::SizeType n = v.MemberCount();
      put(&n, sizeof n);
      for (const auto& m : v.GetObject()) {
        text(m.name.GetString(), m.name.GetStringLength());
        appendForHash(out, m.value);
      }
      break;
    }
    case rapidjson::kArrayType: {
      out.push_back('a');
      const rapidjson::SizeType n = v.Size();
      put(&n, sizeof n);
      for (const auto& e : v.GetArray()) {
        appendForHash(out, e);
      }
      break;
    }
    case rapidjson::kStringType:
      out.push_back('s');
      text(v.GetString(), v.GetStringLength());
      break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        out.push_back('i');
        const int64_t i = v.GetInt64();
        put(&i, sizeof i);
      } else if (v.IsUint64()) {
        out.push_back('u');
        const uint64_t u = v.GetUint64();
        put(&u, sizeof u);
      } else {
        out.push_back('d');
        const double d = v.GetDouble();
        put(&d, sizeof d);
      }
      break;
    case rapidjson::kTrueType:
      out.push_back('t');
      break;
    case rapidjson::kFalseType:
      out.push_back('f');
      break;
    case rapidjson::kNullType:
      out.push_back('n');
      break;
  }
}

uint64_t bodyHash(const rapidjson::Value& record) {
  thread_local std::string buf;
  buf.clear();
  appendForHash(buf, record);
  return XXH3_64bits(buf.data(), buf.size());
}

// The records array of a page. Absent while its parent exists means an empty page (QuickBooks
// leaves "Customer" out when nothing changed).
Result<const rapidjson::Value*> recordsOf(const rapidjson::Value& doc, const std::string& pointer) {
  static const rapidjson::Value kEmpty(rapidjson::kArrayType);
  const rapidjson::Value* records = valueAt(doc, pointer);
  if (records == nullptr) {
    const size_t slash = pointer.rfind('/');
    const rapidjson::Value* parent =
        slash == std::string::npos ? nullptr : valueAt(doc, pointer.substr(0, slash));
    if (parent != nullptr && parent->IsObject()) {
      return &kEmpty;
    }
    return fail("records at \"" + pointer + "\" are missing");
  }
  if (!records->IsArray()) {
    return fail("records at \"" + pointer + "\" is not an array (got " + jsonTypeName(*records) +
                ")");
  }
  return records;
}

}  // namespace

boost::asio::awaitable<Result<FeedBatch>> ConnectorImpl::fetchChanges(
    std::optional<std::string> cursor_text) {
  const mappers::FeedSpec& feed = spec_.feed;
  const bool by_token = feed.since_source == mappers::SinceSource::Token;
  FeedCursor cursor;
  if (cursor_text && kept_cursor_ && *cursor_text == kept_cursor_text_) {
    cursor = std::move(*kept_cursor_);
  } else if (cursor_text) {
    auto decoded = decodeCursor(*cursor_text);
    if (!decoded) {
      co_return failWith(where("feed"), decoded.error());
    }
    cursor = std::move(*decoded);
  }
  kept_cursor_.reset();  // taken, or stale; a failed page keeps none
  if (cursor.dense_ms && !feed.dense_fallback) {
    // The fallback was configured when this cursor was stored and is not any more: read the
    // second through the feed again (it fails there with the error naming the option).
    cursor.since_ms = *cursor.dense_ms;
    cursor.dense_ms.reset();
    cursor.scan.reset();
  }
  if (!cursor.scan) {
    cursor.scan.emplace();
    cursor.scan->since_ms = cursor.since_ms;
    cursor.scan->token = cursor.token;
  }
  // A page of the feed, or of its dense fallback reading the second [dense, dense + 1 s): the
  // same request rendering, records, de-duplication and paging, with the fallback's request,
  // records pointer and paging.
  const std::optional<int64_t> dense = cursor.dense_ms;
  const mappers::DenseFallback* fallback = dense ? &*feed.dense_fallback : nullptr;
  const mappers::Paging& paging = fallback ? fallback->paging : feed.paging;
  const std::string& records_pointer = fallback ? fallback->records_pointer : feed.records_pointer;
  FeedScan& scan = *cursor.scan;
  const int64_t page = scan.page + 1;
  const std::string context =
      where("feed") +
      (dense ? " dense_fallback " + mappers::formatTime(*dense, mappers::TimeFormat::Rfc3339)
             : "") +
      ": page " + std::to_string(page);

  TemplateValues vals = values();
  if (dense) {
    vals.set("from", mappers::formatTime(*dense, fallback->format));
    vals.set("to", mappers::formatTime(*dense + 1000, fallback->format));
  } else if (by_token) {
    if (!scan.token.empty()) {
      vals.set("since", scan.token);
    }
  } else {
    vals.set("since", mappers::formatTime(scan.since_ms, feed.since_format));
  }
  vals.set("limit", std::to_string(paging.limit), true);
  vals.set("offset", std::to_string(scan.offset + paging.offset_base), true);
  if (!scan.after.empty()) {
    vals.set("after", scan.after);
  }
  auto request = renderRequest(system_, fallback ? fallback->request : feed.request, vals);
  if (!request) {
    co_return failWith(context, request.error());
  }
  if (paging.kind == mappers::PagingKind::NextUrl && !scan.next_url.empty()) {
    request->target = resolveUrl(scan.next_url);
  }
  const auto sent = std::chrono::steady_clock::now();
  auto answer = co_await channel_.send("feed", std::move(*request));
  const auto round_trip = std::chrono::steady_clock::now() - sent;
  if (!answer) {
    co_return fail(context + ": " + answer.error().message);
  }
  if (answer->status < 200 || answer->status >= 300) {
    co_return fail(context + ": HTTP " + std::to_string(answer->status) + ": " +
                   systemErrorText(*answer));
  }
  auto doc = parseAnswer(answer->body);
  if (!doc) {
    co_return failWith(context, doc.error());
  }
  auto records = recordsOf(*doc, records_pointer);
  if (!records) {
    co_return failWith(context, records.error());
  }
  const rapidjson::Value& array = **records;
  if (!by_token && !cursor.pass_open) {
    // The first page of a pass: what the system had when it answered is what the pass covers.
    cursor.pass_open = true;
    cursor.pass_at_ms = snapshotTime(*answer, round_trip);
    cursor.pass_hw_ms = cursor.high_water_ms;
  }

  FeedBatch batch;
  int64_t page_max = 0;
  std::string last_id;
  // The run of records at the end of the page that share one updated time (an unreadable one
  // breaks it): a restarted offset query skips those it returns first again.
  int64_t tail_ms = 0;
  int64_t tail_run = 0;
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    NativeRecord rec = readRecord(spec_.pointers, array[i]);
    last_id = rec.id;
    if (rec.error.empty() && rec.updated_ms > 0 && rec.updated_ms == tail_ms) {
      ++tail_run;
    } else {
      tail_ms = rec.error.empty() ? rec.updated_ms : 0;
      tail_run = tail_ms > 0 ? 1 : 0;
    }
    if (!rec.error.empty()) {
      rec.error = context + ": record " + std::to_string(i + 1) +
                  (rec.id.empty() ? "" : " (id " + rec.id + ")") + ": " + rec.error;
      batch.records.push_back(std::move(rec));
      continue;
    }
    if (!by_token && rec.updated_ms > 0) {
      page_max = std::max(page_max, rec.updated_ms);
      cursor.high_water_ms = std::max(cursor.high_water_ms, rec.updated_ms);
      const uint64_t hash = bodyHash(array[i]);
      const auto seen = cursor.seen.find(rec.id);
      if (seen != cursor.seen.end() &&
          (seen->second.updated_ms > rec.updated_ms ||
           (seen->second.updated_ms == rec.updated_ms && seen->second.hash == hash))) {
        continue;  // already reported, or older than what was reported
      }
      cursor.remember(rec.id, rec.updated_ms, hash);
    }
    batch.records.push_back(std::move(rec));
  }
  const auto n = static_cast<int64_t>(array.Size());
  scan.count += n;
  if (!dense && !feed.total_pointer.empty()) {
    if (const rapidjson::Value* total = valueAt(*doc, feed.total_pointer);
        total != nullptr && total->IsNumber()) {
      const int64_t all = total->IsInt64() ? total->GetInt64() : 0;
      batch.remaining = static_cast<uint64_t>(std::max<int64_t>(0, all - scan.count));
    }
  }
  scan.page = page;

  bool has_next = false;
  FeedScan next = scan;
  switch (paging.kind) {
    case mappers::PagingKind::None:
      break;
    case mappers::PagingKind::BodyToken:
    case mappers::PagingKind::NextUrl: {
      const bool token = paging.kind == mappers::PagingKind::BodyToken;
      const rapidjson::Value* v =
          valueAt(*doc, token ? paging.token_pointer : paging.next_url_pointer);
      const auto text = v == nullptr ? std::nullopt : scalarText(*v);
      if (text && !text->empty()) {
        has_next = true;
        (token ? next.after : next.next_url) = *text;
      }
      break;
    }
    case mappers::PagingKind::OffsetLimit:
    case mappers::PagingKind::StartingAfter: {
      const rapidjson::Value* flag =
          paging.has_more_pointer.empty() ? nullptr : valueAt(*doc, paging.has_more_pointer);
      has_next = flag != nullptr && flag->IsBool() ? flag->GetBool() : n >= paging.limit;
      has_next = has_next && n > 0;
      // Offsets shift while a scan runs: a record edited before the page boundary moves to the
      // end (its updated time is new) and everything behind it moves one place up, so the next
      // page starts a few records early; what was already reported is skipped.
      const int64_t reread = paging.kind == mappers::PagingKind::OffsetLimit
                                 ? std::min<int64_t>(n - 1, std::max<int64_t>(1, paging.limit / 10))
                                 : 0;
      next.offset += n - std::max<int64_t>(reread, 0);
      next.after = last_id;
      if (has_next && paging.kind == mappers::PagingKind::StartingAfter && last_id.empty()) {
        co_return fail(context + ": cannot page on: the last record has no id");
      }
      break;
    }
  }
  std::string new_token;
  if (by_token && !feed.token_pointer.empty()) {
    if (const rapidjson::Value* v = valueAt(*doc, feed.token_pointer)) {
      new_token = scalarText(*v).value_or("");
    }
  }

  if (dense) {
    if (!has_next && scan.count == 0) {
      // The feed just returned a full cap of records in this second: an empty answer means the
      // request does not select them (time format of {from} and {to}, archived records left
      // out). Going on would skip the second silently.
      co_return fail(context +
                     ": the dense fallback returned no records for a second in which "
                     "the feed reached its cap of " +
                     std::to_string(feed.paging.max_results) +
                     "; check that its request selects that second");
    }
    if (has_next) {
      *cursor.scan = std::move(next);
      cursor.pruneBelow(std::min(*dense, windowStart(feed, cursor.high_water_ms)));
    } else {
      // The whole second has been read: this pass goes on after it. If the system's clock was
      // past the second plus the overlap when the pass began, nothing can be added to it any
      // more and the window never steps back into it (cursor.floor_ms); else the next pass reads
      // it again (cursor.recheck_ms), as a person may have changed a record in it since.
      const int64_t after = feed.since_inclusive ? *dense + 1000 : *dense + 999;
      cursor.since_ms = after;
      const int64_t pass_clock = std::max(cursor.pass_at_ms.value_or(0), cursor.pass_hw_ms);
      if (cursor.pass_open && secondCompleteAt(feed, pass_clock, *dense)) {
        cursor.floor_ms = std::max(cursor.floor_ms, after);
      } else {
        cursor.recheck_ms = std::min(cursor.recheck_ms.value_or(*dense), *dense);
      }
      cursor.capped = true;
      cursor.dense_ms.reset();
      cursor.scan.reset();
      cursor.pruneBelow(std::min(*dense, windowStart(feed, cursor.high_water_ms)));
    }
    batch.more = true;
    cursor.capSeen();
    batch.cursor = encodeCursor(cursor);
    keepCursor(*batch.cursor, std::move(cursor));
    co_return batch;
  }

  // A query restarted after this page begins at its last updated time (for an exclusive since,
  // just before its second, so second-precision systems include it too).
  const int64_t restart_at = feed.since_inclusive ? page_max : floorSecond(page_max) - 1;
  const bool can_restart = !by_token && page_max > 0 && restart_at > scan.since_ms;
  bool capped = false;
  if (paging.max_results > 0 && !by_token) {
    capped = paging.kind == mappers::PagingKind::None
                 ? n >= paging.max_results
                 : has_next && scan.count + paging.limit > paging.max_results;
  }
  // Tokens and next links of search APIs are offsets in disguise: a record edited mid-scan
  // moves to the end and shifts the rest, so one could slip between pages. Restarting from the
  // last updated time instead (keyset paging) cannot skip; the token is only followed while a
  // page does not get past one updated time.
  // Offsets are restarted the same way: an offset deep into a long query costs the system a walk
  // past every record before it (SQL OFFSET, Odoo's search_read), so a bulk load read from one
  // `since` costs time quadratic in its size. The restarted query returns the page's last
  // updated time first: the records of the page's tail run are skipped again, less the margin.
  const bool keyset = has_next && can_restart &&
                      (paging.kind == mappers::PagingKind::BodyToken ||
                       paging.kind == mappers::PagingKind::NextUrl ||
                       paging.kind == mappers::PagingKind::OffsetLimit);
  if ((capped || keyset) && can_restart) {
    // Everything up to the last updated time returned is in hand; what the cap (or the next
    // page) holds starts at or after it. Records already reported are skipped.
    cursor.since_ms = restart_at;
    cursor.capped = cursor.capped || capped;
    cursor.scan.reset();
    if (paging.kind == mappers::PagingKind::OffsetLimit && tail_ms == page_max) {
      // The restarted query (sorted by updated time) begins with what lies at or after its
      // since: at least this tail run, read already. A whole-second since, or an exclusive one,
      // returns some earlier records before it, so fewer are skipped than could be, never more.
      const int64_t skip = tail_run - std::max<int64_t>(1, paging.limit / 10);
      if (skip > 0) {
        cursor.scan.emplace();
        cursor.scan->since_ms = restart_at;
        cursor.scan->token = cursor.token;
        cursor.scan->offset = skip;
        cursor.scan->count = skip;  // a cap counts from the query's first record
      }
    }
    // A system may read `since` in whole seconds: keep what it can send again.
    cursor.pruneBelow(std::min(floorSecond(restart_at), windowStart(feed, cursor.high_water_ms)));
    batch.more = true;
  } else if (capped && !(has_next && scan.count < paging.max_results)) {
    if (!feed.dense_fallback || page_max <= 0) {
      co_return fail(context + ": " + std::to_string(scan.count) +
                     " records reached the feed's cap of " + std::to_string(paging.max_results) +
                     " at or after " +
                     mappers::formatTime(scan.since_ms, mappers::TimeFormat::Rfc3339) +
                     " without a later updated time; the window cannot be narrowed further " +
                     (feed.dense_fallback
                          ? std::string("and no record has an updated time for the dense fallback")
                          : std::string("(a feed.dense_fallback request would read that second "
                                        "page by page)")));
    }
    const int64_t second = floorSecond(page_max);
    if (cursor.pass_at_ms && !secondCompleteAt(feed, *cursor.pass_at_ms, second)) {
      // More records share one updated second than the feed returns, and by the system's Date
      // when this pass began that second may still be filling (a bulk create in progress): read
      // through the fallback now, it would have to be read again. The pass ends here and a later
      // one, begun once the second plus the overlap is past, reads it whole. What this page
      // reported is in `seen`; nothing at or after the second is settled.
      cursor.since_ms = feed.since_inclusive ? second : second - 1;
      cursor.capped = false;
      settlePass(cursor, feed, *cursor.pass_at_ms, second - 1);
      cursor.endPass();
      cursor.scan.reset();
      cursor.pruneBelow(std::min(second, windowStart(feed, cursor.high_water_ms)));
      batch.more = false;
    } else {
      // More records share one updated second than the feed returns: read that whole second
      // through the fallback, page by page, from the next call on. What this page reported is
      // in `seen` and is not reported again.
      cursor.dense_ms = second;
      cursor.scan.emplace();
      cursor.scan->since_ms = *cursor.dense_ms;
      cursor.pruneBelow(std::min(*cursor.dense_ms, windowStart(feed, cursor.high_water_ms)));
      batch.more = true;
    }
  } else if (has_next) {
    *cursor.scan = std::move(next);
    if (!by_token) {
      cursor.pruneBelow(std::min(floorSecond(page_max), windowStart(feed, cursor.high_water_ms)));
    }
    batch.more = true;
  } else if (by_token) {
    if (!new_token.empty()) {
      cursor.token = new_token;
    }
    cursor.seen.clear();
    cursor.scan.reset();
  } else {
    // After a cap the query does not step back behind where it was narrowed to: the window
    // before it was read completely, and stepping back would hit the cap again.
    const int64_t window = windowStart(feed, cursor.high_water_ms);
    cursor.since_ms = cursor.capped ? std::max(window, scan.since_ms) : window;
    cursor.capped = false;
    // Keep what the next query (from the overlap window) can return again.
    int64_t keep_from = std::min(cursor.since_ms, window);
    if (cursor.floor_ms > 0) {
      if (window >= cursor.floor_ms) {
        cursor.floor_ms = 0;  // the overlap window has moved past the last dense second
      } else {
        // The dense second was read when it was complete: reading it again (through the
        // fallback, page by page) would only repeat what is in hand.
        cursor.since_ms = std::max(cursor.since_ms, cursor.floor_ms);
        keep_from = cursor.since_ms;
      }
    }
    if (cursor.recheck_ms) {
      // A dense second read before it was known to be complete: the next pass reads it again
      // (through the fallback, reporting only what `seen` does not hold).
      const int64_t start = feed.since_inclusive ? *cursor.recheck_ms : *cursor.recheck_ms - 1;
      cursor.since_ms = std::min(cursor.since_ms, start);
      keep_from = std::min(keep_from, *cursor.recheck_ms);
      cursor.recheck_ms.reset();
    }
    // The pass is complete: what it covered up to its settled point is in hand for good, and no
    // later query starts before just after that point (cursor.h says why nothing is skipped).
    if (cursor.pass_at_ms && cursor.high_water_ms > 0) {
      settlePass(cursor, feed, *cursor.pass_at_ms, floorSecond(cursor.high_water_ms) + 999);
    }
    cursor.endPass();
    if (cursor.settled_ms > 0) {
      const int64_t settled_start = cursor.settled_ms + (feed.since_inclusive ? 1 : 0);
      if (settled_start > cursor.since_ms) {
        cursor.since_ms = settled_start;
      }
      keep_from = std::max(keep_from, settled_start);
      if (cursor.floor_ms > 0 && settled_start >= cursor.floor_ms) {
        // No query starts before the settled point any more: it keeps the window out of the
        // last dense second from now on.
        cursor.floor_ms = 0;
      }
    }
    cursor.pruneBelow(floorSecond(keep_from));
    cursor.scan.reset();
  }
  if (!by_token) {
    cursor.capSeen();
  }
  batch.cursor = encodeCursor(cursor);
  keepCursor(*batch.cursor, std::move(cursor));
  co_return batch;
}

void ConnectorImpl::keepCursor(const std::string& text, FeedCursor cursor) {
  kept_cursor_text_ = text;
  kept_cursor_ = std::move(cursor);
}

}  // namespace tandem::agent::connector
