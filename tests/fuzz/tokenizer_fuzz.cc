// libFuzzer target: CLIP tokenization (tokenizer::Tokenizer::encode) of arbitrary bytes with the
// real CLIP vocabulary (the fixture's tokenizer.json, loaded once).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "family/clip/clip_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "zeroshot/error.h"

namespace {

const zeroshot::tokenizer::Tokenizer& tokenizer() {
  static const auto tok =
      zeroshot::family::clip::load_tokenizer(std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip");
  return tok;
}

constexpr int kVocabSize = 49408;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Mostly CLIP's 77 positions; sometimes a short limit, to exercise truncation.
  const int max_length = size > 0 && data[0] == '#' ? 2 + size % 7 : 77;
  try {
    const auto ids = tokenizer().encode(text, max_length);
    if (ids.size() < 2 || ids.size() > static_cast<std::size_t>(max_length)) std::abort();
    if (ids.front() != tokenizer().bos_id() || ids.back() != tokenizer().eos_id()) std::abort();
    for (int id : ids)
      if (id < 0 || id >= kVocabSize) std::abort();
  } catch (const zeroshot::Error& e) {
    // Only invalid UTF-8 may be refused.
    if (e.code() != zeroshot::ErrorCode::kInvalidArgument) std::abort();
  }
  return 0;
}
