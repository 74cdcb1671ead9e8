// libFuzzer target: TcpDnsStream fed a sequence of segments described by the input.
//
// Each segment: 1 byte (low 2 bits: flow, next 3 bits: FIN/SYN/RST), 1 byte sequence
// offset, 2 bytes payload length, then the payload. Small limits make eviction and the
// buffer budget reachable. Delivered messages are parsed as DNS.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnsight/dns_wire.h"
#include "ingest/tcp_dns_stream.h"

namespace {

class ParseHandler : public dnsight::TcpDnsStream::Handler {
 public:
  void OnDnsMessage(std::span<const uint8_t> m) override {
    if (m.size() > 65535) std::abort();
    (void)dnsight::ParseDnsMessage(m, &msg_);
  }

 private:
  dnsight::DnsMessageInfo msg_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dnsight::TcpDnsStream::Options o;
  o.max_flows = 3;
  o.max_buffered_bytes = 8192;
  o.idle_timeout_ns = 50;
  dnsight::TcpDnsStream stream(o);
  ParseHandler handler;
  uint32_t seq[4] = {0, 0, 0, 0};
  const uint8_t a[4] = {192, 0, 2, 1};
  const uint8_t b[4] = {192, 0, 2, 53};
  int64_t now = 0;
  size_t at = 0;
  while (at + 4 <= size) {
    const uint8_t ctl = data[at];
    const uint8_t seq_off = data[at + 1];
    size_t len = static_cast<size_t>(data[at + 2]) << 8 | data[at + 3];
    at += 4;
    if (len > size - at) len = size - at;
    dnsight::DecodedPacket p;
    const int flow = ctl & 3;
    p.src = dnsight::IpAddress::V4(flow & 1 ? a : b);
    p.dst = dnsight::IpAddress::V4(flow & 1 ? b : a);
    p.src_port = static_cast<uint16_t>(1000 + flow);
    p.dst_port = 53;
    p.transport = dnsight::Transport::kTcp;
    p.tcp_flags = static_cast<uint8_t>(((ctl >> 2) & 0x07) | 0x10);
    // Mostly in order, sometimes behind (retransmission) or ahead (gap).
    p.tcp_seq = seq[flow] + seq_off - 128u;
    if (seq_off >= 120 && seq_off <= 136) p.tcp_seq = seq[flow];
    p.payload = std::span<const uint8_t>(data + at, len);
    stream.OnSegment(now, p, handler);
    seq[flow] = p.tcp_seq + static_cast<uint32_t>(len) + ((p.tcp_flags & 0x02) ? 1 : 0);
    at += len;
    now += ctl >> 5;
    if ((ctl & 0xE0) == 0xE0) stream.ExpireIdle(now);
    if (stream.flow_count() > o.max_flows) std::abort();
    if (stream.buffered_bytes() > o.max_buffered_bytes) std::abort();
  }
  return 0;
}
