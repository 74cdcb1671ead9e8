// Frame Streams decoder and reader: frames fed in every chunk size, the handshake,
// and corruption (truncation at every offset, oversized lengths, bad control frames,
// wrong content types) with the reason tokens asserted.
#include "ingest/frame_streams.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace dnsight {
namespace {

// --- A deliberately independent encoder, written from the format description. ---

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  s[0] = static_cast<char>(v >> 24);
  s[1] = static_cast<char>(v >> 16);
  s[2] = static_cast<char>(v >> 8);
  s[3] = static_cast<char>(v);
  return s;
}

std::string Data(std::string_view payload) {
  return Be32(static_cast<uint32_t>(payload.size())) + std::string(payload);
}

// Escape + length + body, where body is written by the caller (for corrupt frames).
std::string RawControl(const std::string& body) {
  return Be32(0) + Be32(static_cast<uint32_t>(body.size())) + body;
}

std::string Control(uint32_t type, const std::vector<std::string>& content_types = {}) {
  std::string body = Be32(type);
  for (const std::string& ct : content_types) {
    body += Be32(1) + Be32(static_cast<uint32_t>(ct.size())) + ct;
  }
  return RawControl(body);
}

constexpr uint32_t kAccept = 1, kStart = 2, kStop = 3, kReady = 4, kFinish = 5;
const std::string kCt(kDnstapContentType);

std::string FileStream(const std::vector<std::string>& payloads) {
  std::string s = Control(kStart, {kCt});
  for (const std::string& p : payloads) s += Data(p);
  return s + Control(kStop);
}

FrameStreamReader::Options FileOptions() {
  FrameStreamReader::Options o;
  o.bidirectional = false;
  return o;
}

// Feeds `bytes` in chunks of `chunk` and records the events as text.
std::vector<std::string> Pump(FrameStreamReader& reader, std::string_view bytes, size_t chunk) {
  std::vector<std::string> events;
  size_t pos = 0;
  bool failed = false;
  while (pos < bytes.size() && !failed) {
    const size_t n = std::min(chunk, bytes.size() - pos);
    std::span<uint8_t> space = reader.PrepareWrite(n);
    std::memcpy(space.data(), bytes.data() + pos, n);
    reader.CommitWrite(n);
    pos += n;
    for (;;) {
      std::span<const uint8_t> payload;
      const FrameStreamReader::Event e = reader.Next(&payload);
      if (e == FrameStreamReader::Event::kNeedMore) break;
      if (e == FrameStreamReader::Event::kStarted) events.push_back("start");
      if (e == FrameStreamReader::Event::kStopped) events.push_back("stop");
      if (e == FrameStreamReader::Event::kData) {
        events.push_back(
            "data:" + std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
      }
      if (e == FrameStreamReader::Event::kError) {
        events.push_back("error:" + std::string(FstrmErrorName(reader.error())));
        failed = true;
        break;
      }
    }
  }
  return events;
}

std::string RunError(const std::string& bytes, FrameStreamReader::Options o = FileOptions()) {
  FrameStreamReader reader(std::move(o));
  std::vector<std::string> events = Pump(reader, bytes, bytes.size() + 1);
  if (events.empty() || events.back().rfind("error:", 0) != 0) return "no error";
  EXPECT_EQ(reader.state(), FrameStreamReader::State::kFailed);
  EXPECT_EQ(reader.status().message().rfind(events.back().substr(6) + ": ", 0), 0u)
      << reader.status().message();
  return events.back().substr(6);
}

TEST(FrameStreamTest, EncoderMatchesHandWrittenFrames) {
  std::string out;
  const std::string_view cts[] = {kDnstapContentType};
  AppendFstrmControlFrame(FstrmControlType::kStart, cts, &out);
  EXPECT_EQ(out, Control(kStart, {kCt}));
  out.clear();
  AppendFstrmControlFrame(FstrmControlType::kFinish, {}, &out);
  EXPECT_EQ(out, Control(kFinish));
  out.clear();
  const uint8_t payload[] = {'a', 'b', 'c'};
  AppendFstrmDataFrame(payload, &out);
  EXPECT_EQ(out, Data("abc"));
}

TEST(FrameStreamTest, FileStreamInEveryChunkSize) {
  const std::vector<std::string> payloads = {"first", std::string(300, 'x'), "3",
                                             std::string(1, '\0')};
  const std::string stream = FileStream(payloads);
  const std::vector<std::string> want = {"start",  "data:first",          "data:" + payloads[1],
                                         "data:3", "data:" + payloads[3], "stop"};
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    FrameStreamReader reader(FileOptions());
    EXPECT_EQ(Pump(reader, stream, chunk), want) << "chunk " << chunk;
    EXPECT_TRUE(reader.Finish().ok()) << reader.Finish().ToString();
    EXPECT_TRUE(reader.output().empty());
    EXPECT_EQ(reader.data_frames(), payloads.size());
    EXPECT_EQ(reader.control_frames(), 2u);
    EXPECT_EQ(reader.offset(), stream.size());
  }
}

