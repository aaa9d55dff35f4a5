#include "agent/connector/cursor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tandem::agent::connector {
namespace {

constexpr int kVersion = 1;

Status readInt(const rapidjson::Value& obj, const char* key, int64_t& out, const char* where) {
  const auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) {
    return {};
  }
  if (!it->value.IsInt64()) {
    return fail(std::string(where) + ": \"" + key + "\" must be an integer");
  }
  out = it->value.GetInt64();
  return {};
}

Status readString(const rapidjson::Value& obj, const char* key, std::string& out,
                  const char* where) {
  const auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) {
    return {};
  }
  if (!it->value.IsString()) {
    return fail(std::string(where) + ": \"" + key + "\" must be a string");
  }
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return {};
}

}  // namespace

void FeedCursor::remember(const std::string& id, int64_t updated_ms, uint64_t hash) {
  seen[id] = Seen{updated_ms, hash, next_order++};
}

void FeedCursor::endPass() {
  pass_open = false;
  pass_at_ms.reset();
  pass_hw_ms = 0;
}

void FeedCursor::pruneBelow(int64_t ms) {
  if (recheck_ms) {
    ms = std::min(ms, *recheck_ms);  // the next pass reads that second again
  }
  std::erase_if(seen, [ms](const auto& entry) { return entry.second.updated_ms < ms; });
}

void FeedCursor::capSeen(size_t cap) {
  if (seen.size() <= cap) {
    return;
  }
  using Entry = std::pair<int64_t, uint64_t>;  // (updated, order): unique through order
  std::vector<Entry> ages;
  ages.reserve(seen.size());
  for (const auto& [id, entry] : seen) {
    ages.emplace_back(entry.updated_ms, entry.order);
  }
  const size_t drop = seen.size() - cap;
  std::nth_element(ages.begin(), ages.begin() + static_cast<std::ptrdiff_t>(drop - 1), ages.end());
  const Entry last_dropped = ages[drop - 1];
  std::erase_if(seen, [&last_dropped](const auto& entry) {
    return Entry{entry.second.updated_ms, entry.second.order} <= last_dropped;
  });
}

