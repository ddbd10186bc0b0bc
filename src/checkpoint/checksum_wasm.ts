/**
 * Version 2's checksum loop as a WebAssembly function, when the platform
 * has WebAssembly: about twice the JavaScript loop's speed here, since it
 * has a native rotate and no bounds checks. The module is checksum.wat next
 * to this file, assembled with wabt's `wat2wasm checksum.wat`; the bytes
 * below are its output. test/checkpoint/checksum.test.ts checks that both
 * loops give the same lanes.
 *
 * Memory layout: the four lanes at bytes 0..15, data from byte 64 on, up to
 * SCRATCH_BYTES at a time. absorb(from, to) runs the lanes over [from, to),
 * a whole number of 32-byte groups.
 */

const MODULE_BYTES = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 2, 127, 127, 0, 3, 2, 1, 0, 5, 3, 1, 0,
  17, 7, 19, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 6, 97, 98, 115, 111, 114, 98, 0, 0, 10, 189,
  1, 1, 186, 1, 1, 4, 127, 65, 0, 40, 2, 0, 33, 2, 65, 0, 40, 2, 4, 33, 3, 65, 0, 40,
  2, 8, 33, 4, 65, 0, 40, 2, 12, 33, 5, 2, 64, 3, 64, 32, 0, 32, 1, 79, 13, 1, 32, 2,
  32, 0, 40, 2, 0, 115, 65, 13, 119, 65, 177, 243, 221, 241, 121, 108, 32, 0, 40, 2, 16, 106, 33, 2,
  32, 3, 32, 0, 40, 2, 4, 115, 65, 13, 119, 65, 247, 148, 175, 175, 120, 108, 32, 0, 40, 2, 20, 106,
  33, 3, 32, 4, 32, 0, 40, 2, 8, 115, 65, 13, 119, 65, 189, 220, 202, 149, 124, 108, 32, 0, 40, 2,
  24, 106, 33, 4, 32, 5, 32, 0, 40, 2, 12, 115, 65, 13, 119, 65, 175, 214, 211, 190, 2, 108, 32, 0,
  40, 2, 28, 106, 33, 5, 32, 0, 65, 32, 106, 33, 0, 12, 0, 11, 11, 65, 0, 32, 2, 54, 2, 0,
  65, 0, 32, 3, 54, 2, 4, 65, 0, 32, 4, 54, 2, 8, 65, 0, 32, 5, 54, 2, 12, 11,
]);

/** Bytes of data one absorb call can take. */
export const SCRATCH_BYTES = 1 << 20;
const DATA_AT = 64;

/** The parts of the WebAssembly API this file uses (the core compiles without DOM or Node types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; absorb: (from: number, to: number) => void } };
}

/** The loop's lanes and its input window. */
export interface WasmLoop {
  /** Runs the lanes in `state` over `data`, a whole number of 32-byte groups, in place. */
  absorb(lanes: Int32Array, data: Uint8Array): void;
}

let loop: WasmLoop | null | undefined;

/** The WebAssembly loop, or undefined where WebAssembly is missing or refused. */
export function wasmLoop(): WasmLoop | undefined {
  if (loop === undefined) loop = instantiate();
  return loop ?? undefined;
}

function instantiate(): WasmLoop | null {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const { exports } = new api.Instance(new api.Module(MODULE_BYTES));
    const memory = exports.memory.buffer;
    const lanes = new Int32Array(memory, 0, 4);
    const window = new Uint8Array(memory, DATA_AT, SCRATCH_BYTES);
    const absorb = exports.absorb;
    return {
      absorb(state: Int32Array, data: Uint8Array): void {
        lanes.set(state);
        for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
          const n = Math.min(SCRATCH_BYTES, data.length - at);
          window.set(data.subarray(at, at + n));
          absorb(DATA_AT, DATA_AT + n);
        }
        state.set(lanes);
      },
    };
  } catch {
    // A platform that refuses to compile WebAssembly (a content security policy, say) uses the JavaScript loop.
    return null;
  }
}