TEST(FrameStreamTest, FeedCopiesAndDecoderYieldsControlFields) {
  FrameStreamDecoder decoder;
  const std::string bytes = Control(kReady, {"a", kCt, "b"}) + Data("xyz");
  decoder.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  FstrmFrame frame;
  ASSERT_EQ(decoder.NextFrame(&frame), FrameStreamDecoder::Next::kFrame);
  ASSERT_TRUE(frame.is_control);
  EXPECT_EQ(frame.control.type, FstrmControlType::kReady);
  ASSERT_EQ(frame.control.num_content_types, 3u);
  EXPECT_EQ(frame.control.content_types[1], kCt);
  EXPECT_TRUE(frame.control.HasContentType("b"));
  ASSERT_EQ(decoder.NextFrame(&frame), FrameStreamDecoder::Next::kFrame);
  EXPECT_FALSE(frame.is_control);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(frame.data.data()), frame.data.size()),
            "xyz");
  EXPECT_EQ(decoder.NextFrame(&frame), FrameStreamDecoder::Next::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameStreamTest, BidirectionalHandshakeQueuesAcceptAndFinish) {
  const std::string in = Control(kReady, {"other/type", kCt}) + Control(kStart, {kCt}) +
                         Data("payload") + Control(kStop);
  for (size_t chunk = 1; chunk <= in.size(); ++chunk) {
    FrameStreamReader reader(FrameStreamReader::Options{});
    EXPECT_EQ(Pump(reader, in, chunk), (std::vector<std::string>{"start", "data:payload", "stop"}));
    EXPECT_TRUE(reader.bidirectional_handshake());
    EXPECT_EQ(reader.output(), Control(kAccept, {kCt}) + Control(kFinish));
    EXPECT_TRUE(reader.Finish().ok());
  }
}

TEST(FrameStreamTest, AcceptIsQueuedBeforeStartArrives) {
  FrameStreamReader reader(FrameStreamReader::Options{});
  EXPECT_TRUE(Pump(reader, Control(kReady, {kCt}), 1000).empty());
  EXPECT_EQ(reader.state(), FrameStreamReader::State::kAccepted);
  EXPECT_EQ(reader.output(), Control(kAccept, {kCt}));
}

TEST(FrameStreamTest, ReadyWithoutContentTypeGetsOurs) {
  FrameStreamReader reader(FrameStreamReader::Options{});
  Pump(reader, Control(kReady), 1000);
  EXPECT_EQ(reader.output(), Control(kAccept, {kCt}));
}

TEST(FrameStreamTest, UnidirectionalWriterOnSocketGetsNoReplies) {
  FrameStreamReader reader(FrameStreamReader::Options{});
  EXPECT_EQ(Pump(reader, FileStream({"a"}), 3),
            (std::vector<std::string>{"start", "data:a", "stop"}));
  EXPECT_FALSE(reader.bidirectional_handshake());
  EXPECT_TRUE(reader.output().empty());
}

TEST(FrameStreamTest, StartWithoutContentTypeMatchesAny) {
  FrameStreamReader reader(FileOptions());
  EXPECT_EQ(Pump(reader, Control(kStart) + Data("a") + Control(kStop), 5),
            (std::vector<std::string>{"start", "data:a", "stop"}));
}

TEST(FrameStreamTest, ConcatenatedFilesWhenRestartAllowed) {
  const std::string two = FileStream({"a"}) + FileStream({"b"});
  FrameStreamReader::Options o = FileOptions();
  o.allow_restart = true;
  FrameStreamReader reader(o);
  EXPECT_EQ(Pump(reader, two, 7),
            (std::vector<std::string>{"start", "data:a", "stop", "start", "data:b", "stop"}));
  EXPECT_EQ(RunError(FileStream({"a"}) + Data("late")), "data_after_stop");
  EXPECT_EQ(RunError(two), "unexpected_control");
}

TEST(FrameStreamTest, CustomContentType) {
  FrameStreamReader::Options o = FileOptions();
  o.content_type = "protobuf:other.Thing";
  FrameStreamReader reader(o);
  EXPECT_EQ(Pump(reader, Control(kStart, {"protobuf:other.Thing"}) + Data("z"), 100),
            (std::vector<std::string>{"start", "data:z"}));
  EXPECT_EQ(RunError(Control(kStart, {kCt}), o), "wrong_content_type");
}

