// quant/config: the policy types produce the right Weight alternative and state their nominal cost.
#include <gtest/gtest.h>

#include "curebench/quant/config.hpp"

namespace q = curebench::quant;

TEST(QuantConfig, NamesAlternativesAndNominalBits) {
  auto w = at::randn({16, 256});
  EXPECT_TRUE(std::holds_alternative<q::Dense>(q::NoQuant::quantize(w)));
  EXPECT_TRUE(std::holds_alternative<q::NF4>(q::NF4Config<64, true>::quantize(w)));
  EXPECT_TRUE(std::holds_alternative<q::FP4>(q::FP4Config<64>::quantize(w)));
  EXPECT_TRUE(std::holds_alternative<q::Int8>(q::Int8Config::quantize(w)));
  auto i4 = q::Int4Config<64>::quantize(w);
  ASSERT_TRUE(std::holds_alternative<q::Int4>(i4));
  EXPECT_EQ(std::get<q::Int4>(i4).group, 64);
  EXPECT_EQ((q::NF4Config<64, true>::name()), "nf4-b64-dq");
  EXPECT_EQ(q::Int4Config<128>::name(), "int4-g128");
  EXPECT_DOUBLE_EQ(q::NF4Config<64>::bits_per_weight(), 4.5);
  EXPECT_NEAR((q::NF4Config<64, true>::bits_per_weight()), 4.127, 5e-4);
  EXPECT_DOUBLE_EQ(q::Int4Config<128>::bits_per_weight(), 4.25);
  EXPECT_TRUE(std::get<q::NF4>((q::NF4Config<64, true>::quantize(w))).nested.has_value());
}
