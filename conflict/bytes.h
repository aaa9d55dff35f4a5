#pragma once

// Little helpers for compact binary encodings: LEB128 varints, length-prefixed strings and
// fixed-width integers. ByteReader never reads past its end; every getter reports truncation
// as an error naming what was being read.

#include <cstdint>
#include <string>
#include <string_view>

#include "conflict/result.h"

namespace tandem {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(uint64_t v);
  void svarint(int64_t v) {
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void fixed64(uint64_t v);      // little-endian
  void fixed64be(uint64_t v);    // big-endian: byte order == numeric order, for keys
  void str(std::string_view s);  // varint length + bytes
  void raw(std::string_view s) { out_.append(s); }

 private:
  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  Result<uint8_t> u8(const char* what);
  Result<uint64_t> varint(const char* what);
  Result<int64_t> svarint(const char* what);
  Result<uint64_t> fixed64(const char* what);
  Result<uint64_t> fixed64be(const char* what);
  Result<std::string> str(const char* what);
  Result<std::string_view> strView(const char* what);
  Result<std::string_view> raw(size_t n, const char* what);  // the next n bytes
  bool atEnd() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace tandem
