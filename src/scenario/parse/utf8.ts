/**
 * UTF-8 as the Encoding Standard defines it (what TextEncoder and TextDecoder
 * do), written out because the platform-free type check has neither global:
 * no Node types and no DOM lib. Scenario strings are short (paths, a host
 * channel, an expected stderr), so a plain loop costs nothing.
 */

const REPLACEMENT = 0xfffd;

/** The UTF-8 bytes of `text`; a lone surrogate becomes U+FFFD, as TextEncoder makes it. */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = REPLACEMENT;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** `bytes` decoded as `new TextDecoder()` decodes them: each maximal invalid subpart becomes U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return decode(bytes, false) as string;
}

/** `bytes` decoded as a fatal TextDecoder decodes them; undefined when they are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  return decode(bytes, true);
}

/**
 * The Encoding Standard's UTF-8 decoder: a leading byte-order mark is
 * dropped, and each maximal invalid subpart becomes U+FFFD, or, when
 * `fatal`, makes the result undefined.
 */
function decode(bytes: Uint8Array, fatal: boolean): string | undefined {
  const points: number[] = [];
  let needed = 0;
  let seen = 0;
  let cp = 0;
  let lower = 0x80;
  let upper = 0xbf;
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (needed === 0) {
      if (b <= 0x7f) {
        points.push(b);
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2;
        cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3;
        cp = b & 0x7;
      } else {
        if (fatal) return undefined;
        points.push(REPLACEMENT);
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence ends before this byte, which starts afresh.
      if (fatal) return undefined;
      points.push(REPLACEMENT);
      needed = seen = cp = 0;
      lower = 0x80;
      upper = 0xbf;
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    seen += 1;
    if (seen === needed) {
      points.push(cp);
      needed = seen = cp = 0;
    }
  }
  if (needed !== 0) {
    if (fatal) return undefined;
    points.push(REPLACEMENT);
  }
  let text = '';
  for (let i = 0; i < points.length; i += 4096) text += String.fromCodePoint(...points.slice(i, i + 4096));
  return text;
}
