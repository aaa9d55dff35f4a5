#include "state/keys.h"

namespace tandem::state::keys {

namespace {

std::unexpected<Error> badKey(const char* what) {
  return fail(std::string("corrupt key: ") + what);
}

// Quotes a string for messages, escaping what is not printable ASCII.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Renders parts described by `shape` ('s' ordered string, 'a' actor, 'n' be64). Falls back to
// the raw quoted bytes when the key does not parse.
std::string render(std::string_view key, std::string_view shape) {
  std::string out;
  std::string_view in = key;
  for (char part : shape) {
    if (!out.empty()) {
      out += ',';
    }
    if (part == 's') {
      auto s = takeOrdered(in);
      if (!s) {
        return quote(key);
      }
      out += quote(*s);
    } else if (part == 'a') {
      auto a = takeActor(in);
      if (!a) {
        return quote(key);
      }
      out += std::to_string(*a);
    } else {
      auto n = takeBe64(in);
      if (!n) {
        return quote(key);
      }
      out += std::to_string(*n);
    }
  }
  return in.empty() ? out : quote(key);
}

}  // namespace

void appendOrdered(std::string& out, std::string_view s) {
  for (char c : s) {
    out += c;
    if (c == '\0') {
      out += '\xff';
    }
  }
  out += '\0';
  out += '\x01';
}

void appendBe64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

Result<std::string> takeOrdered(std::string_view& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\0') {
      out += in[i];
      continue;
    }
    if (i + 1 >= in.size()) {
      return badKey("unterminated string");
    }
    if (in[i + 1] == '\x01') {
      in.remove_prefix(i + 2);
      return out;
    }
    if (in[i + 1] != '\xff') {
      return badKey("bad escape in string");
    }
    out += '\0';
    ++i;
  }
  return badKey("unterminated string");
}

Result<uint64_t> takeBe64(std::string_view& in) {
  if (in.size() < 8) {
    return badKey("truncated 64-bit number");
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  in.remove_prefix(8);
  return v;
}

Result<ActorId> takeActor(std::string_view& in) {
  if (in.empty()) {
    return badKey("missing system");
  }
  auto a = static_cast<ActorId>(in[0]);
  in.remove_prefix(1);
  return a;
}

std::string systemPrefix(ActorId system) {
  return std::string(1, static_cast<char>(system));
}

std::string systemRecord(ActorId system, std::string_view id) {
  std::string k = systemPrefix(system);
  appendOrdered(k, id);
  return k;
}

std::string recordSystem(std::string_view id, ActorId system) {
  std::string k;
  appendOrdered(k, id);
  k += static_cast<char>(system);
  return k;
}

std::string matchKey(std::string_view entity, std::string_view key, std::string_view value) {
  std::string k;
  appendOrdered(k, entity);
  appendOrdered(k, key);
  appendOrdered(k, value);
  return k;
}

std::string outbox(uint64_t due_ms, ActorId system, std::string_view id) {
  std::string k;
  k.reserve(8 + 1 + id.size() + 2);
  appendBe64(k, due_ms);
  k += static_cast<char>(system);
  appendOrdered(k, id);
  return k;
}

std::string be64(uint64_t v) {
  std::string k;
  appendBe64(k, v);
  return k;
}

std::string recordPrefix(std::string_view id) {
  std::string k;
  appendOrdered(k, id);
  return k;
}

std::string recordConflict(std::string_view id, uint64_t conflict_id) {
  std::string k = recordPrefix(id);
  appendBe64(k, conflict_id);
  return k;
}

std::string formatRaw(std::string_view key) {
  return quote(key);
}
std::string formatSystemString(std::string_view key) {
  return render(key, "as");
}
std::string formatStringSystem(std::string_view key) {
  return render(key, "sa");
}
std::string formatStrings(std::string_view key) {
  return render(key, "sss");
}
std::string formatOutbox(std::string_view key) {
  return render(key, "nas");
}
std::string formatId(std::string_view key) {
  return render(key, "n");
}
std::string formatStringId(std::string_view key) {
  return render(key, "sn");
}

}  // namespace tandem::state::keys
