// libFuzzer target: PacketDecoder on arbitrary frames. The first byte picks the link
// type; a decoded UDP payload is parsed as DNS too, as PcapSource would.
#include <pcap/dlt.h>

#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnsight/dns_wire.h"
#include "ingest/packet_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr int kLinkTypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                                       DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP,
                                       101,        DLT_IEEE802_11};
  if (size == 0) return 0;
  const int dlt = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  const std::span<const uint8_t> frame(data + 1, size - 1);
  const dnsight::PacketDecoder decoder(dlt);
  dnsight::DecodedPacket p;
  const dnsight::PacketDecodeStatus st = decoder.Decode(frame, &p);
  if (dnsight::PacketDecodeReason(st) == "unknown") std::abort();
  if (st != dnsight::PacketDecodeStatus::kOk) return 0;
  if (p.transport != dnsight::Transport::kUdp && p.transport != dnsight::Transport::kTcp)
    std::abort();
  if (!p.payload.empty() && (p.payload.data() < frame.data() ||
                             p.payload.data() + p.payload.size() > frame.data() + frame.size())) {
    std::abort();
  }
  dnsight::DnsMessageInfo msg;
  (void)dnsight::ParseDnsMessage(p.payload, &msg);
  return 0;
}
