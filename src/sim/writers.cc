#include "sim/writers.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <queue>

#include "common/dns_names.h"
#include "common/time_util.h"
#include "dnstap.pb.h"
#include "ingest/frame_streams.h"

namespace dnsight::sim {
namespace {

constexpr size_t kFileBuffer = size_t{1} << 20;

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendIpv4(uint32_t a, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    AppendInt((a >> shift) & 255, out);
    if (shift) out->push_back('.');
  }
}

std::string_view QtypeText(uint16_t qtype) {
  switch (qtype) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 6:
      return "SOA";
    case 10:
      return "NULL";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 65:
      return "HTTPS";
    default:
      return {};
  }
}

std::string_view RcodeText(uint8_t rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    default:
      return {};
  }
}

// Frames held back until no earlier frame can follow (responses after later queries).
class FrameQueue {
 public:
  void Push(int64_t ts_ns, std::string bytes) { heap_.push({ts_ns, seq_++, std::move(bytes)}); }
  // Appends, in time order, every frame with ts <= up_to_ns.
  Status Release(int64_t up_to_ns, OutputFile* file) {
    while (!heap_.empty() && heap_.top().ts_ns <= up_to_ns) {
      if (Status st = file->Append(heap_.top().bytes); !st.ok()) return st;
      heap_.pop();
    }
    return Status::Ok();
  }

 private:
  struct Frame {
    int64_t ts_ns;
    uint64_t seq;
    std::string bytes;
    bool operator>(const Frame& o) const {
      return ts_ns != o.ts_ns ? ts_ns > o.ts_ns : seq > o.seq;
    }
  };
  std::priority_queue<Frame, std::vector<Frame>, std::greater<Frame>> heap_;
  uint64_t seq_ = 0;
};

class JsonlWriter : public EventWriter {
 public:
  explicit JsonlWriter(std::unique_ptr<OutputFile> file) : file_(std::move(file)) {}
  Status Write(const SimEvent& e) override {
    line_.clear();
    AppendEventJson(e, &line_, &second_);
    return file_->Append(line_);
  }
  Status Flush(int64_t) override { return file_->Flush(); }
  Status Close() override { return file_->Close(); }
  uint64_t bytes() const override { return file_->bytes(); }

 private:
  std::unique_ptr<OutputFile> file_;
  std::string line_;
  SecondText second_;
};

class DnstapWriter : public EventWriter {
 public:
  DnstapWriter(std::unique_ptr<OutputFile> file, std::vector<std::string> identities)
      : file_(std::move(file)), identities_(std::move(identities)) {
    const std::string_view types[] = {kDnstapContentType};
    std::string start;
    AppendFstrmControlFrame(FstrmControlType::kStart, types, &start);
    status_ = file_->Append(start);
  }
  Status Write(const SimEvent& e) override {
    if (!status_.ok()) return status_;
    if (Status st = queue_.Release(e.ts_ns, file_.get()); !st.ok()) return st;
    if (Status st = file_->Append(Frame(e, false)); !st.ok()) return st;
    queue_.Push(e.ts_ns + e.latency_ns, Frame(e, true));
    return Status::Ok();
  }
  Status Flush(int64_t now_ns) override {
    if (Status st = queue_.Release(now_ns - 1, file_.get()); !st.ok()) return st;
    return file_->Flush();
  }
  Status Close() override {
    if (Status st = queue_.Release(INT64_MAX, file_.get()); !st.ok()) return st;
    std::string stop;
    AppendFstrmControlFrame(FstrmControlType::kStop, {}, &stop);
    if (Status st = file_->Append(stop); !st.ok()) return st;
    return file_->Close();
  }
  uint64_t bytes() const override { return file_->bytes(); }

