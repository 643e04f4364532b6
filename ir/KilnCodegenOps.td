//===- KilnCodegenOps.td - the kiln dialect's code generation ops -*- tablegen -*-===//
//
// Ops that exist only between lowering to linalg and machine code: a fusion
// region (`kiln-form-regions`, `--emit=fused`) and the threaded loop over a
// region's tiles (`kiln-forall-to-threads`). Kept apart from KilnOps.td so
// that the model ops' header, which every stage includes, does not change
// with code generation.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_OPS
#define KILN_CODEGEN_OPS

include "ir/KilnDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kiln_FusionOp : Kiln_Op<"fusion", [RecursiveMemoryEffects, SingleBlock]> {
  let summary = "ops that run as one kernel";
  let description = [{
    A group of linalg ops on tensors that code generation turns into one
    kernel, as IREE's dispatch regions and XLA's fusions are: a root (a
    matrix product, a reduction, or the last of an element-wise chain) with
    the producers that only it uses and, for a matrix product, the
    element-wise epilogue that consumes it. `kind` names the root's family
    (`matmul`, `reduction`, `elementwise`). The body reads values from above
    and yields the region's results; `kiln-tile-regions` tiles the body's
    last op over the threads and fuses the rest into each tile.
    ```mlir
    // %x: tensor<4x8xf32>
    %y = kiln.fusion "elementwise" -> tensor<4x8xf32> {
      %e = tensor.empty() : tensor<4x8xf32>
      %r = linalg.exp ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
      kiln.yield %r : tensor<4x8xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$kind (`->` type($results)^)? attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator,
    HasParent<"FusionOp">]> {
  let summary = "a fusion region's results";
  let description = [{
    Ends a `kiln.fusion` body with the values the region returns, in the
    order of its results.
    ```mlir
    // %x: tensor<4xf32>
    %y = kiln.fusion "elementwise" -> tensor<4xf32> {
      kiln.yield %x : tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

def Kiln_ParallelForOp : Kiln_Op<"parallel_for"> {
  let summary = "runs a function once per tile on the runtime's threads";
  let description = [{
    Calls `callee(i, captures...)` for every i in [0, tasks), on the
    runtime's thread pool (`kiln_parallel_for`), and returns when all have
    finished. `kiln-forall-to-threads` makes it from a bufferized
    `scf.forall` whose body it outlines into `callee`; each call writes its
    own tile, so the result does not depend on the thread count. Lowered to
    LLVM by `kiln-parallel-to-llvm`: the captures are stored on the stack
    and a trampoline passes them to the callee's C interface.
    ```mlir
    // %n: index, %buffer: memref<?x8xf32>
    kiln.parallel_for @tile_body(%n) captures(%buffer) : memref<?x8xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee, Index:$tasks,
                   Variadic<AnyType>:$captures);
  let assemblyFormat =
      "$callee `(` $tasks `)` (`captures` `(` $captures^ `)` `:` type($captures))? attr-dict";
}

#endif // KILN_CODEGEN_OPS
