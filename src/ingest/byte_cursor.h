// ByteCursor: a bounds-checked, big-endian reader over a non-owning byte view.
//
// Every read checks the remaining length first; a read that would overrun returns false
// and leaves the cursor where it was, so a parser can report the exact offset it failed
// at. The cursor never reads outside the view and never allocates.
//
// Lifetime: the cursor holds a std::span; the bytes must outlive it (and any sub-span it
// hands out). Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dnsight {

class ByteCursor {
 public:
  ByteCursor() = default;
  explicit ByteCursor(std::span<const uint8_t> data, size_t pos = 0)
      : data_(data), pos_(pos <= data.size() ? pos : data.size()) {}

  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  std::span<const uint8_t> data() const { return data_; }
  // The unread bytes.
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  // Moves to an absolute offset; false (cursor unchanged) if beyond the end.
  bool Seek(size_t pos) {
    if (pos > data_.size()) return false;
    pos_ = pos;
    return true;
  }
  bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }

  bool PeekU8(uint8_t* v) const {
    if (remaining() < 1) return false;
    *v = data_[pos_];
    return true;
  }
  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = data_[pos_++];
    return true;
  }
  bool ReadU16(uint16_t* v) {
    if (remaining() < 2) return false;
    *v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool ReadU32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = (static_cast<uint32_t>(data_[pos_]) << 24) |
         (static_cast<uint32_t>(data_[pos_ + 1]) << 16) |
         (static_cast<uint32_t>(data_[pos_ + 2]) << 8) | static_cast<uint32_t>(data_[pos_ + 3]);
    pos_ += 4;
    return true;
  }
  // Little-endian reads, for the few link-layer headers written in host order.
  bool ReadU16Le(uint16_t* v) {
    if (remaining() < 2) return false;
    *v = static_cast<uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return true;
  }
  bool ReadU32Le(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = static_cast<uint32_t>(data_[pos_]) | (static_cast<uint32_t>(data_[pos_ + 1]) << 8) |
         (static_cast<uint32_t>(data_[pos_ + 2]) << 16) |
         (static_cast<uint32_t>(data_[pos_ + 3]) << 24);
    pos_ += 4;
    return true;
  }
  // Hands out the next n bytes as a view into the same buffer and advances past them.
  bool ReadSpan(size_t n, std::span<const uint8_t>* out) {
    if (n > remaining()) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace dnsight
