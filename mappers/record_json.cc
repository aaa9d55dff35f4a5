#include "mappers/record_json.h"

#include <cstring>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace tandem::mappers {
namespace {

enum class Stop { None, Depth, String };

// Forwards SAX events to the document, refusing too deep nesting and too long strings.
class LimitedHandler {
 public:
  LimitedHandler(rapidjson::Document& doc, const RecordLimits& limits)
      : doc_(doc), limits_(limits) {}
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool c) { return doc_.RawNumber(s, n, c); }
  bool String(const char* s, rapidjson::SizeType n, bool c) {
    return checkString(n) && doc_.String(s, n, c);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool c) {
    return checkString(n) && doc_.Key(s, n, c);
  }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }
  Stop stop() const { return stop_; }

 private:
  bool enter() {
    if (++depth_ > limits_.max_depth) {
      stop_ = Stop::Depth;
      return false;
    }
    return true;
  }
  bool checkString(rapidjson::SizeType n) {
    if (n > limits_.max_string) {
      stop_ = Stop::String;
      return false;
    }
    return true;
  }
  rapidjson::Document& doc_;
  const RecordLimits& limits_;
  size_t depth_ = 0;
  Stop stop_ = Stop::None;
};

// Offset of the first byte of an invalid UTF-8 sequence (overlong forms, surrogates and code
// points past U+10FFFF are invalid), or npos. ASCII runs are checked eight bytes at a time.
size_t invalidUtf8At(std::string_view t) {
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w = 0;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) {
      return i;
    }
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) {
        return i;
      }
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

Result<rapidjson::Document> parseRecord(std::string_view text, const RecordLimits& limits) {
  rapidjson::Document doc;
  TANDEM_RETURN_IF_ERROR(parseRecordInto(text, doc, limits));
  return doc;
}

Status parseRecordInto(std::string_view text, rapidjson::Document& doc,
                       const RecordLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail("record: " + std::to_string(text.size()) + " bytes is more than the limit of " +
                std::to_string(limits.max_bytes));
  }
  // Validating the whole text up front is several times faster than RapidJSON's per-character
  // validation inside strings, and covers keys and values alike.
  if (size_t bad = invalidUtf8At(text); bad != std::string_view::npos) {
    return fail("record: invalid UTF-8 at offset " + std::to_string(bad));
  }
  rapidjson::ParseResult result;
  Stop stop = Stop::None;
  size_t end = 0;
  auto generate = [&](rapidjson::Document& d) {
    // Parsed in place from a copy kept in the document's own pool: strings are not copied
    // again and live exactly as long as the document.
    auto* copy = static_cast<char*>(d.GetAllocator().Malloc(text.size() + 1));
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    rapidjson::InsituStringStream is(copy);
    rapidjson::Reader reader;
    LimitedHandler h(d, limits);
    result = reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseStopWhenDoneFlag>(is, h);
    stop = h.stop();
    end = is.Tell();
    return !result.IsError();
  };
  doc.Populate(generate);
  if (result.IsError()) {
    std::string at = " at offset " + std::to_string(result.Offset());
    switch (stop) {
      case Stop::Depth:
        return fail("record: nesting deeper than " + std::to_string(limits.max_depth) + " levels" +
                    at);
      case Stop::String:
        return fail("record: string longer than " + std::to_string(limits.max_string) + " bytes" +
                    at);
      case Stop::None:
        break;
    }
    if (result.Code() == rapidjson::kParseErrorNumberTooBig) {
      return fail("record: number too big" + at);
    }
    return fail(std::string("record: ") + rapidjson::GetParseError_En(result.Code()) + at);
  }
  // Only whitespace may follow the value.
  for (size_t i = end; i < text.size(); ++i) {
    char c = text[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      return fail("record: text after the JSON value at offset " + std::to_string(i));
    }
  }
  return {};
}

}  // namespace tandem::mappers
