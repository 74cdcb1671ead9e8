#include "sim/dns_message.h"

#include <algorithm>

#include "sim/random.h"

namespace dnsight::sim {
namespace {

constexpr uint16_t kQuestionOffset = 12;
constexpr uint16_t kEdnsUdpSize = 1232;

void Put8(std::string* out, uint8_t v) {
  out->push_back(static_cast<char>(v));
}
void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}
void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xFFFF));
}

void PutName(std::string_view name, std::string* out) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    Put8(out, static_cast<uint8_t>(dot - start));
    out->append(name.substr(start, dot - start));
    start = dot + 1;
  }
  Put8(out, 0);
}

void PutHeader(uint16_t id, uint16_t flags, uint16_t an, uint16_t ns, std::string* out) {
  Put16(out, id);
  Put16(out, flags);
  Put16(out, 1);  // qdcount
  Put16(out, an);
  Put16(out, ns);
  Put16(out, 1);  // arcount: OPT
}

void PutOpt(std::string* out) {
  Put8(out, 0);  // root owner
  Put16(out, 41);
  Put16(out, kEdnsUdpSize);
  Put32(out, 0);
  Put16(out, 0);
}

// Compression pointer to the suffix of the question name that is the zone apex.
uint16_t ApexPointer(std::string_view qname, size_t apex_len) {
  const size_t len = std::min(apex_len == 0 ? qname.size() : apex_len, qname.size());
  return static_cast<uint16_t>(0xC000 | (kQuestionOffset + (qname.size() - len)));
}

void PutRecordHead(uint16_t owner_ptr, uint16_t type, uint32_t ttl, std::string* out) {
  Put16(out, owner_ptr);
  Put16(out, type);
  Put16(out, 1);  // IN
  Put32(out, ttl);
}

// Base32-ish text for TXT payloads.
void PutText(uint64_t seed, size_t n, std::string* out) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  uint64_t s = seed;
  for (size_t i = 0; i < n; i += 12) {
    uint64_t r = SplitMix64(&s);
    for (size_t k = i; k < std::min(n, i + 12); ++k, r >>= 5) out->push_back(kAlphabet[r & 31]);
  }
}

void PutAnswer(std::string_view qname, const ResponsePlan& p, uint16_t index, std::string* out) {
  const uint16_t owner = 0xC000 | kQuestionOffset;
  const uint16_t apex = ApexPointer(qname, p.apex_len);
  uint64_t s = Mix64(p.data_seed, index);
  const uint64_t r = SplitMix64(&s);
  PutRecordHead(owner, p.qtype, p.ttl, out);
  switch (p.qtype) {
    case 1:  // A: 203.0.113.0/24 (TEST-NET-3)
      Put16(out, 4);
      Put8(out, 203);
      Put8(out, 0);
      Put8(out, 113);
      Put8(out, static_cast<uint8_t>(1 + (r + index) % 254));
      break;
    case 28:  // AAAA: 2001:db8::/32
      Put16(out, 16);
      Put32(out, 0x20010db8);
      Put32(out, static_cast<uint32_t>(r >> 32));
      Put32(out, 0);
      Put32(out, static_cast<uint32_t>(r) + index);
      break;
    case 15:  // MX: 10 mailN.<apex>
      Put16(out, 2 + 6 + 2);
      Put16(out, static_cast<uint16_t>(10 * (index + 1)));
      Put8(out, 5);
      out->append("mail");
      Put8(out, static_cast<uint8_t>('1' + index % 9));
      Put16(out, apex);
      break;
    case 2:  // NS: nsN.<apex>
      Put16(out, 4 + 2);
      Put8(out, 3);
      out->append("ns");
      Put8(out, static_cast<uint8_t>('1' + index % 9));
      Put16(out, apex);
      break;
    case 65: {  // HTTPS: 1 . alpn=h2,h3
      const char params[] = {0, 1, 0, 6, 2, 'h', '2', 2, 'h', '3'};
      Put16(out, static_cast<uint16_t>(2 + 1 + sizeof params));
      Put16(out, 1);
      Put8(out, 0);
      out->append(params, sizeof params);
      break;
    }
    case 16: {  // TXT: character-strings of at most 255 bytes
      const size_t n = p.payload_len ? p.payload_len : 24;
      const size_t strings = (n + 254) / 255;
      Put16(out, static_cast<uint16_t>(n + strings));
      for (size_t done = 0; done < n; done += 255) {
        const size_t chunk = std::min<size_t>(255, n - done);
        Put8(out, static_cast<uint8_t>(chunk));
        PutText(r + done, chunk, out);
      }
      break;
    }
    case 10: {  // NULL: opaque bytes
      const size_t n = p.payload_len ? p.payload_len : 16;
      Put16(out, static_cast<uint16_t>(n));
      uint64_t b = r;
      for (size_t i = 0; i < n; ++i) out->push_back(static_cast<char>(SplitMix64(&b) & 0xFF));
      break;
    }
    case 6:  // SOA as an answer
    default:
      if (p.qtype == 6) {
        Put16(out, 2 * 6 + 20);
        Put8(out, 3);
        out->append("ns1");
        Put16(out, apex);
        Put8(out, 3);
        out->append("dns");
        Put16(out, apex);
        for (const uint32_t v : {2026112301u, 7200u, 900u, 1209600u, 300u}) Put32(out, v);
      } else {  // anything else: four opaque bytes
        Put16(out, 4);
        Put32(out, static_cast<uint32_t>(r));
      }
      break;
  }
}

void PutAuthoritySoa(std::string_view qname, const ResponsePlan& p, std::string* out) {
  const uint16_t apex = ApexPointer(qname, p.apex_len);
  PutRecordHead(apex, 6, std::min<uint32_t>(p.ttl == 0 ? 300 : p.ttl, 900), out);
  Put16(out, 2 * 6 + 20);
  Put8(out, 3);
  out->append("ns1");
  Put16(out, apex);
  Put8(out, 3);
  out->append("dns");
  Put16(out, apex);
  for (const uint32_t v : {2026112301u, 7200u, 900u, 1209600u, 300u}) Put32(out, v);
}

}  // namespace

void BuildQuery(std::string_view qname, uint16_t id, uint16_t qtype, std::string* out) {
  out->clear();
  PutHeader(id, 0x0100, 0, 0, out);  // RD
  PutName(qname, out);
  Put16(out, qtype);
  Put16(out, 1);
  PutOpt(out);
}

void BuildResponse(std::string_view qname, uint16_t id, const ResponsePlan& plan,
                   std::string* out) {
  out->clear();
  const uint16_t answers = plan.rcode == 0 ? plan.answers : 0;
  // NXDOMAIN and NODATA carry the SOA for negative caching; SERVFAIL carries nothing.
  const bool soa = (plan.rcode == 3 || (plan.rcode == 0 && answers == 0));
  PutHeader(id, static_cast<uint16_t>(0x8180 | (plan.rcode & 0xF)), answers, soa ? 1 : 0, out);
  PutName(qname, out);
  Put16(out, plan.qtype);
  Put16(out, 1);
  for (uint16_t i = 0; i < answers; ++i) PutAnswer(qname, plan, i, out);
  if (soa) PutAuthoritySoa(qname, plan, out);
  PutOpt(out);
}

}  // namespace dnsight::sim