std::string encodeCursor(const FeedCursor& c) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("v");
  w.Int(kVersion);
  w.Key("since");
  w.Int64(c.since_ms);
  if (!c.token.empty()) {
    w.Key("token");
    w.String(c.token.c_str(), static_cast<rapidjson::SizeType>(c.token.size()));
  }
  w.Key("hw");
  w.Int64(c.high_water_ms);
  w.Key("seen");
  w.StartObject();
  // Oldest first (updated time, then the order reported): decoding numbers them in this order.
  std::vector<const std::pair<const std::string, Seen>*> entries;
  entries.reserve(c.seen.size());
  for (const auto& entry : c.seen) {
    entries.push_back(&entry);
  }
  std::sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
    return std::pair{a->second.updated_ms, a->second.order} <
           std::pair{b->second.updated_ms, b->second.order};
  });
  for (const auto* entry : entries) {
    const std::string& id = entry->first;
    w.Key(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
    w.StartArray();
    w.Int64(entry->second.updated_ms);
    w.Uint64(entry->second.hash);
    w.EndArray();
  }
  w.EndObject();
  if (c.capped) {
    w.Key("capped");
    w.Bool(true);
  }
  if (c.dense_ms) {
    w.Key("dense");
    w.Int64(*c.dense_ms);
  }
  if (c.floor_ms != 0) {
    w.Key("floor");
    w.Int64(c.floor_ms);
  }
  if (c.recheck_ms) {
    w.Key("recheck");
    w.Int64(*c.recheck_ms);
  }
  // Always written: its absence marks a cursor from before settled time (see decodeCursor).
  w.Key("settled");
  w.Int64(c.settled_ms);
  if (c.pass_open) {
    w.Key("pass");
    if (c.pass_at_ms) {
      w.Int64(*c.pass_at_ms);
    } else {
      w.Null();
    }
    if (c.pass_hw_ms != 0) {
      w.Key("pass_hw");
      w.Int64(c.pass_hw_ms);
    }
  }
  if (c.scan) {
    const FeedScan& s = *c.scan;
    w.Key("scan");
    w.StartObject();
    w.Key("since");
    w.Int64(s.since_ms);
    w.Key("token");
    w.String(s.token.c_str(), static_cast<rapidjson::SizeType>(s.token.size()));
    w.Key("page");
    w.Int64(s.page);
    w.Key("offset");
    w.Int64(s.offset);
    w.Key("after");
    w.String(s.after.c_str(), static_cast<rapidjson::SizeType>(s.after.size()));
    w.Key("next");
    w.String(s.next_url.c_str(), static_cast<rapidjson::SizeType>(s.next_url.size()));
    w.Key("count");
    w.Int64(s.count);
    w.EndObject();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Result<FeedCursor> decodeCursor(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return fail("cursor is not a JSON object: " + std::string(text.substr(0, 80)));
  }
  const auto v = doc.FindMember("v");
  if (v == doc.MemberEnd() || !v->value.IsInt() || v->value.GetInt() != kVersion) {
    return fail("cursor: unknown version (expected \"v\":1)");
  }
  FeedCursor c;
  if (auto ok = readInt(doc, "since", c.since_ms, "cursor"); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = readString(doc, "token", c.token, "cursor"); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = readInt(doc, "hw", c.high_water_ms, "cursor"); !ok) {
    return std::unexpected(ok.error());
  }
  if (const auto capped = doc.FindMember("capped"); capped != doc.MemberEnd()) {
    if (!capped->value.IsBool()) {
      return fail("cursor: \"capped\" must be a bool");
    }
    c.capped = capped->value.GetBool();
  }
  if (doc.HasMember("dense")) {
    int64_t dense = 0;
    if (auto ok = readInt(doc, "dense", dense, "cursor"); !ok) {
      return std::unexpected(ok.error());
    }
    c.dense_ms = dense;
  }
  if (auto ok = readInt(doc, "floor", c.floor_ms, "cursor"); !ok) {
    return std::unexpected(ok.error());
  }
  if (doc.HasMember("recheck")) {
    int64_t recheck = 0;
    if (auto ok = readInt(doc, "recheck", recheck, "cursor"); !ok) {
      return std::unexpected(ok.error());
    }
    c.recheck_ms = recheck;
  }
  if (doc.HasMember("settled")) {
    if (auto ok = readInt(doc, "settled", c.settled_ms, "cursor"); !ok) {
      return std::unexpected(ok.error());
    }
    if (const auto pass = doc.FindMember("pass"); pass != doc.MemberEnd()) {
      if (!pass->value.IsNull() && !pass->value.IsInt64()) {
        return fail("cursor: \"pass\" must be an integer or null");
      }
      c.pass_open = true;
      if (pass->value.IsInt64()) {
        c.pass_at_ms = pass->value.GetInt64();
      }
      if (auto ok = readInt(doc, "pass_hw", c.pass_hw_ms, "cursor"); !ok) {
        return std::unexpected(ok.error());
      }
    }
  } else {
    // Written before settled time: nothing is settled, and whether a pass is under way (and
    // since when) is not known, so the one under way settles nothing.
    c.pass_open = true;
  }
  const auto seen = doc.FindMember("seen");
  if (seen != doc.MemberEnd()) {
    const char* bad = "cursor: \"seen\" must map ids to [updated, hash]";
    if (!seen->value.IsObject()) {
      return fail(bad);
    }
    for (auto it = seen->value.MemberBegin(); it != seen->value.MemberEnd(); ++it) {
      const rapidjson::Value& e = it->value;
      if (!e.IsArray() || e.Size() != 2 || !e[0].IsInt64() || !e[1].IsUint64()) {
        return fail(bad);
      }
      c.seen.emplace(std::string(it->name.GetString(), it->name.GetStringLength()),
                     Seen{e[0].GetInt64(), e[1].GetUint64(), c.next_order++});
    }
  }
  const auto scan = doc.FindMember("scan");
  if (scan != doc.MemberEnd()) {
    if (!scan->value.IsObject()) {
      return fail("cursor: \"scan\" must be an object");
    }
    FeedScan s;
    const rapidjson::Value& o = scan->value;
    for (auto ok :
         {readInt(o, "since", s.since_ms, "cursor scan"),
          readString(o, "token", s.token, "cursor scan"), readInt(o, "page", s.page, "cursor scan"),
          readInt(o, "offset", s.offset, "cursor scan"),
          readString(o, "after", s.after, "cursor scan"),
          readString(o, "next", s.next_url, "cursor scan"),
          readInt(o, "count", s.count, "cursor scan")}) {
      if (!ok) {
        return std::unexpected(ok.error());
      }
    }
    c.scan = std::move(s);
  }
  return c;
}

}  // namespace tandem::agent::connector
