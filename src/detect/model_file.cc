#include "detect/model_file.h"

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace dnsight {

void SealModelFile(std::string* out) {
  const uint64_t sum = XXH3_64bits(out->data(), out->size());
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
}

Result<std::string_view> OpenModelFile(std::string_view bytes, std::string_view magic,
                                       std::string_view what) {
  const auto bad = [&](const char* why) {
    return Status::InvalidArgument(std::string(what) + ": " + why);
  };
  if (bytes.size() < magic.size() + 8 || bytes.substr(0, magic.size()) != magic)
    return bad("not a model file");
  const std::string_view sealed = bytes.substr(0, bytes.size() - 8);
  uint64_t stored = 0;
  for (int i = 0; i < 8; ++i)
    stored |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[sealed.size() + i])) << (8 * i);
  if (stored != XXH3_64bits(sealed.data(), sealed.size())) return bad("checksum mismatch");
  return sealed.substr(magic.size());
}

std::string ModelVersion(std::string_view file_bytes) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, XXH3_64bits(file_bytes.data(), file_bytes.size()));
  return buf;
}

Status WriteModelFile(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError("cannot rename " + tmp);
  return Status::Ok();
}

Result<std::string> ReadModelFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read model " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dnsight