TEST(FrameStreamTest, TruncationAtEveryOffset) {
  const std::vector<std::string> payloads = {"alpha", "beta", std::string(40, 'g')};
  const std::string stream = FileStream(payloads);
  // Offsets at which a frame ends; everything else is inside a frame.
  std::vector<size_t> boundaries = {0};
  boundaries.push_back(Control(kStart, {kCt}).size());
  for (const std::string& p : payloads) boundaries.push_back(boundaries.back() + 4 + p.size());
  for (size_t cut = 0; cut < stream.size(); ++cut) {
    FrameStreamReader reader(FileOptions());
    const std::vector<std::string> events = Pump(reader, stream.substr(0, cut), 1 + cut % 7);
    size_t complete_data = 0;
    for (size_t i = 2; i < boundaries.size(); ++i) complete_data += boundaries[i] <= cut;
    ASSERT_EQ(reader.data_frames(), complete_data) << "cut " << cut;
    for (const std::string& e : events) EXPECT_EQ(e.rfind("error", 0), std::string::npos) << e;
    const bool at_boundary =
        std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    const FstrmError want = cut == 0      ? FstrmError::kNone
                            : at_boundary ? FstrmError::kMissingStop
                                          : FstrmError::kTruncatedFrame;
    EXPECT_EQ(reader.FinishError(), want) << "cut " << cut;
    if (want != FstrmError::kNone) {
      EXPECT_EQ(reader.Finish().message().rfind(std::string(FstrmErrorName(want)) + ":", 0), 0u);
    }
  }
}

TEST(FrameStreamTest, OversizedDataFrame) {
  FrameStreamReader::Options o = FileOptions();
  o.max_frame_size = 16;
  FrameStreamReader ok_reader(o);
  EXPECT_EQ(Pump(ok_reader, FileStream({std::string(16, 'a')}), 5).size(), 3u);
  // Rejected from the length field alone, before the payload arrives.
  EXPECT_EQ(RunError(Control(kStart, {kCt}) + Be32(17), o), "frame_too_large");
  EXPECT_EQ(RunError(Control(kStart, {kCt}) + Be32(0xffffffffu), FileOptions()), "frame_too_large");
  FrameStreamReader reader(o);
  Pump(reader, Control(kStart, {kCt}) + Data(std::string(17, 'a')), 1);
  EXPECT_EQ(reader.error(), FstrmError::kFrameTooLarge);
  EXPECT_NE(reader.status().message().find("17 bytes exceeds the limit of 16"), std::string::npos)
      << reader.status().message();
}

TEST(FrameStreamTest, MalformedControlFrames) {
  EXPECT_EQ(RunError(Be32(0) + Be32(513) + std::string(513, '\0')), "control_too_large");
  EXPECT_EQ(RunError(Be32(0) + Be32(0xffffffffu)), "control_too_large");
  EXPECT_EQ(RunError(RawControl("")), "control_too_short");
  EXPECT_EQ(RunError(RawControl(std::string("\0\0\x02", 3))), "control_too_short");
  EXPECT_EQ(RunError(Control(0)), "bad_control_type");
  EXPECT_EQ(RunError(Control(6)), "bad_control_type");
  EXPECT_EQ(RunError(Control(0xffffffffu)), "bad_control_type");
  EXPECT_EQ(RunError(RawControl(Be32(kStart) + Be32(2) + Be32(1) + "x")), "bad_control_field");
  EXPECT_EQ(RunError(RawControl(Be32(kStart) + Be32(1) + Be32(5) + "abc")),
            "control_field_overrun");
  EXPECT_EQ(RunError(RawControl(Be32(kStart) + Be32(1) + std::string("\0\0\0", 3))),
            "control_field_overrun");
  EXPECT_EQ(RunError(RawControl(Be32(kStart) + Be32(1) + Be32(0xffffffffu))),
            "control_field_overrun");
  EXPECT_EQ(RunError(Control(kStart, {std::string(257, 'c')})), "content_type_too_long");
  EXPECT_EQ(RunError(Control(kStart, {kCt, kCt})), "too_many_content_types");
  EXPECT_EQ(
      RunError(Control(kReady, std::vector<std::string>(9, kCt)), FrameStreamReader::Options{}),
      "too_many_content_types");
  EXPECT_EQ(RunError(Control(kStart, {kCt}) + Control(kStop, {kCt})), "unexpected_control_field");
  EXPECT_EQ(RunError(Control(kFinish, {kCt})), "unexpected_control_field");
}

