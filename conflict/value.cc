#include "conflict/value.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "conflict/bytes.h"

namespace tandem::conflict {

Value Value::boolean(bool b) {
  Value v;
  v.v_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.v_ = i;
  return v;
}

Value Value::number(double d) {
  Value v;
  v.v_ = d == 0.0 ? 0.0 : d;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.v_ = std::move(s);
  return v;
}

Value Value::stringSet(StringSet items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  Value v;
  v.v_ = std::move(items);
  return v;
}

const char* kindName(Value::Kind k) {
  switch (k) {
    case Value::Kind::Null:
      return "null";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "integer";
    case Value::Kind::Number:
      return "number";
    case Value::Kind::String:
      return "string";
    case Value::Kind::StringSet:
      return "string-set";
  }
  return "unknown";
}

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string Value::toJson() const {
  std::string out;
  switch (kind()) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return asBool() ? "true" : "false";
    case Kind::Int:
      return std::to_string(asInt());
    case Kind::Number: {
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof buf, asNumber());
      return std::string(buf, res.ptr);
    }
    case Kind::String:
      appendJsonString(out, asString());
      return out;
    case Kind::StringSet:
      out.push_back('[');
      for (size_t i = 0; i < asStringSet().size(); ++i) {
        if (i) {
          out.push_back(',');
        }
        appendJsonString(out, asStringSet()[i]);
      }
      out.push_back(']');
      return out;
  }
  return out;
}

namespace {

// Writes into a caller's fixed buffer; used by hash() so that hashing a field allocates nothing.
class SpanWriter {
 public:
  explicit SpanWriter(char* out) : out_(out) {}
  void u8(uint8_t v) { out_[n_++] = static_cast<char>(v); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_[n_++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_[n_++] = static_cast<char>(v);
  }
  void svarint(int64_t v) {
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      out_[n_++] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  }
  void str(std::string_view s) {
    varint(s.size());
    std::memcpy(out_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  size_t size() const { return n_; }

 private:
  char* out_;
  size_t n_ = 0;
};

// One encoder for both writers, so the hash is by construction the hash of encode()'s bytes.
template <class W>
void encodeTo(const Value& v, W& w) {
  w.u8(static_cast<uint8_t>(v.kind()));
  switch (v.kind()) {
    case Value::Kind::Null:
      break;
    case Value::Kind::Bool:
      w.u8(v.asBool() ? 1 : 0);
      break;
    case Value::Kind::Int:
      w.svarint(v.asInt());
      break;
    case Value::Kind::Number: {
      uint64_t bits = 0;
      double d = v.asNumber();
      static_assert(sizeof bits == sizeof d);
      std::memcpy(&bits, &d, sizeof bits);
      w.fixed64(bits);
      break;
    }
    case Value::Kind::String:
      w.str(v.asString());
      break;
    case Value::Kind::StringSet:
      w.varint(v.asStringSet().size());
      for (const auto& s : v.asStringSet()) {
        w.str(s);
      }
      break;
  }
}

// An upper bound of the encoded size.
size_t encodedSizeBound(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::String:
      return 11 + v.asString().size();
    case Value::Kind::StringSet: {
      size_t n = 11;
      for (const auto& s : v.asStringSet()) {
        n += 10 + s.size();
      }
      return n;
    }
    default:
      return 11;
  }
}

}  // namespace

void Value::encode(ByteWriter& w) const {
  encodeTo(*this, w);
}

namespace {

// One reading of an encoded value for decode() and skip(): the same checks in the same order,
// the value built only when `kBuild` (skip() returns a null in its place).
template <bool kBuild>
Result<Value> readValue(ByteReader& r) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t tag, r.u8("value kind"));
  switch (static_cast<Value::Kind>(tag)) {
    case Value::Kind::Null:
      return Value{};
    case Value::Kind::Bool: {
      TANDEM_ASSIGN_OR_RETURN(uint8_t b, r.u8("bool value"));
      if (b > 1) {
        return fail("corrupt value: bool byte " + std::to_string(b));
      }
      return kBuild ? Value::boolean(b == 1) : Value{};
    }
    case Value::Kind::Int: {
      TANDEM_ASSIGN_OR_RETURN(int64_t i, r.svarint("integer value"));
      return kBuild ? Value::integer(i) : Value{};
    }
    case Value::Kind::Number: {
      TANDEM_ASSIGN_OR_RETURN(uint64_t bits, r.fixed64("number value"));
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      if (!std::isfinite(d)) {
        return fail("corrupt value: non-finite number");
      }
      return kBuild ? Value::number(d) : Value{};
    }
    case Value::Kind::String: {
      TANDEM_ASSIGN_OR_RETURN(std::string_view s, r.strView("string value"));
      return kBuild ? Value::string(std::string(s)) : Value{};
    }
    case Value::Kind::StringSet: {
      TANDEM_ASSIGN_OR_RETURN(uint64_t n, r.varint("string-set size"));
      if (n > r.remaining()) {
        return fail("corrupt value: string-set claims " + std::to_string(n) + " items");
      }
      Value::StringSet items;
      if constexpr (kBuild) {
        items.reserve(n);
      }
      for (uint64_t i = 0; i < n; ++i) {
        TANDEM_ASSIGN_OR_RETURN(std::string_view item, r.strView("string-set item"));
        if constexpr (kBuild) {
          items.emplace_back(item);
        }
      }
      return kBuild ? Value::stringSet(std::move(items)) : Value{};
    }
  }
  return fail("corrupt value: unknown value kind " + std::to_string(tag));
}

}  // namespace

Status Value::skip(ByteReader& r) {
  TANDEM_RETURN_IF_ERROR(readValue<false>(r));
  return {};
}

Result<Value> Value::decode(ByteReader& r) {
  return readValue<true>(r);
}

uint64_t Value::hash() const {
  // Shadows compare these per field on every report: small values hash from a stack buffer.
  constexpr size_t kStack = 256;
  if (encodedSizeBound(*this) <= kStack) {
    char buf[kStack];
    SpanWriter w(buf);
    encodeTo(*this, w);
    return XXH3_64bits(buf, w.size());
  }
  std::string buf;
  ByteWriter w(buf);
  encode(w);
  return XXH3_64bits(buf.data(), buf.size());
}

}  // namespace tandem::conflict
