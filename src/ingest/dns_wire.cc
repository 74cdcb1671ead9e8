// DNS wire-format parsing: header, first question, answer TTLs and the EDNS OPT rcode.
//
// Names are read with one routine for every section. Compression pointers must point
// strictly backwards, and each pointer must land before the start of the label run that
// contained it, so the offsets visited strictly decrease and a loop cannot form; a hop
// limit caps the work a long pointer chain can cause.
#include "dnsight/dns_wire.h"

#include <array>
#include <cstring>
#include <string>

#include "ingest/byte_cursor.h"

namespace dnsight {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameWireBytes = 255;  // RFC 1035 3.1, length bytes included
constexpr int kMaxPointerHops = 128;       // > the 127 labels a legal name can hold
constexpr uint16_t kTypeOpt = 41;

enum class NameError : uint8_t {
  kOk,
  kTruncated,
  kBadLabel,        // label type 0x40/0x80 (extended / reserved)
  kBadPointer,      // points into the header
  kForwardPointer,  // points past itself
  kPointerLoop,     // points into the label run that contains it
  kTooManyPointers,
  kNameTooLong,
};

std::string_view NameErrorToken(NameError e, std::string_view truncated_token) {
  switch (e) {
    case NameError::kOk:
      return "ok";
    case NameError::kTruncated:
      return truncated_token;
    case NameError::kBadLabel:
      return "bad_label";
    case NameError::kBadPointer:
      return "bad_pointer";
    case NameError::kForwardPointer:
      return "forward_pointer";
    case NameError::kPointerLoop:
      return "pointer_loop";
    case NameError::kTooManyPointers:
      return "too_many_pointers";
    case NameError::kNameTooLong:
      return "name_too_long";
  }
  return "bad_name";
}

Status Fail(std::string_view token, size_t offset) {
  std::string m(token);
  m += ": at offset ";
  m += std::to_string(offset);
  const bool truncated = token.starts_with("truncated");
  return truncated ? Status::OutOfRange(std::move(m)) : Status::InvalidArgument(std::move(m));
}

// Label bytes written as themselves in presentation form; every other byte is \DDD.
constexpr bool IsPlainLabelByte(uint8_t b) {
  return b >= 0x21 && b <= 0x7e && b != '.' && b != '\\';
}
constexpr auto kPlainLabelByte = [] {
  std::array<bool, 256> t{};
  for (int b = 0; b < 256; ++b)
    t[static_cast<size_t>(b)] = IsPlainLabelByte(static_cast<uint8_t>(b));
  return t;
}();

// Escapes one label byte into out (at most 4 chars). Returns the new length.
inline size_t AppendEscaped(uint8_t b, char* out, size_t len) {
  if (IsPlainLabelByte(b)) {
    out[len] = static_cast<char>(b);
    return len + 1;
  }
  out[len] = '\\';
  out[len + 1] = static_cast<char>('0' + b / 100);
  out[len + 2] = static_cast<char>('0' + (b / 10) % 10);
  out[len + 3] = static_cast<char>('0' + b % 10);
  return len + 4;
}

// Reads the name at *pos. On success *pos is just past the name as it sits at *pos (after
// its first pointer or its root label). When out is set, the presentation form is written
// there; a name within 255 wire bytes needs at most 4 * 250 + 3 chars, so out_cap = 1024
// always suffices. *error_pos gets the offset the error was detected at.
NameError ReadName(std::span<const uint8_t> msg, size_t* pos, char* out, size_t out_cap,
                   uint16_t* out_len, size_t* error_pos) {
  const uint8_t* data = msg.data();
  const size_t size = msg.size();
  size_t p = *pos;
  size_t resume = 0;  // 0: no pointer followed yet
  size_t run_start = p;
  size_t wire_len = 0;
  size_t len_out = 0;
  int hops = 0;
  for (;;) {
    if (p >= size) {
      *error_pos = p;
      return NameError::kTruncated;
    }
    const uint8_t label_len = data[p];
    if (label_len == 0) {
      if (++wire_len > kMaxNameWireBytes) {
        *error_pos = p;
        return NameError::kNameTooLong;
      }
      *pos = resume != 0 ? resume : p + 1;
      if (out_len != nullptr) *out_len = static_cast<uint16_t>(len_out);
      return NameError::kOk;
    }
    const uint8_t kind = label_len & 0xC0;
    if (kind == 0xC0) {
      if (p + 1 >= size) {
        *error_pos = p;
        return NameError::kTruncated;
      }
      const size_t target = (static_cast<size_t>(label_len & 0x3F) << 8) | data[p + 1];
      *error_pos = p;
      if (target > p) return NameError::kForwardPointer;
      if (target >= run_start) return NameError::kPointerLoop;
      if (target < kHeaderSize) return NameError::kBadPointer;
      if (++hops > kMaxPointerHops) return NameError::kTooManyPointers;
      if (resume == 0) resume = p + 2;
      p = run_start = target;
      continue;
    }
    if (kind != 0) {
      *error_pos = p;
      return NameError::kBadLabel;
    }
    // The terminating root byte still has to fit in the 255.
    wire_len += 1 + static_cast<size_t>(label_len);
    if (wire_len + 1 > kMaxNameWireBytes) {
      *error_pos = p;
      return NameError::kNameTooLong;
    }
    if (label_len >= size - p) {  // p + 1 + label_len > size
      *error_pos = p;
      return NameError::kTruncated;
    }
    if (out != nullptr) {
      if (len_out + 1 + 4 * static_cast<size_t>(label_len) > out_cap) {
        *error_pos = p;
        return NameError::kNameTooLong;
      }
      if (len_out != 0) out[len_out++] = '.';
      const uint8_t* label = data + p + 1;
      // Most labels need no escape: check them whole, then copy.
      bool plain = true;
      for (size_t i = 0; i < label_len; ++i) plain &= kPlainLabelByte[label[i]];
      if (plain) {
        std::memcpy(out + len_out, label, label_len);
        len_out += label_len;
      } else {
        for (size_t i = 0; i < label_len; ++i) len_out = AppendEscaped(label[i], out, len_out);
      }
    }
    p += 1 + static_cast<size_t>(label_len);
  }
}

// Skips one resource record; reports its type and TTL. False if it does not fit.
bool SkipRecord(std::span<const uint8_t> msg, ByteCursor* c, uint16_t* type, uint32_t* ttl) {
  size_t pos = c->pos();
  size_t error_pos = 0;
  if (ReadName(msg, &pos, nullptr, 0, nullptr, &error_pos) != NameError::kOk) return false;
  c->Seek(pos);
  uint16_t rr_class = 0, rdlength = 0;
  return c->ReadU16(type) && c->ReadU16(&rr_class) && c->ReadU32(ttl) && c->ReadU16(&rdlength) &&
         c->Skip(rdlength);
}

// Walks the rest of the message after the first question: further questions, then the
// answer section for the smallest TTL, then authority and additional records for the
// OPT pseudo-record. Never fails the parse; it only fills what it could establish.
void WalkRecords(std::span<const uint8_t> msg, ByteCursor c, DnsMessageInfo* info) {
  for (uint32_t i = 1; i < info->qdcount; ++i) {
    size_t pos = c.pos();
    size_t error_pos = 0;
    if (ReadName(msg, &pos, nullptr, 0, nullptr, &error_pos) != NameError::kOk) return;
    c.Seek(pos);
    if (!c.Skip(4)) return;
  }
  int64_t min_ttl = -1;
  for (uint32_t i = 0; i < info->ancount; ++i) {
    uint16_t type = 0;
    uint32_t ttl = 0;
    if (!SkipRecord(msg, &c, &type, &ttl)) return;
    // RFC 2181 8: a TTL with the top bit set is to be treated as zero.
    const int64_t effective = (ttl & 0x80000000u) != 0 ? 0 : static_cast<int64_t>(ttl);
    if (min_ttl < 0 || effective < min_ttl) min_ttl = effective;
  }
  info->min_answer_ttl = min_ttl;
  info->answers_complete = true;

  const uint32_t rest = static_cast<uint32_t>(info->nscount) + info->arcount;
  for (uint32_t i = 0; i < rest; ++i) {
    const bool is_root_name = c.pos() < msg.size() && msg[c.pos()] == 0;
    uint16_t type = 0;
    uint32_t ttl = 0;
    if (!SkipRecord(msg, &c, &type, &ttl)) return;
    if (type == kTypeOpt && is_root_name && i >= info->nscount) {
      // RFC 6891 6.1.3: the upper 8 bits of the 12-bit rcode sit in the TTL's top byte.
      // rcode is 8 bits wide here; values beyond it (none are assigned) keep the 4-bit code.
      const uint32_t full = ((ttl >> 24) << 4) | info->rcode;
      if (full <= 0xFF) info->rcode = static_cast<uint8_t>(full);
      return;
    }
  }
}

}  // namespace