TEST(FrameStreamTest, ProtocolOrderErrors) {
  const FrameStreamReader::Options sock;
  EXPECT_EQ(RunError(Control(kStart, {"protobuf:wrong.Type"})), "wrong_content_type");
  EXPECT_EQ(RunError(Control(kReady, {"protobuf:wrong.Type"}), sock), "wrong_content_type");
  EXPECT_EQ(RunError(Control(kReady, {kCt}) + Control(kStart, {"x"}), sock), "wrong_content_type");
  EXPECT_EQ(RunError(Data("early")), "data_before_start");
  EXPECT_EQ(RunError(Control(kReady, {kCt}) + Data("early"), sock), "data_before_start");
  EXPECT_EQ(RunError(Control(kStop)), "unexpected_control");
  EXPECT_EQ(RunError(Control(kAccept, {kCt})), "unexpected_control");
  EXPECT_EQ(RunError(Control(kFinish)), "unexpected_control");
  EXPECT_EQ(RunError(Control(kReady, {kCt})), "unexpected_control");  // file: no READY
  EXPECT_EQ(RunError(Control(kReady, {kCt}) + Control(kReady, {kCt}), sock), "unexpected_control");
  EXPECT_EQ(RunError(Control(kStart, {kCt}) + Control(kStart, {kCt})), "unexpected_control");
  EXPECT_EQ(RunError(Control(kStart, {kCt}) + Control(kReady, {kCt}), sock), "unexpected_control");
}

TEST(FrameStreamTest, ErrorsAreSticky) {
  FrameStreamReader reader(FileOptions());
  Pump(reader, Data("x"), 100);
  ASSERT_EQ(reader.error(), FstrmError::kDataBeforeStart);
  const std::vector<std::string> more = Pump(reader, FileStream({"ok"}), 100);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0], "error:data_before_start");
  EXPECT_EQ(reader.Finish().message().rfind("data_before_start:", 0), 0u);
}

TEST(FrameStreamTest, ErrorSampleStartsAtTheBadFrame) {
  FrameStreamReader::Options o = FileOptions();
  o.max_frame_size = 8;
  FrameStreamReader reader(o);
  Pump(reader, Control(kStart, {kCt}) + Data("ok") + Be32(100) + "junk", 1000);
  ASSERT_EQ(reader.error(), FstrmError::kFrameTooLarge);
  std::span<const uint8_t> sample = reader.buffered_bytes();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sample.data()), sample.size()),
            Be32(100) + "junk");
  EXPECT_EQ(reader.data_frames(), 1u);
}

TEST(FrameStreamTest, BitFlipsNeverCrashAndAlwaysTerminate) {
  const std::string stream = Control(kReady, {kCt}) + Control(kStart, {kCt}) + Data("hello") +
                             Data(std::string(20, 'q')) + Control(kStop);
  for (size_t i = 0; i < stream.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = stream;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      FrameStreamReader::Options o;
      o.max_frame_size = 64;
      FrameStreamReader reader(o);
      const std::vector<std::string> events = Pump(reader, bad, 1 + (i % 5));
      for (const std::string& e : events) {
        if (e.rfind("data:", 0) == 0) {
          EXPECT_LE(e.size(), 5u + 64u);
        }
      }
      // After any outcome the reader reports a definite end state.
      (void)reader.Finish();
    }
  }
}

TEST(FrameStreamTest, BufferStaysBoundedWhenDrainedBetweenWrites) {
  FrameStreamReader::Options o = FileOptions();
  o.max_frame_size = 4096;
  FrameStreamReader reader(o);
  std::string stream = Control(kStart, {kCt});
  for (int i = 0; i < 200; ++i) stream += Data(std::string(1000 + i * 15 % 3000, 'p'));
  const size_t chunk = 512;
  size_t frames = 0;
  for (size_t pos = 0; pos < stream.size(); pos += chunk) {
    const size_t n = std::min(chunk, stream.size() - pos);
    std::span<uint8_t> space = reader.PrepareWrite(n);
    std::memcpy(space.data(), stream.data() + pos, n);
    reader.CommitWrite(n);
    std::span<const uint8_t> payload;
    FrameStreamReader::Event e;
    while ((e = reader.Next(&payload)) != FrameStreamReader::Event::kNeedMore) {
      ASSERT_NE(e, FrameStreamReader::Event::kError);
      frames += e == FrameStreamReader::Event::kData;
    }
    EXPECT_LE(reader.buffered_bytes().size(), o.max_frame_size + 8);
  }
  EXPECT_EQ(frames, 200u);
}

}  // namespace
}  // namespace dnsight