 private:
  std::string Frame(const SimEvent& e, bool response) {
    msg_.Clear();
    msg_.set_type(dnstap::Dnstap::MESSAGE);
    if (static_cast<size_t>(e.resolver) < identities_.size())
      msg_.set_identity(identities_[static_cast<size_t>(e.resolver)]);
    msg_.set_version("dnsight-simulate");
    dnstap::Message* m = msg_.mutable_message();
    m->set_type(response ? dnstap::Message::CLIENT_RESPONSE : dnstap::Message::CLIENT_QUERY);
    m->set_socket_family(dnstap::INET);
    m->set_socket_protocol(dnstap::UDP);
    const auto addr = [](uint32_t a) {
      const char b[4] = {static_cast<char>(a >> 24), static_cast<char>(a >> 16),
                         static_cast<char>(a >> 8), static_cast<char>(a)};
      return std::string(b, 4);
    };
    m->set_query_address(addr(e.client));
    m->set_response_address(addr(e.server));
    m->set_query_port(e.client_port);
    m->set_response_port(53);
    m->set_query_time_sec(static_cast<uint64_t>(e.ts_ns / kNanosPerSecond));
    m->set_query_time_nsec(static_cast<uint32_t>(e.ts_ns % kNanosPerSecond));
    if (response) {
      const int64_t rt = e.ts_ns + e.latency_ns;
      m->set_response_time_sec(static_cast<uint64_t>(rt / kNanosPerSecond));
      m->set_response_time_nsec(static_cast<uint32_t>(rt % kNanosPerSecond));
      m->set_response_message(e.response_wire);
    } else {
      m->set_query_message(e.query_wire);
    }
    payload_.clear();
    msg_.SerializeToString(&payload_);
    std::string frame;
    AppendFstrmDataFrame({reinterpret_cast<const uint8_t*>(payload_.data()), payload_.size()},
                         &frame);
    return frame;
  }

  std::unique_ptr<OutputFile> file_;
  std::vector<std::string> identities_;
  dnstap::Dnstap msg_;
  std::string payload_;
  FrameQueue queue_;
  Status status_;
};

class PcapWriter : public EventWriter {
 public:
  explicit PcapWriter(std::unique_ptr<OutputFile> file) : file_(std::move(file)) {
    std::string h;
    Le32(0xA1B23C4D, &h);  // nanosecond timestamps
    Le16(2, &h);
    Le16(4, &h);
    Le32(0, &h);  // thiszone
    Le32(0, &h);  // sigfigs
    Le32(65535, &h);
    Le32(1, &h);  // LINKTYPE_ETHERNET
    status_ = file_->Append(h);
  }
  Status Write(const SimEvent& e) override {
    if (!status_.ok()) return status_;
    if (Status st = queue_.Release(e.ts_ns, file_.get()); !st.ok()) return st;
    if (Status st =
            file_->Append(Packet(e.ts_ns, e.client, e.client_port, e.server, 53, e.query_wire));
        !st.ok())
      return st;
    queue_.Push(e.ts_ns + e.latency_ns, Packet(e.ts_ns + e.latency_ns, e.server, 53, e.client,
                                               e.client_port, e.response_wire));
    return Status::Ok();
  }
  Status Flush(int64_t now_ns) override {
    if (Status st = queue_.Release(now_ns - 1, file_.get()); !st.ok()) return st;
    return file_->Flush();
  }
  Status Close() override {
    if (Status st = queue_.Release(INT64_MAX, file_.get()); !st.ok()) return st;
    return file_->Close();
  }
  uint64_t bytes() const override { return file_->bytes(); }

