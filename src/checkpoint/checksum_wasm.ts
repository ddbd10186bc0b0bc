/**
 * The checksum loops of format versions 2 and 3 as WebAssembly functions,
 * when the platform has WebAssembly. Version 2's (checksum_v2.wat) is about
 * twice the JavaScript loop's speed here, having a native rotate and no
 * bounds checks; version 3's (checksum_v3.wat) runs its sixteen lanes as
 * four SIMD vectors, about twice version 2's loop. The bytes below are
 * wabt's `wat2wasm` output for the .wat files next to this one;
 * test/checkpoint/checksum.test.ts checks each loop against the JavaScript
 * one.
 *
 * Memory layout: the lanes from byte 0 (16 bytes of them in version 2, 64
 * in version 3), data from byte 64 on, up to SCRATCH_BYTES at a time.
 * absorb(from, to) runs the lanes over [from, to), a whole number of
 * groups (32 bytes in version 2, 128 in version 3).
 */

/** checksum_v2.wat: four i32 lanes. */
const V2_BYTES = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 2, 127, 127, 0, 3, 2, 1, 0, 5, 3, 1, 0, 17, 7, 19, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 6, 97, 98, 115, 111,
  114, 98, 0, 0, 10, 189, 1, 1, 186, 1, 1, 4, 127, 65, 0, 40, 2, 0, 33, 2, 65, 0, 40, 2, 4, 33, 3, 65, 0, 40, 2, 8, 33, 4, 65, 0, 40, 2, 12, 33, 5, 2, 64, 3,
  64, 32, 0, 32, 1, 79, 13, 1, 32, 2, 32, 0, 40, 2, 0, 115, 65, 13, 119, 65, 177, 243, 221, 241, 121, 108, 32, 0, 40, 2, 16, 106, 33, 2, 32, 3, 32, 0, 40, 2, 4,
  115, 65, 13, 119, 65, 247, 148, 175, 175, 120, 108, 32, 0, 40, 2, 20, 106, 33, 3, 32, 4, 32, 0, 40, 2, 8, 115, 65, 13, 119, 65, 189, 220, 202, 149, 124, 108,
  32, 0, 40, 2, 24, 106, 33, 4, 32, 5, 32, 0, 40, 2, 12, 115, 65, 13, 119, 65, 175, 214, 211, 190, 2, 108, 32, 0, 40, 2, 28, 106, 33, 5, 32, 0, 65, 32, 106, 33,
  0, 12, 0, 11, 11, 65, 0, 32, 2, 54, 2, 0, 65, 0, 32, 3, 54, 2, 4, 65, 0, 32, 4, 54, 2, 8, 65, 0, 32, 5, 54, 2, 12, 11,
]);

/** checksum_v3.wat: sixteen i32 lanes in four i32x4 vectors. */
const V3_BYTES = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 2, 127, 127, 0, 3, 2, 1, 0, 5, 3, 1, 0, 17, 7, 19, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 6, 97, 98, 115, 111,
  114, 98, 0, 0, 10, 162, 2, 1, 159, 2, 1, 6, 123, 65, 0, 253, 0, 4, 0, 33, 2, 65, 0, 253, 0, 4, 16, 33, 3, 65, 0, 253, 0, 4, 32, 33, 4, 65, 0, 253, 0, 4, 48,
  33, 5, 253, 12, 177, 121, 55, 158, 119, 202, 235, 133, 61, 174, 178, 194, 47, 235, 212, 39, 33, 7, 2, 64, 3, 64, 32, 0, 32, 1, 79, 13, 1, 32, 2, 32, 0, 253,
  0, 4, 0, 253, 81, 33, 6, 32, 6, 65, 13, 253, 171, 1, 32, 6, 65, 19, 253, 173, 1, 253, 80, 32, 7, 253, 181, 1, 32, 0, 253, 0, 4, 16, 253, 174, 1, 33, 2, 32, 3,
  32, 0, 253, 0, 4, 32, 253, 81, 33, 6, 32, 6, 65, 13, 253, 171, 1, 32, 6, 65, 19, 253, 173, 1, 253, 80, 32, 7, 253, 181, 1, 32, 0, 253, 0, 4, 48, 253, 174, 1,
  33, 3, 32, 4, 32, 0, 253, 0, 4, 64, 253, 81, 33, 6, 32, 6, 65, 13, 253, 171, 1, 32, 6, 65, 19, 253, 173, 1, 253, 80, 32, 7, 253, 181, 1, 32, 0, 253, 0, 4, 80,
  253, 174, 1, 33, 4, 32, 5, 32, 0, 253, 0, 4, 96, 253, 81, 33, 6, 32, 6, 65, 13, 253, 171, 1, 32, 6, 65, 19, 253, 173, 1, 253, 80, 32, 7, 253, 181, 1, 32, 0,
  253, 0, 4, 112, 253, 174, 1, 33, 5, 32, 0, 65, 128, 1, 106, 33, 0, 12, 0, 11, 11, 65, 0, 32, 2, 253, 11, 4, 0, 65, 0, 32, 3, 253, 11, 4, 16, 65, 0, 32, 4,
  253, 11, 4, 32, 65, 0, 32, 5, 253, 11, 4, 48, 11,
]);

/** Bytes of data one absorb call can take. */
export const SCRATCH_BYTES = 1 << 20;
const DATA_AT = 64;

/** The parts of the WebAssembly API this file uses (the core compiles without DOM or Node types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; absorb: (from: number, to: number) => void } };
}

/** One version's loop, with its lanes and its input window. */
export interface WasmLoop {
  /** Runs the lanes in `state` over `data`, a whole number of groups, in place. */
  absorb(lanes: Int32Array, data: Uint8Array): void;
}

/** The loops instantiated so far; null where instantiating failed. */
const loops = new Map<2 | 3, WasmLoop | null>();

/** The WebAssembly loop of format `version`, or undefined where WebAssembly (or its SIMD) is missing or refused. */
export function wasmLoop(version: 2 | 3): WasmLoop | undefined {
  let loop = loops.get(version);
  if (loop === undefined) {
    loop = instantiate(version === 2 ? V2_BYTES : V3_BYTES, version === 2 ? 4 : 16);
    loops.set(version, loop);
  }
  return loop ?? undefined;
}

function instantiate(bytes: Uint8Array, laneCount: number): WasmLoop | null {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const { exports } = new api.Instance(new api.Module(bytes));
    const memory = exports.memory.buffer;
    const lanes = new Int32Array(memory, 0, laneCount);
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
    // A platform that refuses to compile WebAssembly (a content security
    // policy, say, or an engine without SIMD for version 3) uses the JavaScript loop.
    return null;
  }
}
