#include "ingest/pcap_source.h"

#include <pcap/pcap.h>

#include <bitset>
#include <string>
#include <utility>

#include "dnsight/dns_wire.h"
#include "ingest/packet_decoder.h"

namespace dnsight {

// The state of one Run(): decoder, TCP reassembly, matcher and counters.
class PcapSource::Session : public TcpDnsStream::Handler {
 public:
  Session(const PcapSourceOptions& options, int dlt, ObservationSink& sink)
      : options_(options),
        sink_(sink),
        decoder_(dlt),
        tcp_(options.tcp),
        matcher_(options.matcher, sink) {
    for (uint16_t p : options.dns_ports) dns_ports_.set(p);
  }

  // Returns true when the counters are due to be published.
  bool OnPacket(int64_t time_ns, std::span<const uint8_t> frame, uint32_t wire_len) {
    ++c_.packets;
    c_.bytes += frame.size();
    if (wire_len > frame.size()) ++c_.snaplen_truncated;
    bool publish = false;
    if (time_ns >= next_expire_ns_) {
      matcher_.Expire(time_ns);
      tcp_.ExpireIdle(time_ns);
      next_expire_ns_ = time_ns + options_.expire_interval_ns;
      publish = true;
    }
    const PacketDecodeStatus st = decoder_.Decode(frame, &pkt_);
    if (st != PacketDecodeStatus::kOk) {
      if (st == PacketDecodeStatus::kIpFragment) {
        ++c_.ip_fragments;
      } else if (IsMalformed(st)) {
        Malformed(PacketDecodeReason(st), frame);
      } else {
        ++c_.non_dns;
      }
      return publish;
    }
    if (!dns_ports_.test(pkt_.src_port) && !dns_ports_.test(pkt_.dst_port)) {
      ++c_.non_dns;
      return publish;
    }
    time_ns_ = time_ns;
    if (pkt_.transport == Transport::kUdp) {
      OnDnsMessage(pkt_.payload);
    } else {
      tcp_.OnSegment(time_ns, pkt_, *this);
    }
    return publish;
  }

  // A DNS message from the current packet (UDP payload or reassembled TCP message).
  void OnDnsMessage(std::span<const uint8_t> message) override {
    const Status s = ParseDnsMessage(message, &msg_);
    if (!s.ok()) {
      Malformed(DnsParseReason(s), message);
      return;
    }
    ++c_.dns_messages;
    if (!msg_.qr) {
      ++c_.dns_queries;
      matcher_.OnQuery(time_ns_, pkt_.src, pkt_.src_port, pkt_.dst, pkt_.dst_port, pkt_.transport,
                       msg_);
    } else {
      ++c_.dns_responses;
      matcher_.OnResponse(time_ns_, pkt_.dst, pkt_.dst_port, pkt_.src, pkt_.src_port,
                          pkt_.transport, msg_);
    }
  }

  void Malformed(std::string_view reason, std::span<const uint8_t> sample) {
    ++c_.malformed;
    auto it = c_.malformed_by_reason.find(reason);
    if (it == c_.malformed_by_reason.end())
      it = c_.malformed_by_reason.emplace(std::string(reason), 0).first;
    ++it->second;
    sink_.OnMalformed(reason, sample);
  }

  void Finish() { matcher_.Flush(); }

  const PcapSourceCounters& Counters() {
    c_.tcp = tcp_.counters();
    c_.matcher = matcher_.counters();
    return c_;
  }
  PcapSourceCounters& mutable_counters() { return c_; }

 private:
  const PcapSourceOptions& options_;
  ObservationSink& sink_;
  PacketDecoder decoder_;
  TcpDnsStream tcp_;
  DnsTransactionMatcher matcher_;
  std::bitset<65536> dns_ports_;
  PcapSourceCounters c_;
  int64_t next_expire_ns_ = INT64_MIN;
  // The packet being handled; reused so the hot path allocates nothing.
  int64_t time_ns_ = 0;
  DecodedPacket pkt_;
  DnsMessageInfo msg_;
};

namespace {

std::string DefaultLiveFilter(const std::vector<uint16_t>& ports) {
  std::string f;
  for (uint16_t p : ports) {
    if (!f.empty()) f += " or ";
    f += "port " + std::to_string(p);
  }
  return f;
}

}  // namespace

PcapSource::PcapSource(PcapSourceOptions options) : options_(std::move(options)) {}

PcapSource::~PcapSource() = default;

std::string PcapSource::Describe() const {
  if (!options_.file_path.empty()) return "pcap:" + options_.file_path;
  return "pcap-live:" + options_.interface;
}

PcapSourceCounters PcapSource::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

void PcapSource::Publish(const PcapSourceCounters& c) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = c;
}

