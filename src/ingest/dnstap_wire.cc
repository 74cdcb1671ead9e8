// Protobuf wire-format reading for ParseDnstapFrame. The limits below are libprotobuf's
// (3.21, parse_context.h), copied so that the reader accepts and rejects the same bytes.
#include "ingest/dnstap_wire.h"

#include <climits>
#include <cstddef>

namespace dnsight {
namespace {

// io::CodedInputStream::GetDefaultRecursionLimit(): how many sub-messages and groups may
// nest below the top-level message.
constexpr int kRecursionLimit = 100;
// libprotobuf rejects lengths this close to INT_MAX (they could overflow its parser's
// 16 bytes of look-ahead).
constexpr uint32_t kMaxLength = INT_MAX - 16;
constexpr size_t kMaxVarintBytes = 10;
// Tags and lengths are read as 32-bit varints of at most 5 bytes; a longer encoding
// fails even if the value is small.
constexpr int kMaxTagBytes = 5;
constexpr int kMaxLengthBytes = 5;

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

constexpr uint32_t Tag(uint32_t field, WireType wire_type) {
  return (field << 3) | wire_type;
}

// A bounds-checked cursor over the bytes of one message: every read checks the bytes left
// first and fails rather than read past them. One-byte tags, varints and lengths (most of
// a dnstap frame) take an inline fast path.
class WireCursor {
 public:
  explicit WireCursor(std::span<const uint8_t> bytes)
      : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool empty() const { return pos_ == end_; }

  // A varint of at most 10 bytes; bits past 64 are dropped, as libprotobuf does.
  bool ReadVarint(uint64_t* v) {
    if (pos_ != end_ && *pos_ < 0x80) {
      *v = *pos_++;
      return true;
    }
    return ReadVarintSlow(v);
  }
  // The low 32 bits of a varint of at most 5 bytes.
  bool ReadTag(uint32_t* tag) {
    if (pos_ != end_ && *pos_ < 0x80) {
      *tag = *pos_++;
      return true;
    }
    return ReadTagSlow(tag);
  }
  // A length (a varint of at most 5 bytes, below 2^31) and the bytes it covers.
  bool ReadLengthDelimited(std::span<const uint8_t>* out) {
    size_t length;
    if (pos_ != end_ && *pos_ < 0x80) {
      length = *pos_++;
    } else if (!ReadLengthSlow(&length)) {
      return false;
    }
    if (length > static_cast<size_t>(end_ - pos_)) return false;
    *out = {pos_, length};
    pos_ += length;
    return true;
  }
  bool ReadFixed32(uint32_t* v) {
    if (end_ - pos_ < 4) return false;
    *v = static_cast<uint32_t>(pos_[0]) | (static_cast<uint32_t>(pos_[1]) << 8) |
         (static_cast<uint32_t>(pos_[2]) << 16) | (static_cast<uint32_t>(pos_[3]) << 24);
    pos_ += 4;
    return true;
  }
  bool Skip(size_t n) {
    if (n > static_cast<size_t>(end_ - pos_)) return false;
    pos_ += n;
    return true;
  }

 private:
  bool ReadVarintSlow(uint64_t* v);
  bool ReadTagSlow(uint32_t* tag);
  bool ReadLengthSlow(size_t* length);

  const uint8_t* pos_;
  const uint8_t* end_;
};

bool WireCursor::ReadVarintSlow(uint64_t* v) {
  const size_t left = static_cast<size_t>(end_ - pos_);
  const size_t max_bytes = left < kMaxVarintBytes ? left : kMaxVarintBytes;
  uint64_t value = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    const uint8_t b = pos_[i];
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *v = value;
      pos_ += i + 1;
      return true;
    }
  }
  return false;
}

bool WireCursor::ReadTagSlow(uint32_t* tag) {
  const uint8_t* p = pos_;
  uint32_t value = 0;
  for (int i = 0; i < kMaxTagBytes; ++i) {
    if (p == end_) return false;
    const uint8_t b = *p++;
    value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *tag = value;
      pos_ = p;
      return true;
    }
  }
  return false;
}

bool WireCursor::ReadLengthSlow(size_t* length) {
  const uint8_t* p = pos_;
  uint32_t value = 0;
  for (int i = 0;; ++i) {
    if (p == end_) return false;
    const uint8_t b = *p++;
    if (i == kMaxLengthBytes - 1) {
      if (b >= 8) return false;  // 2^31 or more, or a 6th byte
      value |= static_cast<uint32_t>(b) << 28;
      break;
    }
    value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) break;
  }
  if (value > kMaxLength) return false;
  *length = value;
  pos_ = p;
  return true;
}

// Groups are rare, so SkipGroup stays out of line and SkipValue can be inlined.
bool SkipGroup(WireCursor* c, uint32_t start_tag, int depth);

// Skips the value of a field read as unknown. Outside a group's own loop a tag of 0 or an
// end-group tag ends the message early, which fails the parse, so both are rejected here.
inline bool SkipValue(WireCursor* c, uint32_t tag, int depth) {
  if (tag < 8) return false;  // field number 0
  switch (tag & 7) {
    case kVarint: {
      uint64_t v;
      return c->ReadVarint(&v);
    }
    case kFixed64:
      return c->Skip(8);
    case kLengthDelimited: {
      std::span<const uint8_t> bytes;
      return c->ReadLengthDelimited(&bytes);
    }
    case kStartGroup: {
      // Through a copy, so that *c itself never has its address taken and can live in
      // registers in the inlined hot loops.
      WireCursor group = *c;
      if (!SkipGroup(&group, tag, depth)) return false;
      *c = group;
      return true;
    }
    case kFixed32:
      return c->Skip(4);
    default:  // end group; 6 and 7 are not wire types
      return false;
  }
}

