// info's report (issue 14: the byte total overflowed to "(0 bytes)").
#include "runtime/Commands.h"

#include "TestUtil.h"

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

TEST(CommandsTest, InfoTotalsHugeParametersExactly) {
  Manifest m;
  m.model = "Huge";
  m.inputs = {{"x", DType::F32, {-1, 3}}};
  m.outputs = {{"y", DType::F32, {-1, 3}}};
  // Two parameters of 2^62 f64 elements: 2^63 elements, 2^66 bytes.
  ParamSpec p{"w", DType::F64, {int64_t(1) << 31, int64_t(1) << 31}, {}};
  m.params = {p, p};
  m.params[1].name = "v";
  m.entryPoints = {"forward"};
  testing::internal::CaptureStdout();
  runInfo(m, false);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(contains(out, "total parameters: 9223372036854775808 (73786976294838206464 bytes)"))
      << out;
}

} // namespace
