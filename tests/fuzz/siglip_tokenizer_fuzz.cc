// libFuzzer target: SigLIP tokenization (family::siglip::SiglipTokenizer::encode and
// model_input) of arbitrary bytes with the test SentencePiece model (fixtures/siglip/spiece.model,
// loaded once): HF's canonicalisation, then Google's SentencePiece library.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "family/siglip/siglip_tokenizer.h"
#include "zeroshot/error.h"

namespace {

constexpr int kMaxLength = 64;
constexpr int kVocabSize = 1000;  // the fixture model's pieces
constexpr int kEos = 1;

const zeroshot::family::siglip::SiglipTokenizer& tokenizer() {
  static const zeroshot::family::siglip::SiglipTokenizer tok(
      std::string(ZEROSHOT_FIXTURES) + "/siglip", kMaxLength);
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto ids = tokenizer().encode(text);
    if (ids.empty() || ids.size() > static_cast<std::size_t>(kMaxLength)) std::abort();
    if (ids.back() != kEos) std::abort();
    for (int id : ids)
      if (id < 0 || id >= kVocabSize) std::abort();
    const auto padded = tokenizer().model_input(text);
    if (padded.size() != static_cast<std::size_t>(kMaxLength)) std::abort();
  } catch (const zeroshot::Error& e) {
    // Only invalid UTF-8 may be refused.
    if (e.code() != zeroshot::ErrorCode::kInvalidArgument) std::abort();
  }
  return 0;
}