Status ParseDnsMessage(std::span<const uint8_t> wire, DnsMessageInfo* out) {
  DnsMessageInfo& info = *out;
  info.qname_len = 0;
  info.qtype = 0;
  info.qclass = 0;
  info.has_question = false;
  info.min_answer_ttl = -1;
  info.answers_complete = false;
  info.size = static_cast<uint32_t>(wire.size() > UINT32_MAX ? UINT32_MAX : wire.size());

  ByteCursor c(wire);
  uint16_t flags = 0;
  if (!c.ReadU16(&info.id) || !c.ReadU16(&flags) || !c.ReadU16(&info.qdcount) ||
      !c.ReadU16(&info.ancount) || !c.ReadU16(&info.nscount) || !c.ReadU16(&info.arcount)) {
    return Fail("truncated_header", wire.size());
  }
  info.qr = (flags & 0x8000) != 0;
  info.opcode = static_cast<uint8_t>((flags >> 11) & 0x0F);
  info.aa = (flags & 0x0400) != 0;
  info.tc = (flags & 0x0200) != 0;
  info.rd = (flags & 0x0100) != 0;
  info.ra = (flags & 0x0080) != 0;
  info.rcode = static_cast<uint8_t>(flags & 0x0F);

  if (info.qdcount == 0) {
    // No question (legal, e.g. some NOTIFY/UPDATE replies); records may still follow.
    WalkRecords(wire, c, &info);
    return Status::Ok();
  }
  size_t pos = c.pos();
  size_t error_pos = 0;
  const NameError e =
      ReadName(wire, &pos, info.qname_buf, sizeof info.qname_buf, &info.qname_len, &error_pos);
  if (e != NameError::kOk) return Fail(NameErrorToken(e, "truncated_question"), error_pos);
  c.Seek(pos);
  if (!c.ReadU16(&info.qtype) || !c.ReadU16(&info.qclass)) {
    info.qname_len = 0;
    return Fail("truncated_question", c.size());
  }
  info.has_question = true;
  WalkRecords(wire, c, &info);
  return Status::Ok();
}

Result<DnsMessageInfo> ParseDnsMessage(std::span<const uint8_t> wire) {
  DnsMessageInfo info;
  Status s = ParseDnsMessage(wire, &info);
  if (!s.ok()) return s;
  return info;
}

std::string_view DnsParseReason(const Status& s) {
  if (s.ok()) return {};
  std::string_view m = s.message();
  const size_t colon = m.find(':');
  return colon == std::string_view::npos ? m : m.substr(0, colon);
}

}  // namespace dnsight