 private:
  static void Le16(uint16_t v, std::string* o) {
    o->push_back(static_cast<char>(v & 0xFF));
    o->push_back(static_cast<char>(v >> 8));
  }
  static void Le32(uint32_t v, std::string* o) {
    Le16(static_cast<uint16_t>(v & 0xFFFF), o);
    Le16(static_cast<uint16_t>(v >> 16), o);
  }
  static void Be16(uint16_t v, std::string* o) {
    o->push_back(static_cast<char>(v >> 8));
    o->push_back(static_cast<char>(v & 0xFF));
  }
  static void Be32(uint32_t v, std::string* o) {
    Be16(static_cast<uint16_t>(v >> 16), o);
    Be16(static_cast<uint16_t>(v & 0xFFFF), o);
  }
  static uint32_t Sum16(std::string_view b, uint32_t sum) {
    for (size_t i = 0; i + 1 < b.size(); i += 2)
      sum +=
          static_cast<uint32_t>(static_cast<uint8_t>(b[i]) << 8 | static_cast<uint8_t>(b[i + 1]));
    if (b.size() % 2) sum += static_cast<uint32_t>(static_cast<uint8_t>(b.back()) << 8);
    return sum;
  }
  static uint16_t Fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xFFFF);
  }

  std::string Packet(int64_t ts, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                     const std::string& payload) {
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
    std::string frame;
    frame.reserve(16 + 42 + payload.size());
    // Record header, then Ethernet: locally administered MACs, client side :01.
    Le32(static_cast<uint32_t>(ts / kNanosPerSecond), &frame);
    Le32(static_cast<uint32_t>(ts % kNanosPerSecond), &frame);
    Le32(static_cast<uint32_t>(14 + 20 + udp_len), &frame);
    Le32(static_cast<uint32_t>(14 + 20 + udp_len), &frame);
    const bool to_server = dport == 53;
    frame.append(to_server ? "\x02\x00\x00\x00\x00\x02" : "\x02\x00\x00\x00\x00\x01", 6);
    frame.append(to_server ? "\x02\x00\x00\x00\x00\x01" : "\x02\x00\x00\x00\x00\x02", 6);
    Be16(0x0800, &frame);
    std::string ip;
    Be16(0x4500, &ip);
    Be16(static_cast<uint16_t>(20 + udp_len), &ip);
    Be16(ip_id_++, &ip);
    Be16(0x4000, &ip);  // DF
    Be16(0x4011, &ip);  // TTL 64, UDP
    Be16(0, &ip);       // checksum, below
    Be32(src, &ip);
    Be32(dst, &ip);
    const uint16_t ip_sum = Fold(Sum16(ip, 0));
    ip[10] = static_cast<char>(ip_sum >> 8);
    ip[11] = static_cast<char>(ip_sum & 0xFF);
    std::string udp;
    Be16(sport, &udp);
    Be16(dport, &udp);
    Be16(udp_len, &udp);
    Be16(0, &udp);
    // UDP checksum over the pseudo-header, header and payload.
    std::string pseudo;
    Be32(src, &pseudo);
    Be32(dst, &pseudo);
    Be16(17, &pseudo);
    Be16(udp_len, &pseudo);
    uint16_t udp_sum = Fold(Sum16(payload, Sum16(udp, Sum16(pseudo, 0))));
    if (udp_sum == 0) udp_sum = 0xFFFF;
    udp[6] = static_cast<char>(udp_sum >> 8);
    udp[7] = static_cast<char>(udp_sum & 0xFF);
    frame += ip;
    frame += udp;
    frame += payload;
    return frame;
  }

  std::unique_ptr<OutputFile> file_;
  FrameQueue queue_;
  uint16_t ip_id_ = 1;
  Status status_;
};

}  // namespace

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<OutputFile>(new OutputFile(path, stdout, false));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IoError(path + ": " + std::strerror(errno));
  return std::unique_ptr<OutputFile>(new OutputFile(path, f, true));
}

OutputFile::OutputFile(std::string path, FILE* file, bool owned)
    : path_(std::move(path)), file_(file), owned_(owned) {
  buffer_.reserve(kFileBuffer + 4096);
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) (void)Close();
}

Status OutputFile::Append(std::string_view bytes) {
  if (!error_.ok()) return error_;
  buffer_.append(bytes);
  bytes_ += bytes.size();
  if (buffer_.size() >= kFileBuffer) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
      error_ = Status::IoError(path_ + ": write failed: " + std::strerror(errno));
    buffer_.clear();
  }
  return error_;
}

Status OutputFile::Flush() {
  if (!error_.ok() || file_ == nullptr) return error_;
  if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
    error_ = Status::IoError(path_ + ": write failed: " + std::strerror(errno));
  buffer_.clear();
  if (error_.ok() && std::fflush(file_) != 0)
    error_ = Status::IoError(path_ + ": flush failed: " + std::strerror(errno));
  return error_;
}

Status OutputFile::Close() {
  if (file_ == nullptr) return error_;
  Status st = Flush();
  if (owned_ && std::fclose(file_) != 0 && st.ok())
    st = Status::IoError(path_ + ": close failed: " + std::strerror(errno));
  file_ = nullptr;
  if (error_.ok()) error_ = st;
  return st;
}

