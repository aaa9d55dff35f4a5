#include "mappers/record_json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
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
  rapidjson::ParseResult result;
  Stop stop = Stop::None;
  size_t end = 0;
  auto generate = [&](rapidjson::Document& d) {
    rapidjson::MemoryStream ms(text.data(), text.size());
    rapidjson::Reader reader;
    LimitedHandler h(d, limits);
    result =
        reader.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag>(ms,
                                                                                                h);
    stop = h.stop();
    end = ms.Tell();
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
    if (result.Code() == rapidjson::kParseErrorStringInvalidEncoding) {
      return fail("record: invalid UTF-8 in string" + at);
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
