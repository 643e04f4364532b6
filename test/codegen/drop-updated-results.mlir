// kiln-drop-updated-results: after bufferization, a train step's new
// parameter that is not its argument's buffer is an error (the runtime would
// never see it). Here the update was left out of place: kiln-update-in-place
// did not run before bufferization.
// RUN: kiln-opt %s --verify-diagnostics --kiln-drop-updated-results

func.func @train_step(%w: memref<4xf32> {kiln.role = #kiln.param<"w", zeros>})
    -> (memref<4xf32> {kiln.role = #kiln.param<"w">})
    attributes {kiln.entry = #kiln.entry<train_step>} {
  %new = memref.alloc() : memref<4xf32>
  memref.copy %w, %new : memref<4xf32> to memref<4xf32>
  // expected-error @below {{kiln: the new value of 'w' is not in its argument's buffer after bufferization}}
  return %new : memref<4xf32>
}
