#include "conflict/bytes.h"

namespace tandem {

void ByteWriter::longVarint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ByteWriter::fixed64(uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  out_.append(b, sizeof b);
}

void ByteWriter::fixed64be(uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void ByteWriter::str(std::string_view s) {
  varint(s.size());
  out_.append(s);
}

namespace {
std::unexpected<Error> truncated(const char* what, size_t pos) {
  return fail(std::string("truncated value: ") + what + " at byte " + std::to_string(pos));
}
}  // namespace

std::unexpected<Error> ByteReader::truncatedHere(const char* what) const {
  return truncated(what, pos_);
}

Result<uint64_t> ByteReader::longVarint(const char* what) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) {
      return truncated(what, pos_);
    }
    auto b = static_cast<uint8_t>(in_[pos_++]);
    if (shift == 63 && b > 1) {
      return fail(std::string("corrupt value: varint overflow in ") + what + " at byte " +
                  std::to_string(pos_ - 1));
    }
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return fail(std::string("corrupt value: varint too long in ") + what);
}

Result<uint64_t> ByteReader::fixed64(const char* what) {
  if (remaining() < 8) {
    return truncated(what, pos_);
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  }
  pos_ += 8;
  return v;
}

Result<uint64_t> ByteReader::fixed64be(const char* what) {
  if (remaining() < 8) {
    return truncated(what, pos_);
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
  }
  pos_ += 8;
  return v;
}

Result<std::string_view> ByteReader::strView(const char* what) {
  auto n = varint(what);
  if (!n) {
    return std::unexpected(n.error());
  }
  if (*n > remaining()) {
    return fail(std::string("truncated value: ") + what + " claims " + std::to_string(*n) +
                " bytes, " + std::to_string(remaining()) + " left");
  }
  return raw(static_cast<size_t>(*n), what);
}

Result<std::string_view> ByteReader::raw(size_t n, const char* what) {
  if (n > remaining()) {
    return fail(std::string("truncated value: ") + what + " needs " + std::to_string(n) +
                " bytes, " + std::to_string(remaining()) + " left");
  }
  std::string_view s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

Result<std::string> ByteReader::str(const char* what) {
  auto v = strView(what);
  if (!v) {
    return std::unexpected(v.error());
  }
  return std::string(*v);
}

}  // namespace tandem
