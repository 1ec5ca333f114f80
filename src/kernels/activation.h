// The MLP activations of CLIP configurations (config.json's hidden_act).
#pragma once

namespace zeroshot::kernels {

enum class Activation {
  kQuickGelu,  // x * sigmoid(1.702 x)       (HF "quick_gelu", OpenAI CLIP)
  kGelu,       // 0.5 x (1 + erf(x / sqrt 2)) (HF "gelu", exact)
  kGeluTanh,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (HF "gelu_new" etc.)
};

}  // namespace zeroshot::kernels
