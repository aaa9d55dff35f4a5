#pragma once

// Little helpers for compact binary encodings: LEB128 varints, length-prefixed strings and
// fixed-width integers. ByteReader never reads past its end; every getter reports truncation
// as an error naming what was being read.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "conflict/result.h"

namespace tandem {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(uint64_t v) {
    if (v < 0x80) [[likely]] {
      out_.push_back(static_cast<char>(v));
      return;
    }
    longVarint(v);
  }
  void svarint(int64_t v) {
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void fixed64(uint64_t v);      // little-endian
  void fixed64be(uint64_t v);    // big-endian: byte order == numeric order, for keys
  void str(std::string_view s);  // varint length + bytes
  void raw(std::string_view s) { out_.append(s); }

 private:
  void longVarint(uint64_t v);  // two bytes or more

  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  // u8, varint and svarint are inline: the store's decoders call them a few hundred times per
  // record, and a byte or a one-byte varint should not cost a call and an out-of-line Result.
  Result<uint8_t> u8(const char* what) {
    if (pos_ < in_.size()) [[likely]] {
      return static_cast<uint8_t>(in_[pos_++]);
    }
    return truncatedHere(what);
  }
  Result<uint64_t> varint(const char* what) {
    if (pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) < 0x80) [[likely]] {
      return static_cast<uint8_t>(in_[pos_++]);
    }
    return longVarint(what);
  }
  Result<int64_t> svarint(const char* what) {
    auto u = varint(what);
    if (!u) [[unlikely]] {
      return std::unexpected(std::move(u).error());
    }
    return static_cast<int64_t>((*u >> 1) ^ (~(*u & 1) + 1));
  }
  Result<uint64_t> fixed64(const char* what);
  Result<uint64_t> fixed64be(const char* what);
  Result<std::string> str(const char* what);
  Result<std::string_view> strView(const char* what);
  Result<std::string_view> raw(size_t n, const char* what);  // the next n bytes
  bool atEnd() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  std::unexpected<Error> truncatedHere(const char* what) const;
  Result<uint64_t> longVarint(const char* what);  // two bytes or more, or an error

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace tandem