void AppendEventJson(const SimEvent& e, std::string* out, SecondText* cache) {
  // {"ts":"2026-11-23T10:00:00.123456789Z", ...}: the second is formatted by the shared
  // helper (once per second with a cache), the fraction here, always nine digits.
  const int64_t sec = e.ts_ns / kNanosPerSecond;
  const int64_t frac = e.ts_ns % kNanosPerSecond;
  out->append("{\"ts\":\"");
  SecondText local;
  SecondText& c = cache != nullptr ? *cache : local;
  if (c.second != sec) {
    c.second = sec;
    c.text = FormatRfc3339(sec * kNanosPerSecond).substr(0, 19);
  }
  out->append(c.text);
  char digits[10];
  int64_t f = frac;
  for (int i = 8; i >= 0; --i, f /= 10) digits[i] = static_cast<char>('0' + f % 10);
  digits[9] = 'Z';
  out->push_back('.');
  out->append(digits, 10);
  out->append("\",\"client\":\"");
  AppendIpv4(e.client, out);
  out->append("\",\"client_port\":");
  AppendInt(e.client_port, out);
  out->append(",\"server\":\"");
  AppendIpv4(e.server, out);
  out->append("\",\"server_port\":53,\"qname\":\"");
  out->append(e.qname);  // letters, digits, '-', '_' and '.' only (see Scenario checks)
  out->append("\",\"qtype\":");
  if (const std::string_view q = QtypeText(e.qtype); !q.empty()) {
    out->push_back('"');
    out->append(q);
    out->push_back('"');
  } else {
    AppendInt(e.qtype, out);
  }
  out->append(",\"rcode\":");
  if (const std::string_view r = RcodeText(e.rcode); !r.empty()) {
    out->push_back('"');
    out->append(r);
    out->push_back('"');
  } else {
    AppendInt(e.rcode, out);
  }
  const int64_t us = e.latency_ns / 1000;
  out->append(",\"latency_ms\":");
  AppendInt(us / 1000, out);
  out->push_back('.');
  const int64_t rem = us % 1000;
  out->push_back(static_cast<char>('0' + rem / 100));
  out->push_back(static_cast<char>('0' + rem / 10 % 10));
  out->push_back(static_cast<char>('0' + rem % 10));
  out->append(",\"query_size\":");
  AppendInt(static_cast<int64_t>(e.query_wire.size()), out);
  out->append(",\"response_size\":");
  AppendInt(static_cast<int64_t>(e.response_wire.size()), out);
  out->append(",\"answers\":");
  AppendInt(e.answers, out);
  if (e.ttl >= 0) {
    out->append(",\"ttl\":");
    AppendInt(e.ttl, out);
  }
  out->append(",\"transport\":\"udp\"}\n");
}

std::unique_ptr<EventWriter> MakeJsonlWriter(std::unique_ptr<OutputFile> file) {
  return std::make_unique<JsonlWriter>(std::move(file));
}

std::unique_ptr<EventWriter> MakeDnstapWriter(std::unique_ptr<OutputFile> file,
                                              std::vector<std::string> identities) {
  return std::make_unique<DnstapWriter>(std::move(file), std::move(identities));
}

std::unique_ptr<EventWriter> MakePcapWriter(std::unique_ptr<OutputFile> file) {
  return std::make_unique<PcapWriter>(std::move(file));
}

Pacer::Pacer(double speed, int64_t sim_start_ns, const Clock& clock, SleepFn sleep)
    : speed_(speed), sim_start_ns_(sim_start_ns), clock_(clock), sleep_(std::move(sleep)) {}

void Pacer::WaitUntil(int64_t sim_ns) {
  const int64_t now = clock_.NowNs();
  if (wall_start_ns_ < 0) wall_start_ns_ = now;
  const int64_t target =
      wall_start_ns_ + static_cast<int64_t>(static_cast<double>(sim_ns - sim_start_ns_) / speed_);
  if (target > now) sleep_(target - now);
}

}  // namespace dnsight::sim
