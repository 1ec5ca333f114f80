#include "auth.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "zeroshot/error.h"

namespace zeroshot::server {
namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string load_api_key(const std::string& file) {
  if (file.empty()) {
    const char* env = std::getenv("ZEROSHOT_API_KEY");
    return env ? trim(env) : std::string();
  }
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::kIo, "--api-key-file: cannot read " + file);
  std::stringstream text;
  text << in.rdbuf();
  std::string key = trim(text.str());
  if (key.empty())
    throw Error(ErrorCode::kInvalidArgument, "--api-key-file: " + file + " holds no key");
  return key;
}

bool authorized(std::string_view header, std::string_view key) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() != kScheme.size() + key.size()) return false;
  // Every byte is compared; the result is known only at the end.
  unsigned char diff = 0;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    diff |= static_cast<unsigned char>(header[i] ^ kScheme[i]);
  for (std::size_t i = 0; i < key.size(); ++i)
    diff |= static_cast<unsigned char>(header[kScheme.size() + i] ^ key[i]);
  return diff == 0;
}

}  // namespace zeroshot::server