void PcapSource::RequestStop() {
  stop_.store(true, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  if (handle_ != nullptr) pcap_breakloop(handle_);
}

Status PcapSource::Open(pcap** out) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  const bool live = options_.file_path.empty();
  pcap_t* p = nullptr;
  if (!live) {
    p = pcap_open_offline_with_tstamp_precision(options_.file_path.c_str(),
                                                PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) return Status::IoError(Describe() + ": " + errbuf);
  } else {
    p = pcap_create(options_.interface.c_str(), errbuf);
    if (p == nullptr) return Status::IoError(Describe() + ": " + errbuf);
    pcap_set_snaplen(p, options_.snaplen);
    pcap_set_promisc(p, options_.promisc ? 1 : 0);
    pcap_set_timeout(p, options_.read_timeout_ms);
    if (options_.buffer_size_bytes > 0) pcap_set_buffer_size(p, options_.buffer_size_bytes);
    // Not every capture device offers nanoseconds; microseconds are the fallback.
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    const int rc = pcap_activate(p);
    if (rc < 0) {
      std::string why = pcap_statustostr(rc);
      const char* detail = pcap_geterr(p);
      if (detail != nullptr && *detail != '\0') why += std::string(" (") + detail + ")";
      pcap_close(p);
      return Status::IoError(Describe() + ": " + why);
    }
  }
  const int dlt = pcap_datalink(p);
  if (!PacketDecoder::IsSupportedLinkType(dlt)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    pcap_close(p);
    return Status::InvalidArgument(Describe() + ": unsupported link type " + std::to_string(dlt) +
                                   (name != nullptr ? std::string(" (") + name + ")" : ""));
  }
  const std::string filter = options_.bpf_filter
                                 ? *options_.bpf_filter
                                 : (live ? DefaultLiveFilter(options_.dns_ports) : "");
  if (!filter.empty()) {
    bpf_program prog;
    if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      Status s = Status::InvalidArgument(Describe() + ": bad filter \"" + filter +
                                         "\": " + pcap_geterr(p));
      pcap_close(p);
      return s;
    }
    const int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
      Status s = Status::IoError(Describe() + ": setting filter: " + pcap_geterr(p));
      pcap_close(p);
      return s;
    }
  }
  *out = p;
  return Status::Ok();
}

Status PcapSource::Run(ObservationSink& sink) {
  if (options_.file_path.empty() == options_.interface.empty())
    return Status::InvalidArgument("pcap source: set exactly one of file_path and interface");
  if (options_.dns_ports.empty())
    return Status::InvalidArgument(Describe() + ": dns_ports is empty");
  pcap_t* p = nullptr;
  if (Status s = Open(&p); !s.ok()) return s;
  const bool live = options_.file_path.empty();
  const bool nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handle_ = p;
  }

  auto session = std::make_unique<Session>(options_, pcap_datalink(p), sink);
  Status result;
  while (!stop_.load(std::memory_order_relaxed)) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p, &hdr, &data);
    if (rc == 1) {
      const int64_t frac = static_cast<int64_t>(hdr->ts.tv_usec) * (nano ? 1 : 1000);
      const int64_t time_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 + frac;
      if (session->OnPacket(time_ns, std::span<const uint8_t>(data, hdr->caplen), hdr->len)) {
        Publish(session->Counters());
      }
    } else if (rc == 0) {
      continue;  // live read timeout: check for a stop request
    } else if (rc == PCAP_ERROR_BREAK) {
      break;  // end of file, or pcap_breakloop()
    } else if (!live) {
      // A corrupt or truncated record: libpcap cannot find the next one, so stop here.
      session->Malformed("pcap_bad_record", {});
      break;
    } else {
      result = Status::IoError(Describe() + ": " + pcap_geterr(p));
      break;
    }
  }
  session->Finish();
  if (live) {
    pcap_stat ps{};
    if (pcap_stats(p, &ps) == 0) {
      PcapSourceCounters& c = session->mutable_counters();
      c.pcap_received = ps.ps_recv;
      c.pcap_dropped = ps.ps_drop;
      c.pcap_if_dropped = ps.ps_ifdrop;
    }
  }
  Publish(session->Counters());
  {
    std::lock_guard<std::mutex> lock(mu_);
    handle_ = nullptr;
  }
  pcap_close(p);
  return result;
}

}  // namespace dnsight

namespace dnsight {

std::vector<std::pair<std::string, uint64_t>> PcapSource::Counters() const {
  const PcapSourceCounters c = counters();
  std::vector<std::pair<std::string, uint64_t>> out = {{"packets", c.packets},
                                                       {"bytes", c.bytes},
                                                       {"snaplen_truncated", c.snaplen_truncated},
                                                       {"non_dns", c.non_dns},
                                                       {"ip_fragments", c.ip_fragments},
                                                       {"dns_messages", c.dns_messages},
                                                       {"dns_queries", c.dns_queries},
                                                       {"dns_responses", c.dns_responses},
                                                       {"pcap_received", c.pcap_received},
                                                       {"pcap_dropped", c.pcap_dropped},
                                                       {"pcap_if_dropped", c.pcap_if_dropped},
                                                       {"tcp_messages", c.tcp.messages},
                                                       {"tcp_gaps", c.tcp.gaps},
                                                       {"tcp_flows_evicted", c.tcp.flows_evicted}};
  AppendMatcherCounters(c.matcher, &out);
  return out;
}

}  // namespace dnsight
