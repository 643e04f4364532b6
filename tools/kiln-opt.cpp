// kiln-opt: mlir-opt with Kiln's dialect and passes; the tool lit tests run.
#include "codegen/GpuPipeline.h"
#include "codegen/Pipeline.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::DialectRegistry registry;
  kiln::registerCodegen(registry);
  kiln::registerGpuCodegen(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