// Skips the fields of a group up to the end-group tag matching start_tag. `depth` is the
// nesting budget left where the group starts.
bool SkipGroup(WireCursor* c, uint32_t start_tag, int depth) {
  const int inner = depth - 1;
  if (inner < 0) return false;
  while (true) {
    uint32_t tag;
    if (!c->ReadTag(&tag)) return false;  // also when the group is never closed
    if (tag == 0 || (tag & 7) == kEndGroup) return tag == start_tag + 1;
    if (!SkipValue(c, tag, inner)) return false;
  }
}

// Validates a sub-message none of whose fields are read (dnstap.Policy has no
// message-typed fields, so every field is skipped). `depth` is the budget inside it.
bool SkipMessage(std::span<const uint8_t> bytes, int depth) {
  WireCursor c(bytes);
  while (!c.empty()) {
    uint32_t tag;
    if (!c.ReadTag(&tag) || !SkipValue(&c, tag, depth)) return false;
  }
  return true;
}

// An enum varint as the generated code checks it: the low 32 bits as an int32.
int32_t EnumValue(uint64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(v));
}

// One occurrence of Dnstap.message, merged into *out. `depth` is the budget inside it.
bool ParseMessage(std::span<const uint8_t> bytes, int depth, DnstapFields* out) {
  WireCursor c(bytes);
  while (!c.empty()) {
    uint32_t tag;
    if (!c.ReadTag(&tag)) return false;
    uint64_t v;
    switch (tag) {
      case Tag(1, kVarint):  // type
        if (!c.ReadVarint(&v)) return false;
        if (EnumValue(v) >= 1 && EnumValue(v) <= 14) {
          out->has_type = true;
          out->type = EnumValue(v);
        }
        break;
      case Tag(2, kVarint):  // socket_family
        if (!c.ReadVarint(&v)) return false;
        if (EnumValue(v) >= 1 && EnumValue(v) <= 2) {
          out->has_socket_family = true;
          out->socket_family = static_cast<DnstapSocketFamily>(EnumValue(v));
        }
        break;
      case Tag(3, kVarint):  // socket_protocol
        if (!c.ReadVarint(&v)) return false;
        if (EnumValue(v) >= 1 && EnumValue(v) <= 7) {
          out->has_socket_protocol = true;
          out->socket_protocol = static_cast<DnstapSocketProtocol>(EnumValue(v));
        }
        break;
      case Tag(4, kLengthDelimited):
        if (!c.ReadLengthDelimited(&out->query_address)) return false;
        out->has_query_address = true;
        break;
      case Tag(5, kLengthDelimited):
        if (!c.ReadLengthDelimited(&out->response_address)) return false;
        out->has_response_address = true;
        break;
      case Tag(6, kVarint):
        if (!c.ReadVarint(&v)) return false;
        out->has_query_port = true;
        out->query_port = static_cast<uint32_t>(v);
        break;
      case Tag(7, kVarint):
        if (!c.ReadVarint(&v)) return false;
        out->has_response_port = true;
        out->response_port = static_cast<uint32_t>(v);
        break;
      case Tag(8, kVarint):
        if (!c.ReadVarint(&out->query_time_sec)) return false;
        out->has_query_time_sec = true;
        break;
      case Tag(9, kFixed32):
        if (!c.ReadFixed32(&out->query_time_nsec)) return false;
        out->has_query_time_nsec = true;
        break;
      case Tag(10, kLengthDelimited):
        if (!c.ReadLengthDelimited(&out->query_message)) return false;
        out->has_query_message = true;
        break;
      case Tag(12, kVarint):
        if (!c.ReadVarint(&out->response_time_sec)) return false;
        out->has_response_time_sec = true;
        break;
      case Tag(13, kFixed32):
        if (!c.ReadFixed32(&out->response_time_nsec)) return false;
        out->has_response_time_nsec = true;
        break;
      case Tag(14, kLengthDelimited):
        if (!c.ReadLengthDelimited(&out->response_message)) return false;
        out->has_response_message = true;
        break;
      case Tag(15, kLengthDelimited): {  // policy: not read, but validated
        std::span<const uint8_t> policy;
        if (!c.ReadLengthDelimited(&policy) || depth < 1 || !SkipMessage(policy, depth - 1)) {
          return false;
        }
        break;
      }
      default:  // query_zone, http_protocol, unknown fields, declared ones in the wrong type
        if (!SkipValue(&c, tag, depth)) return false;
    }
  }
  return true;
}

}  // namespace

bool ParseDnstapFrame(std::span<const uint8_t> frame, DnstapFields* out) {
  *out = DnstapFields();
  if (frame.size() > static_cast<size_t>(INT_MAX)) return false;
  WireCursor c(frame);
  while (!c.empty()) {
    uint32_t tag;
    if (!c.ReadTag(&tag)) return false;
    if (tag == Tag(14, kLengthDelimited)) {  // message
      std::span<const uint8_t> message;
      if (!c.ReadLengthDelimited(&message)) return false;
      out->has_message = true;
      if (!ParseMessage(message, kRecursionLimit - 1, out)) return false;
    } else if (!SkipValue(&c, tag, kRecursionLimit)) {  // identity, version, extra, type, ...
      return false;
    }
  }
  return true;
}

}  // namespace dnsight
